from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.schema import SchemaComponents
from crm.api.validation import INT64_MAX, StrictInput

from ..models import ExecutionStatus
from .schema import action_schema_components, trigger_schema_components


class TriggerField(SchemaComponents, serializers.DictField):
    """A trigger as the service reads it (the service validates it)."""

    schema_components = staticmethod(trigger_schema_components)


class TriggerOutputField(SchemaComponents, serializers.JSONField):
    schema_components = staticmethod(trigger_schema_components)


class ActionField(SchemaComponents, serializers.DictField):
    """An action's configuration as the service reads it (the service validates it)."""

    schema_components = staticmethod(action_schema_components)


class ActionsOutputField(SchemaComponents, serializers.JSONField):
    def schema_components(self, direction):
        action, components = action_schema_components(direction)
        return {"type": "array", "items": action}, components


@extend_schema_field({"type": "object", "additionalProperties": {}})
class ExecutionOutputField(serializers.JSONField):
    """What an action's run returned (the Zoom action: `registrant_id`, `join_url`)."""


class WorkflowInput(StrictInput):
    name = serializers.CharField(max_length=200)
    enabled = serializers.BooleanField(default=False)
    trigger = TriggerField(default=dict(type="manual"))
    reenrollment = serializers.BooleanField(default=False)
    actions = serializers.ListField(child=ActionField(), default=list)
    enroll_existing = serializers.BooleanField(default=False)


class WorkflowUpdateInput(StrictInput):
    name = serializers.CharField(max_length=200, required=False)
    enabled = serializers.BooleanField(required=False)
    trigger = TriggerField(required=False)
    reenrollment = serializers.BooleanField(required=False)
    actions = serializers.ListField(child=ActionField(), required=False)
    enroll_existing = serializers.BooleanField(default=False)


class WorkflowOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    trigger = TriggerOutputField()
    reenrollment = serializers.BooleanField()
    actions = ActionsOutputField()
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
