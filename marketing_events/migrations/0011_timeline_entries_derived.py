"""A participation's timeline entries (registered, cancelled, attended: rule M4) are derived
from it where the timeline is read (`crm.models.TimelineEntry`), no longer stored beside it:
the view gains them, and the stored copies go. Going back stores them again."""

from django.db import migrations

PARTICIPATION_KINDS = [
    f"{prefix}_{activity}"
    for prefix in ("zoom_webinar", "marketing_event")
    for activity in ("registered", "cancelled", "attended")
]

STORED = "SELECT id, contact_id, kind, occurred_at, data, actor_id FROM crm_timelineevent"

# A Zoom webinar's entries name the webinar as the sync wrote them; other events by name.
POSTGRESQL = f"""
CREATE VIEW crm_timeline_entries AS
{STORED}
UNION ALL
SELECT -(p.id * 4 + a.n), p.contact_id,
    CASE WHEN e.source = 'zoom' THEN 'zoom_webinar' ELSE 'marketing_event' END || a.activity,
    a.at,
    CASE WHEN e.source = 'zoom'
        THEN jsonb_build_object(
            'event_id', e.id, 'webinar_id', e.external_event_id, 'webinar_name', e.name)
        ELSE jsonb_build_object('event_id', e.id, 'event_name', e.name)
    END || a.facts,
    NULL::bigint
FROM marketing_events_participation p
JOIN marketing_events_marketingevent e ON e.id = p.event_id
CROSS JOIN LATERAL (VALUES
    (1, '_registered', p.registered_at, '{{}}'::jsonb),
    (2, '_cancelled', p.cancelled_at, '{{}}'::jsonb),
    (3, '_attended', p.first_join_at, jsonb_build_object(
        'joined_at', p.first_join_at, 'left_at', p.last_leave_at,
        'duration_seconds', p.duration_seconds, 'provisional', p.provisional))
) AS a(n, activity, at, facts)
WHERE a.at IS NOT NULL
"""


def _sqlite_branch(n: int, activity: str, at: str, facts: str = "") -> str:
    return f"""
SELECT -(p.id * 4 + {n}), p.contact_id,
    CASE WHEN e.source = 'zoom' THEN 'zoom_webinar' ELSE 'marketing_event' END
        || '_{activity}',
    p.{at},
    CASE WHEN e.source = 'zoom'
        THEN json_object('event_id', e.id, 'webinar_id', e.external_event_id,
            'webinar_name', e.name{facts})
        ELSE json_object('event_id', e.id, 'event_name', e.name{facts})
    END,
    NULL
FROM marketing_events_participation p
JOIN marketing_events_marketingevent e ON e.id = p.event_id
WHERE p.{at} IS NOT NULL"""


# SQLite keeps moments as text, "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC: written out as Python's
# isoformat() writes them.
_ATTENDED_FACTS = (
    ", 'joined_at', replace(p.first_join_at, ' ', 'T') || '+00:00', "
    "'left_at', replace(p.last_leave_at, ' ', 'T') || '+00:00', "
    "'duration_seconds', p.duration_seconds, "
    "'provisional', json(CASE WHEN p.provisional THEN 'true' ELSE 'false' END)"
)
SQLITE = f"""
CREATE VIEW crm_timeline_entries AS
{STORED}
UNION ALL {_sqlite_branch(1, "registered", "registered_at")}
UNION ALL {_sqlite_branch(2, "cancelled", "cancelled_at")}
UNION ALL {_sqlite_branch(3, "attended", "first_join_at", _ATTENDED_FACTS)}
"""


def derive(apps, schema_editor):
    sql = POSTGRESQL if schema_editor.connection.vendor == "postgresql" else SQLITE
    schema_editor.execute("DROP VIEW crm_timeline_entries")
    schema_editor.execute(sql)
    placeholders = ", ".join(["%s"] * len(PARTICIPATION_KINDS))
    schema_editor.execute(
        f"DELETE FROM crm_timelineevent WHERE kind IN ({placeholders})", PARTICIPATION_KINDS
    )


def store(apps, schema_editor):
    """Back: the derived entries stored as the writers stored them (dedupe keys included)."""
    entry, event = apps.get_model("crm", "TimelineEntry"), apps.get_model("crm", "TimelineEvent")
    rows = []
    for derived in entry.objects.filter(id__lt=0).order_by("-id").iterator(chunk_size=2000):
        prefix, _sep, activity = derived.kind.rpartition("_")
        key = f"{prefix}:{derived.data['event_id']}:{derived.contact_id}:{activity}"
        rows.append(
            event(
                contact_id=derived.contact_id,
                kind=derived.kind,
                occurred_at=derived.occurred_at,
                data=derived.data,
                dedupe_key=key,
            )
        )
        if len(rows) == 2000:
            event.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    event.objects.bulk_create(rows, ignore_conflicts=True)
    schema_editor.execute("DROP VIEW crm_timeline_entries")
    schema_editor.execute(f"CREATE VIEW crm_timeline_entries AS {STORED}")


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0015_timeline_entries"),
        ("marketing_events", "0010_participation_children_without_constraints"),
    ]

    operations = [migrations.RunPython(derive, store)]
