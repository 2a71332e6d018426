"""The contacts' event rollups move to a narrow table of their own (issue 21): created, filled
from the participations by ranges of contact ids (each range one statement that reads its
participations through the (contact) index, committed one by one: a run stopped half way is
simply run again, the statement is idempotent), then indexed once (crm migration 0012 drops
the columns of the contact row). On 1M contacts / 5M participations the filling takes
seconds on a 2-core machine (bench/segments_bench.py prints it)."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count, Max, Min, Q, Sum

BATCH = 100_000

FILL_SQL = """
INSERT INTO marketing_events_contactactivity AS a (contact_id, events_registered,
    events_attended, events_cancelled, attended_seconds, first_attended_at, last_attended_at,
    last_registered_at)
SELECT contact_id,
    count(*) FILTER (WHERE state IN ('REGISTERED', 'ATTENDED')),
    count(*) FILTER (WHERE state = 'ATTENDED'),
    count(*) FILTER (WHERE state = 'CANCELLED'),
    coalesce(sum(duration_seconds) FILTER (WHERE state = 'ATTENDED'), 0),
    min(first_join_at) FILTER (WHERE state = 'ATTENDED'),
    max(first_join_at) FILTER (WHERE state = 'ATTENDED'),
    max(registered_at)
FROM marketing_events_participation
WHERE contact_id >= %s AND contact_id < %s
GROUP BY contact_id
ORDER BY contact_id
ON CONFLICT (contact_id) DO UPDATE SET (events_registered, events_attended, events_cancelled,
    attended_seconds, first_attended_at, last_attended_at, last_registered_at) = (
    EXCLUDED.events_registered, EXCLUDED.events_attended, EXCLUDED.events_cancelled,
    EXCLUDED.attended_seconds, EXCLUDED.first_attended_at, EXCLUDED.last_attended_at,
    EXCLUDED.last_registered_at)
"""


def fill(apps, schema_editor):
    Participation = apps.get_model("marketing_events", "Participation")
    ContactActivity = apps.get_model("marketing_events", "ContactActivity")
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(contact_id), 0) FROM marketing_events_participation")
            (highest,) = cursor.fetchone()
            for low in range(0, highest + 1, BATCH):
                cursor.execute(FILL_SQL, [low, low + BATCH])
        return
    attended = Q(state="ATTENDED")
    rows = (
        Participation.objects.order_by()
        .values("contact_id")
        .annotate(
            registered=Count("id", filter=Q(state__in=["REGISTERED", "ATTENDED"])),
            attended=Count("id", filter=attended),
            cancelled=Count("id", filter=Q(state="CANCELLED")),
            seconds=Sum("duration_seconds", filter=attended),
            first_at=Min("first_join_at", filter=attended),
            last_at=Max("first_join_at", filter=attended),
            registered_at=Max("registered_at"),
        )
    )
    for row in rows.iterator():
        ContactActivity.objects.update_or_create(
            contact_id=row["contact_id"],
            defaults={
                "events_registered": row["registered"],
                "events_attended": row["attended"],
                "events_cancelled": row["cancelled"],
                "attended_seconds": row["seconds"] or 0,
                "first_attended_at": row["first_at"],
                "last_attended_at": row["last_at"],
                "last_registered_at": row["registered_at"],
            },
        )


class Migration(migrations.Migration):
    atomic = False  # one transaction per batch

    dependencies = [
        ("crm", "0011_account_registration_consent"),
        ("marketing_events", "0007_registration_details"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContactActivity",
            fields=[
                (
                    "contact",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="activity",
                        serialize=False,
                        to="crm.contact",
                    ),
                ),
                ("events_registered", models.IntegerField(default=0)),
                ("events_attended", models.IntegerField(default=0)),
                ("events_cancelled", models.IntegerField(default=0)),
                ("attended_seconds", models.BigIntegerField(default=0)),
                ("first_attended_at", models.DateTimeField(blank=True, null=True)),
                ("last_attended_at", models.DateTimeField(blank=True, null=True)),
                ("last_registered_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "contact activity",
                "verbose_name_plural": "contact activities",
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="contactactivity",
            index=models.Index(
                condition=models.Q(("events_attended__gt", 0)),
                fields=["contact"],
                name="activity_attended_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="contactactivity",
            index=models.Index(
                condition=models.Q(("events_attended", 0), ("events_registered__gt", 0)),
                fields=["contact"],
                name="activity_never_attended_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="contactactivity",
            index=models.Index(
                fields=["attended_seconds", "contact"], name="activity_seconds_idx"
            ),
        ),
    ]
