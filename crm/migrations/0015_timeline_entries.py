"""The timeline as read (`crm.models.TimelineEntry`): a view of the stored entries, which
marketing events' migration 0011 extends with the entries participations imply."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

VIEW = """
CREATE VIEW crm_timeline_entries AS
SELECT id, contact_id, kind, occurred_at, data, actor_id FROM crm_timelineevent
"""


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0014_timeline_contact_without_constraint'),
    ]

    operations = [
        migrations.RunSQL(VIEW, "DROP VIEW crm_timeline_entries"),
        migrations.CreateModel(
            name='TimelineEntry',
            fields=[
                ('id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('kind', models.CharField(max_length=60)),
                ('occurred_at', models.DateTimeField()),
                ('data', models.JSONField(default=dict)),
                ('contact', models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='crm.contact')),
                ('actor', models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'crm_timeline_entries',
                'ordering': ['-occurred_at', '-id'],
                'managed': False,
            },
        ),
    ]
