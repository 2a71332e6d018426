"""A contact's poll, Q&A and survey timeline entries (rule E6: one per contact, occurrence and
kind, listing its items) are derived from the stored answers where the timeline is read
(`crm.models.TimelineEntry`), no longer stored beside them: the view gains them, and the stored
copies go. Going back stores them again, with the keys the sync gave them.

A derived entry's id is -(2^62 + (occurrence id x 10^10 + participation id) x 4 + n), n = 1 for
polls, 2 for questions, 3 for surveys: stable while the answers are replaced by a newer report,
and apart from the participations' entries (-(participation id x 4 + n), far below 2^62 in
magnitude) and the stored ones (positive)."""

from importlib import import_module

from django.db import migrations

participation_entries = import_module("marketing_events.migrations.0011_timeline_entries_derived")

BASE = 2**62
OCCURRENCE_SCALE = 10**10
KINDS = (
    ("poll", 1, "zoom_webinar_poll_answered"),
    ("question", 2, "zoom_webinar_question_asked"),
    ("survey", 3, "zoom_webinar_survey_answered"),
)
_N = "CASE a.kind " + " ".join(f"WHEN '{k}' THEN {n}" for k, n, _t in KINDS) + " END"
_KIND = "CASE a.kind " + " ".join(f"WHEN '{k}' THEN '{t}'" for k, _n, t in KINDS) + " END"
_ID = f"-({BASE} + (x.occurrence_id * {OCCURRENCE_SCALE} + p.id) * 4 + x.n)"

# Items in the order the report listed them (the answers' ids); a question's with its status.
POSTGRESQL = f"""
{participation_entries.POSTGRESQL}
UNION ALL
SELECT {_ID}, p.contact_id, x.timeline_kind, COALESCE(x.first_at, o.ends_at),
    jsonb_build_object('event_id', e.id, 'webinar_id', e.external_event_id,
        'webinar_name', e.name, 'occurrence', o.external_id, 'items', x.items),
    NULL::bigint
FROM marketing_events_participation p
JOIN marketing_events_marketingevent e ON e.id = p.event_id
CROSS JOIN LATERAL (
    SELECT a.occurrence_id, {_N} AS n, {_KIND} AS timeline_kind,
        min(a.answered_at) AS first_at,
        jsonb_agg(CASE WHEN a.kind = 'question'
            THEN jsonb_build_object('question', a.question, 'answer', a.answer,
                'status', a.status)
            ELSE jsonb_build_object('question', a.question, 'answer', a.answer)
        END ORDER BY a.id) AS items
    FROM zoom_engagement_engagementanswer a
    WHERE a.participation_id = p.id
    GROUP BY a.occurrence_id, a.kind
) AS x
JOIN marketing_events_eventoccurrence o ON o.id = x.occurrence_id
"""

# SQLite has no LATERAL and (before 3.44) no ORDER BY inside an aggregate: the items come from
# a correlated sub-query over the answers in id order.
SQLITE = f"""
{participation_entries.SQLITE}
UNION ALL
SELECT {_ID}, p.contact_id, x.timeline_kind, COALESCE(x.first_at, o.ends_at),
    json_object('event_id', e.id, 'webinar_id', e.external_event_id,
        'webinar_name', e.name, 'occurrence', o.external_id,
        'items', json((SELECT json_group_array(json(i.item)) FROM (
            SELECT CASE WHEN y.kind = 'question'
                THEN json_object('question', y.question, 'answer', y.answer,
                    'status', y.status)
                ELSE json_object('question', y.question, 'answer', y.answer)
            END AS item
            FROM zoom_engagement_engagementanswer y
            WHERE y.participation_id = x.participation_id
                AND y.occurrence_id = x.occurrence_id AND y.kind = x.kind
            ORDER BY y.id) AS i))),
    NULL
FROM (
    SELECT a.participation_id, a.occurrence_id, a.kind, {_N} AS n, {_KIND} AS timeline_kind,
        min(a.answered_at) AS first_at
    FROM zoom_engagement_engagementanswer a
    WHERE a.participation_id IS NOT NULL
    GROUP BY a.participation_id, a.occurrence_id, a.kind
) AS x
JOIN marketing_events_participation p ON p.id = x.participation_id
JOIN marketing_events_marketingevent e ON e.id = p.event_id
JOIN marketing_events_eventoccurrence o ON o.id = x.occurrence_id
"""

TIMELINE_KINDS = [t for _k, _n, t in KINDS]


def derive(apps, schema_editor):
    sql = POSTGRESQL if schema_editor.connection.vendor == "postgresql" else SQLITE
    schema_editor.execute("DROP VIEW crm_timeline_entries")
    schema_editor.execute(sql)
    placeholders = ", ".join(["%s"] * len(TIMELINE_KINDS))
    schema_editor.execute(
        f"DELETE FROM crm_timelineevent WHERE kind IN ({placeholders})", TIMELINE_KINDS
    )


def store(apps, schema_editor):
    """Back: the derived entries stored as the sync stored them (its keys included)."""
    entry, event = apps.get_model("crm", "TimelineEntry"), apps.get_model("crm", "TimelineEvent")
    rows = []
    derived = entry.objects.filter(id__lt=-BASE).order_by("-id")
    for row in derived.iterator(chunk_size=2000):
        occurrence_id = ((-row.id - BASE) // 4) // OCCURRENCE_SCALE
        rows.append(
            event(
                contact_id=row.contact_id,
                kind=row.kind,
                occurred_at=row.occurred_at,
                data=row.data,
                dedupe_key=f"{row.kind}:{occurrence_id}:{row.contact_id}",
            )
        )
        if len(rows) == 2000:
            event.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    event.objects.bulk_create(rows, ignore_conflicts=True)
    sql = (
        participation_entries.POSTGRESQL
        if schema_editor.connection.vendor == "postgresql"
        else participation_entries.SQLITE
    )
    schema_editor.execute("DROP VIEW crm_timeline_entries")
    schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("marketing_events", "0011_timeline_entries_derived"),
        ("zoom_engagement", "0005_participation_children_without_constraints"),
    ]

    operations = [migrations.RunPython(derive, store)]
