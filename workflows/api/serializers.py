from rest_framework import serializers

from crm.api.validation import StrictInput


class WorkflowInput(StrictInput):
    name = serializers.CharField(max_length=200)
    enabled = serializers.BooleanField(default=False)
    trigger = serializers.DictField(default=dict(type="manual"))
    reenrollment = serializers.BooleanField(default=False)
    actions = serializers.ListField(child=serializers.DictField(), default=list)
    enroll_existing = serializers.BooleanField(default=False)


class WorkflowUpdateInput(StrictInput):
    name = serializers.CharField(max_length=200, required=False)
    enabled = serializers.BooleanField(required=False)
    trigger = serializers.DictField(required=False)
    reenrollment = serializers.BooleanField(required=False)
    actions = serializers.ListField(child=serializers.DictField(), required=False)
    enroll_existing = serializers.BooleanField(default=False)


class WorkflowOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    trigger = serializers.JSONField()
    reenrollment = serializers.BooleanField()
    actions = serializers.JSONField()
    enrolled = serializers.IntegerField(required=False)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_run_at = serializers.DateTimeField(allow_null=True)


class EnrollInput(StrictInput):
    contact_ids = serializers.ListField(child=serializers.IntegerField(), max_length=1000)


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
    status = serializers.CharField()
    message = serializers.CharField()
    output = serializers.JSONField()
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
