"""Contact rollups: no index covers the registration columns any more, so an update that only
adds a registration is heap-only (`ContactActivity`); on PostgreSQL each page keeps a fifth
free for those updates."""

from django.db import migrations

TABLE = "marketing_events_contactactivity"


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 80)")


def fill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("marketing_events", "0011_timeline_entries_derived")]

    operations = [
        migrations.RemoveIndex(model_name="contactactivity", name="activity_never_attended_idx"),
        migrations.RunPython(leave_room, fill),
    ]
