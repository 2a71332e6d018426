"""The contact's event rollups live in `marketing_events.ContactActivity` now (filled by
marketing_events migration 0008): their columns go (the table keeps the room migration 0009
left in its pages, which heap-only updates of other columns use); the live contacts' e-mail
domain index carries the id, so that "e-mail ends with @domain" yields ids in order,
index-only, to be merged with a rollup set."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("crm", "0011_account_registration_consent"),
        ("marketing_events", "0008_contact_activity"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="contact", name="contact_live_email_domain_idx"),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("archived_at__isnull", True)),
                fields=["email_domain", "id"],
                name="contact_live_domain_id_idx",
            ),
        ),
        migrations.RemoveField(model_name="contact", name="events_registered"),
        migrations.RemoveField(model_name="contact", name="events_attended"),
        migrations.RemoveField(model_name="contact", name="events_cancelled"),
        migrations.RemoveField(model_name="contact", name="attended_seconds"),
        migrations.RemoveField(model_name="contact", name="first_attended_at"),
        migrations.RemoveField(model_name="contact", name="last_attended_at"),
        migrations.RemoveField(model_name="contact", name="last_registered_at"),
    ]
