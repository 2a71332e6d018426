"""Rule E1 (DESIGN: "a multi-choice answer is a list"): the answers already stored for a
webinar's multi-choice questions (Zoom's type `multiple`) were kept as Zoom's one string with
the choices separated by ";"; they become lists of the choices. Reversible: the lists are
joined again. Self-contained (no app code): the rule is spelled out here as it was when
written."""

from django.db import migrations

MULTI_CHOICE_TYPE = "multiple"
SEPARATOR = ";"
BATCH = 1000


def _multi_choice_by_event(apps):
    Info = apps.get_model("zoom_integration", "WebinarRegistrationInfo")
    forms = Info.objects.filter(webinar__event__isnull=False).values_list(
        "webinar__event_id", "questions"
    )
    for event_id, questions in forms.iterator():
        multi = {
            str(q.get("question"))
            for q in questions or []
            if isinstance(q, dict) and q.get("type") == MULTI_CHOICE_TYPE and q.get("question")
        }
        if multi:
            yield event_id, multi


def _rewrite(apps, change):
    Details = apps.get_model("marketing_events", "RegistrationDetails")
    for event_id, multi in _multi_choice_by_event(apps):
        batch = []
        rows = Details.objects.filter(event_id=event_id).only("pk", "answers")
        for row in rows.iterator(chunk_size=BATCH):
            answers = dict(row.answers or {})
            changed = False
            for question in multi & answers.keys():
                value = change(answers[question])
                if value is not None:
                    answers[question] = value
                    changed = True
            if changed:
                row.answers = answers
                batch.append(row)
            if len(batch) >= BATCH:
                Details.objects.bulk_update(batch, ["answers"])
                batch = []
        if batch:
            Details.objects.bulk_update(batch, ["answers"])


def _to_list(value):
    if not isinstance(value, str):
        return None
    items = [part.strip() for part in value.split(SEPARATOR) if part.strip()]
    return items or None


def _to_text(value):
    if not isinstance(value, list):
        return None
    return SEPARATOR.join(str(v) for v in value)


def forwards(apps, schema_editor):
    _rewrite(apps, _to_list)


def backwards(apps, schema_editor):
    _rewrite(apps, _to_text)


class Migration(migrations.Migration):
    dependencies = [
        ("zoom_integration", "0010_registration_mappings"),
        ("marketing_events", "0007_registration_details"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
