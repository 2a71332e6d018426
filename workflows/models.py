"""Workflows (rules W1–W12): a trigger (a filter tree, or manual enrollment only), a graph of
steps (W9), on/off and a re-enrollment option. Enrollments are recorded once per
(workflow, contact, number), each on the version of the steps it started with (W11), at one
step at a time (W10); every step an enrollment reaches is one execution row per
(enrollment, step), so a retried task or a repeated request never runs anything twice by
accident."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.crypto import EncryptedTextField
from crm.models import Contact
from crm.stored_text import render_stored


class TriggerType(models.TextChoices):
    MANUAL = "manual", _("Manual enrollment only")
    FILTERS = "filters", _("Contacts who match filters")


class Workflow(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    enabled = models.BooleanField(_("on"), default=False)
    trigger_type = models.CharField(
        max_length=10, choices=TriggerType.choices, default=TriggerType.MANUAL
    )
    filters = models.JSONField(default=dict, blank=True)
    reenrollment = models.BooleanField(_("re-enrollment"), default=False)
    # The steps being edited (rule W12's shape): [{"id", "type", …settings, "next"} |
    # {"id", "type": "branch", "filters", "yes", "no"}], entered at `start`. `version` is the
    # number of the published `WorkflowVersion` holding the same steps.
    steps = models.JSONField(default=list, blank=True)
    start = models.CharField(max_length=40, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    # An incomplete workflow saved as it is (a step missing its settings, a dangling exit): off,
    # nobody can be enrolled, and `draft_problems` ([{"path", "message"}]) says what is left.
    draft = models.BooleanField(_("draft"), default=False)
    draft_problems = models.JSONField(default=list, blank=True)
    # Signs the `webhook` steps' requests (HMAC-SHA256); encrypted at rest like Zoom's secrets.
    webhook_secret = EncryptedTextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    enabled_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def actions(self) -> list[dict] | None:
        """The steps as the older `actions` list when they are a straight line (rule W12)."""
        from .graph import straight_line

        return straight_line(self.steps, self.start)

    @property
    def webhook_secret_set(self) -> bool:
        return bool(self.webhook_secret)

    @property
    def trigger(self) -> dict:
        if self.trigger_type == TriggerType.FILTERS:
            return {"type": "filters", "filters": self.filters}
        return {"type": "manual"}


class WorkflowVersion(models.Model):
    """The steps of a workflow as published (rule W11). Saving a workflow whose current version
    has enrollments publishes a new one; enrollments finish on the version they started."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    steps = models.JSONField(default=list, blank=True)
    start = models.CharField(max_length=40, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("workflow version")
        verbose_name_plural = _("workflow versions")
        ordering = ["workflow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="one_version_per_number")
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.number}"


class EnrollmentSource(models.TextChoices):
    MANUAL = "manual", _("Manual")
    TRIGGER = "trigger", _("Trigger")


class EnrollmentStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    WAITING = "waiting", _("Waiting")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    STOPPED = "stopped", _("Stopped")


OPEN_ENROLLMENT = (EnrollmentStatus.RUNNING, EnrollmentStatus.WAITING)


class Enrollment(models.Model):
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="enrollments")
    version = models.ForeignKey(
        WorkflowVersion, on_delete=models.CASCADE, related_name="enrollments"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="enrollments")
    number = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=10, choices=EnrollmentSource.choices)
    status = models.CharField(
        max_length=10, choices=EnrollmentStatus.choices, default=EnrollmentStatus.RUNNING
    )
    # The step it is at (rule W10); empty once finished.
    current_step = models.CharField(max_length=40, blank=True)
    # When the engine looks at it next: a delay's due time while waiting; while running, when
    # a run that has not reported by then is taken again (a worker died, a message was lost).
    due_at = models.DateTimeField(null=True, blank=True)
    # While a worker runs its steps: no other worker runs them before this moment.
    lease_until = models.DateTimeField(null=True, blank=True)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "contact", "number"], name="one_enrollment_per_number"
            )
        ]
        indexes = [
            models.Index(fields=["workflow", "status"], name="enrollment_status_idx"),
            # The engine's scan (rule W10): open enrollments by due time, nothing else.
            models.Index(
                fields=["due_at"],
                condition=models.Q(status__in=["running", "waiting"]),
                name="enrollment_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id}/{self.contact_id}#{self.number}"


class TriggerMatch(models.Model):
    """Contacts that matched a filter trigger at its last evaluation. A contact is enrolled
    when it starts matching (it is not here yet) and, with re-enrollment on, again after it
    stopped matching (its row was removed) and matches anew."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="matches")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    matched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("trigger match")
        verbose_name_plural = _("trigger matches")
        constraints = [
            models.UniqueConstraint(fields=["workflow", "contact"], name="one_match_per_contact")
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id}: {self.contact_id}"


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RETRYING = "retrying", _("Retrying")
    WAITING = "waiting", _("Waiting")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


FINAL_STATUSES = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.SKIPPED)


class ActionExecution(models.Model):
    """The log (rules W7, W10): one row per (enrollment, step) the enrollment reached, updated
    through retries; `action_index` is its place on the enrollment's path (0 = first)."""

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="executions")
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="executions")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    step_id = models.CharField(max_length=40)
    action_index = models.PositiveIntegerField()
    action_type = models.CharField(max_length=60)
    status = models.CharField(
        max_length=10, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED
    )
    # `message` in English, as the API gives it (rule L2); `message_text` the same message as a
    # message id with its parameters, translated for whoever reads the log (rule L1).
    message = models.TextField(blank=True)
    message_text = models.JSONField(null=True, blank=True)
    output = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("action execution")
        verbose_name_plural = _("action executions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "step_id"], name="one_execution_per_step")
        ]
        indexes = [
            models.Index(fields=["workflow", "-created_at"], name="execution_workflow_idx"),
            models.Index(fields=["workflow", "status"], name="execution_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} for {self.contact_id}: {self.status}"

    @property
    def message_for_reader(self) -> str:
        if self.message_text is not None:
            return render_stored(self.message_text)
        return self.message


class NotificationSent(models.Model):
    """A `notify` step's notification, stored under the step's idempotency key (rule W10,
    `wf<workflow>-e<enrollment>-<step>`): made in the same transaction as the notification, so
    a retry after a crash finds it and sends nothing again, and a crash before the commit
    leaves neither (the retry sends it once)."""

    key = models.CharField(max_length=120, unique=True)
    notification = models.ForeignKey("crm.Notification", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notification sent")
        verbose_name_plural = _("notifications sent")

    def __str__(self) -> str:
        return self.key
