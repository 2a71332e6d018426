from rest_framework import serializers

from crm.api.validation import StrictInput

from ..models import SegmentKind


class FilterTreeField(serializers.JSONField):
    """The Filter JSON (validated by the segments service, which names the bad node)."""


class SegmentInput(StrictInput):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=SegmentKind.values, default=SegmentKind.ACTIVE)
    filters = FilterTreeField(default=dict(**{"or": []}))


class SegmentUpdateInput(StrictInput):
    name = serializers.CharField(max_length=200, required=False)
    filters = FilterTreeField(required=False)


class SegmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    filters = serializers.JSONField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CountOutput(serializers.Serializer):
    count = serializers.IntegerField()


class ContactIdsInput(StrictInput):
    contact_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=10_000
    )


class MembersChangedOutput(serializers.Serializer):
    changed = serializers.IntegerField()
    count = serializers.IntegerField()


class FiltersInput(StrictInput):
    filters = FilterTreeField()


class MemberOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField(allow_null=True)
    firstname = serializers.CharField()
    lastname = serializers.CharField()


class PreviewOutput(serializers.Serializer):
    count = serializers.IntegerField()
    members = MemberOutput(many=True)


class NoteOutput(serializers.Serializer):
    path = serializers.CharField()
    message = serializers.CharField()


class ConversionOutput(serializers.Serializer):
    filters = serializers.JSONField()
    converted = serializers.IntegerField()
    kept = serializers.IntegerField()
    notes = NoteOutput(many=True)


class SnapshotInput(StrictInput):
    name = serializers.CharField(max_length=200)
