"""Answers' and engagement rows' copies of their occurrence's or participation's event keep no
foreign-key constraint of their own (that row's holds it): one database check less per row
written."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('marketing_events', '0009_copied_event_without_constraint'),
        ('zoom_engagement', '0003_pending_contacts'),
    ]

    operations = [
        migrations.AlterField(
            model_name='engagementanswer',
            name='event',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='marketing_events.marketingevent'),
        ),
        migrations.AlterField(
            model_name='participationengagement',
            name='event',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='marketing_events.marketingevent'),
        ),
    ]
