"""Issue 23: steps as a graph (W9), versions (W11), the durable engine's columns (W10).

Each workflow's `actions` become a straight line of steps `s1 → s2 → …` and its version 1;
its enrollments are on that version, and their executions name the step of their action."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

import crm.crypto


def actions_to_steps(apps, schema_editor):
    Workflow = apps.get_model("workflows", "Workflow")
    WorkflowVersion = apps.get_model("workflows", "WorkflowVersion")
    Enrollment = apps.get_model("workflows", "Enrollment")
    ActionExecution = apps.get_model("workflows", "ActionExecution")
    now = timezone.now()
    for workflow in Workflow.objects.all():
        actions = list(workflow.actions or [])
        steps = [
            {"id": f"s{i + 1}", **config, "next": f"s{i + 2}" if i + 1 < len(actions) else None}
            for i, config in enumerate(actions)
        ]
        workflow.steps, workflow.start, workflow.version = steps, "s1" if steps else "", 1
        workflow.save(update_fields=["steps", "start", "version"])
        version = WorkflowVersion.objects.create(
            workflow=workflow, number=1, steps=steps, start=workflow.start
        )
        for enrollment in Enrollment.objects.filter(workflow=workflow):
            enrollment.version = version
            if enrollment.status == "running":
                done = set(
                    ActionExecution.objects.filter(
                        enrollment=enrollment, status__in=["succeeded", "skipped"]
                    ).values_list("action_index", flat=True)
                )
                left = [i for i in range(len(actions)) if i not in done]
                enrollment.current_step = f"s{left[0] + 1}" if left else ""
                enrollment.due_at = now
            enrollment.save(update_fields=["version", "current_step", "due_at"])
    for execution in ActionExecution.objects.all().only("pk", "action_index"):
        ActionExecution.objects.filter(pk=execution.pk).update(
            step_id=f"s{execution.action_index + 1}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0002_message_text_and_verbose_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="workflow",
            name="steps",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="workflow",
            name="start",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="workflow",
            name="version",
            field=models.PositiveIntegerField(default=1, verbose_name="version"),
        ),
        migrations.AddField(
            model_name="workflow",
            name="webhook_secret",
            field=crm.crypto.EncryptedTextField(blank=True, default=""),
        ),
        migrations.CreateModel(
            name="WorkflowVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField()),
                ("steps", models.JSONField(blank=True, default=list)),
                ("start", models.CharField(blank=True, max_length=40)),
                ("created_at", models.DateTimeField(default=timezone.now)),
                ("created_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                ("workflow", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="versions", to="workflows.workflow")),
            ],
            options={
                "verbose_name": "workflow version",
                "verbose_name_plural": "workflow versions",
                "ordering": ["workflow", "-number"],
                "constraints": [models.UniqueConstraint(fields=("workflow", "number"), name="one_version_per_number")],
            },
        ),
        migrations.AddField(
            model_name="enrollment",
            name="version",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.CASCADE, related_name="enrollments", to="workflows.workflowversion"),
        ),
        migrations.AddField(
            model_name="enrollment",
            name="current_step",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="enrollment",
            name="due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="enrollment",
            name="lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="enrollment",
            name="status",
            field=models.CharField(choices=[("running", "Running"), ("waiting", "Waiting"), ("completed", "Completed"), ("failed", "Failed"), ("stopped", "Stopped")], default="running", max_length=10),
        ),
        migrations.AddField(
            model_name="actionexecution",
            name="step_id",
            field=models.CharField(default="", max_length=40),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="actionexecution",
            name="status",
            field=models.CharField(choices=[("queued", "Queued"), ("retrying", "Retrying"), ("waiting", "Waiting"), ("succeeded", "Succeeded"), ("failed", "Failed"), ("skipped", "Skipped")], default="queued", max_length=10),
        ),
        migrations.RunPython(actions_to_steps, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="enrollment",
            name="version",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="enrollments", to="workflows.workflowversion"),
        ),
        migrations.RemoveConstraint(
            model_name="actionexecution",
            name="one_execution_per_action",
        ),
        migrations.AddConstraint(
            model_name="actionexecution",
            constraint=models.UniqueConstraint(fields=("enrollment", "step_id"), name="one_execution_per_step"),
        ),
        migrations.RemoveField(
            model_name="actionexecution",
            name="lease_until",
        ),
        migrations.RemoveField(
            model_name="workflow",
            name="actions",
        ),
        migrations.AddIndex(
            model_name="enrollment",
            index=models.Index(condition=models.Q(("status__in", ["running", "waiting"])), fields=["due_at"], name="enrollment_due_idx"),
        ),
    ]
