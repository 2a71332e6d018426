"""What the segment builder offers for the two registration filters (Filter JSON
`zoom_registration_answer` and `registration_source`, rules E1, E4, E5): the questions the
webinars ask, as stored from Zoom, and the values a registration's source fields hold.

Reads only, each in a constant number of queries, whatever the number of webinars or
registrations (the picker is called on every keystroke of its search box)."""

from __future__ import annotations

from django.db.models import CharField, Count, F
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from marketing_events.models import RegistrationDetails

from ..models_registration import WebinarRegistrationInfo
from .fill import OWN_FIELDS
from .public import STANDARD_LABELS

PICKER_LIMIT = 50
# The stored forms read when no webinar is chosen: the most recently fetched ones.
FORMS_SCANNED = 500


def question_label(question: dict) -> str:
    """A standard field by its label and Zoom's name ("Organization (org)"), a custom question
    by its title."""
    name = str(question.get("question") or "")
    if question.get("type") == "standard" and name in STANDARD_LABELS:
        return f"{STANDARD_LABELS[name]} ({name})"
    return name


def question_choices(*, zoom_webinar_id: int | None, search: str = "") -> list[dict]:
    """`[{"question", "label", "type", "answers"}]`: the registration questions of one webinar,
    or of every webinar whose form is stored (merged by question, the answers offered by any of
    them), without the name and e-mail (rule E1 keeps them out of the answers). One query."""
    forms = WebinarRegistrationInfo.objects.order_by("-fetched_at")
    if zoom_webinar_id is not None:
        forms = forms.filter(webinar__zoom_webinar_id=zoom_webinar_id)
    merged: dict[str, dict] = {}
    for questions in forms.values_list("questions", flat=True)[:FORMS_SCANNED]:
        for question in questions or []:
            name = str(question.get("question") or "")
            if not name or name in OWN_FIELDS:
                continue
            item = merged.setdefault(
                name,
                {
                    "question": name,
                    "label": str(question_label(question)),
                    "type": str(question.get("type") or "short"),
                    "answers": [],
                },
            )
            for answer in question.get("answers") or []:
                if answer not in item["answers"]:
                    item["answers"].append(str(answer))
    needle = search.casefold()
    found = [
        item
        for item in merged.values()
        if not needle or needle in item["question"].casefold() or needle in item["label"].casefold()
    ]
    found.sort(key=lambda item: item["label"].casefold())
    return found[:PICKER_LIMIT]


def source_choices(*, field: str, event_id: int | None, search: str = "") -> list[dict]:
    """`[{"value", "count"}]`: the values a registration source field holds (`field` is one of
    `registration.filters.SOURCE_FIELDS`), most frequent first, in one event's registrations or
    all; tracking sources also by the names Zoom lists for the webinars, with their counts of
    registrations here (0 when none came yet). One or two queries."""
    rows = RegistrationDetails.objects.all()
    if event_id is not None:
        rows = rows.filter(event_id=event_id)
    if field == "tracking_source":
        rows = rows.exclude(source_name="").annotate(compared=F("source_name"))
    elif field == "referrer":
        rows = rows.exclude(referrer="").annotate(compared=F("referrer"))
    else:
        rows = rows.filter(utm__has_key=field).annotate(
            compared=Cast(KT(f"utm__{field}"), output_field=CharField())
        )
    if search:
        rows = rows.filter(compared__icontains=search)
    counted = (rows.values("compared").annotate(count=Count("pk")).order_by("-count", "compared"))[
        :PICKER_LIMIT
    ]
    found = {row["compared"]: row["count"] for row in counted if row["compared"]}
    if field == "tracking_source":
        forms = WebinarRegistrationInfo.objects.exclude(tracking_sources=[])
        if event_id is not None:
            forms = forms.filter(webinar__event_id=event_id)
        needle = search.casefold()
        for sources in forms.values_list("tracking_sources", flat=True)[:FORMS_SCANNED]:
            for source in sources or []:
                name = str(source.get("name") or "")
                if name and (not needle or needle in name.casefold()):
                    found.setdefault(name, 0)
    ordered = sorted(found.items(), key=lambda item: (-item[1], item[0].casefold()))
    return [{"value": value, "count": count} for value, count in ordered[:PICKER_LIMIT]]
