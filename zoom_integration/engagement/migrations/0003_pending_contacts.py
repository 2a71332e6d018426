"""Contacts awaiting their engagement score as rows of their own (one per contact) instead of a
flag on every engagement row: the run's end deleted a few thousand marks where it updated
tens of thousands of rows (and their indexes) to clear flags."""

from django.db import migrations, models


def _marks_from_flags(apps, schema_editor):
    engagement = apps.get_model("zoom_engagement", "ParticipationEngagement")
    pending = apps.get_model("zoom_engagement", "EngagementPendingContact")
    ids = (
        engagement.objects.filter(contact_pending=True)
        .order_by("contact_id")
        .values_list("contact_id", flat=True)
        .distinct()
    )
    pending.objects.bulk_create(
        [pending(contact_id=pk) for pk in ids], ignore_conflicts=True, batch_size=1000
    )


def _flags_from_marks(apps, schema_editor):
    engagement = apps.get_model("zoom_engagement", "ParticipationEngagement")
    pending = apps.get_model("zoom_engagement", "EngagementPendingContact")
    engagement.objects.filter(
        contact_id__in=pending.objects.values("contact_id")
    ).update(contact_pending=True)


class Migration(migrations.Migration):
    dependencies = [
        ("zoom_engagement", "0002_contact_pending"),
    ]

    operations = [
        migrations.CreateModel(
            name="EngagementPendingContact",
            fields=[("contact_id", models.BigIntegerField(primary_key=True, serialize=False))],
            options={
                "verbose_name": "contact pending an engagement score",
                "verbose_name_plural": "contacts pending an engagement score",
            },
        ),
        migrations.RunPython(_marks_from_flags, _flags_from_marks),
        migrations.RemoveIndex(
            model_name="participationengagement",
            name="engagement_pending_idx",
        ),
        migrations.RemoveField(
            model_name="participationengagement",
            name="contact_pending",
        ),
    ]
