"""The registration details' copy of their participation's event keeps no foreign-key
constraint of its own (the participation's holds it): one database check less per row written."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('marketing_events', '0008_contact_activity'),
    ]

    operations = [
        migrations.AlterField(
            model_name='registrationdetails',
            name='event',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='registration_details', to='marketing_events.marketingevent'),
        ),
    ]
