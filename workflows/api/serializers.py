from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.schema import SchemaComponents
from crm.api.validation import INT64_MAX, StrictInput

from ..models import EnrollmentStatus, ExecutionStatus
from .schema import (
    STEP_ID_SCHEMA,
    action_schema_components,
    step_schema_components,
    trigger_schema_components,
)


class TriggerField(SchemaComponents, serializers.DictField):
    """A trigger as the service reads it (the service validates it)."""

    schema_components = staticmethod(trigger_schema_components)


class TriggerOutputField(SchemaComponents, serializers.JSONField):
    schema_components = staticmethod(trigger_schema_components)


class ActionField(SchemaComponents, serializers.DictField):
    """An action's configuration as the service reads it (the service validates it)."""

    schema_components = staticmethod(action_schema_components)


class ActionsOutputField(SchemaComponents, serializers.JSONField):
    """The steps as the older `actions` list when they are a straight line; null when the
    workflow branches (its `steps` say it all)."""

    def schema_components(self, direction):
        action, components = action_schema_components(direction)
        return {"type": "array", "items": action, "nullable": True}, components


class StepField(SchemaComponents, serializers.DictField):
    """A step as the service reads it (the service validates it)."""

    schema_components = staticmethod(step_schema_components)


class StepsOutputField(SchemaComponents, serializers.JSONField):
    def schema_components(self, direction):
        step, components = step_schema_components(direction)
        return {"type": "array", "items": step}, components


@extend_schema_field({**STEP_ID_SCHEMA, "nullable": True})
class StepIdField(serializers.CharField):
    pass


@extend_schema_field({"type": "object", "additionalProperties": {}})
class ExecutionOutputField(serializers.JSONField):
    """What an action's run returned (the Zoom action: `registrant_id`, `join_url`)."""


class WorkflowInput(StrictInput):
    """`steps` (+ `start`, default: the first step) or the older `actions`, not both (W12)."""

    name = serializers.CharField(max_length=200)
    enabled = serializers.BooleanField(default=False)
    trigger = TriggerField(default=dict(type="manual"))
    reenrollment = serializers.BooleanField(default=False)
    steps = serializers.ListField(child=StepField(), required=False, max_length=50)
    start = StepIdField(required=False, allow_null=True, allow_blank=True, max_length=40)
    actions = serializers.ListField(child=ActionField(), required=False)
    enroll_existing = serializers.BooleanField(default=False)
    draft = serializers.BooleanField(
        default=False,
        help_text="Save incomplete steps as they are: the workflow stays off, `problems` lists "
        "what is left, and turning it on validates fully",
    )


class WorkflowUpdateInput(StrictInput):
    name = serializers.CharField(max_length=200, required=False)
    enabled = serializers.BooleanField(required=False)
    trigger = TriggerField(required=False)
    reenrollment = serializers.BooleanField(required=False)
    steps = serializers.ListField(child=StepField(), required=False, max_length=50)
    start = StepIdField(required=False, allow_null=True, allow_blank=True, max_length=40)
    actions = serializers.ListField(child=ActionField(), required=False)
    enroll_existing = serializers.BooleanField(default=False)
    draft = serializers.BooleanField(
        default=False,
        help_text="Save incomplete steps as they are (the workflow must be off)",
    )


class ProblemOutput(serializers.Serializer):
    path = serializers.CharField(help_text="The part at fault, e.g. steps[2].message")
    message = serializers.CharField()


class WorkflowOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    version = serializers.IntegerField(help_text="The number of the current version (W11)")
    trigger = TriggerOutputField()
    reenrollment = serializers.BooleanField()
    steps = StepsOutputField()
    start = StepIdField(allow_null=True)
    actions = ActionsOutputField()
    draft = serializers.BooleanField(help_text="Saved incomplete: off, cannot be enrolled into")
    problems = ProblemOutput(
        many=True, source="draft_problems", help_text="What a draft still lacks (else empty)"
    )
    webhook_secret_set = serializers.BooleanField()
    webhook_secret = serializers.CharField(
        source="new_webhook_secret",
        default=None,
        allow_null=True,
        help_text="The webhook steps' signing secret, in clear only in the answer that made it",
    )
    enrolled = serializers.IntegerField(required=False)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_run_at = serializers.DateTimeField(allow_null=True)


class EnrollInput(StrictInput):
    contact_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=INT64_MAX), max_length=1000
    )


class EnrolledOutput(serializers.Serializer):
    id = serializers.IntegerField()
    contact = serializers.IntegerField()
    number = serializers.IntegerField()


class SkippedOutput(serializers.Serializer):
    contact = serializers.IntegerField()
    reason = serializers.CharField()


class EnrollOutput(serializers.Serializer):
    enrolled = EnrolledOutput(many=True)
    skipped = SkippedOutput(many=True)


class ExecutionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    enrollment = serializers.IntegerField(source="enrollment_id")
    step = serializers.CharField(source="step_id")
    contact = serializers.IntegerField(source="contact_id")
    contact_email = serializers.CharField(source="contact.email", allow_null=True)
    action = serializers.CharField(source="action_type")
    action_index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ExecutionStatus.choices)
    message = serializers.CharField()
    output = ExecutionOutputField()
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class PathStepOutput(serializers.Serializer):
    """One step an enrollment reached, in the order it reached them."""

    step = serializers.CharField(source="step_id")
    type = serializers.CharField(source="action_type")
    status = serializers.ChoiceField(choices=ExecutionStatus.choices)
    message = serializers.CharField()
    output = ExecutionOutputField()
    attempts = serializers.IntegerField()
    started_at = serializers.DateTimeField(source="created_at")
    finished_at = serializers.DateTimeField(allow_null=True)


class EnrollmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    workflow = serializers.IntegerField(source="workflow_id")
    version = serializers.IntegerField(source="version.number")
    contact = serializers.IntegerField(source="contact_id")
    contact_email = serializers.CharField(source="contact.email", allow_null=True)
    number = serializers.IntegerField()
    source = serializers.CharField()
    status = serializers.ChoiceField(choices=EnrollmentStatus.choices)
    current_step = StepIdField(allow_null=True)
    due_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class EnrollmentPathOutput(EnrollmentOutput):
    path = PathStepOutput(many=True)


class WebhookSecretOutput(serializers.Serializer):
    secret = serializers.CharField()
