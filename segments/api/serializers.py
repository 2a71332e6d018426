from rest_framework import serializers

from crm.api.schema import SchemaComponents
from crm.api.validation import INT64_MAX, StrictInput
from crm.filter_schema import ref

from ..models import SegmentKind
from ..tree import tree_schema_components


class FilterTreeField(SchemaComponents, serializers.JSONField):
    """The Filter JSON (validated by the segments service, which names the bad node). Its
    schema: what the service accepts in requests, the normalized tree in responses."""

    def schema_components(self, direction):
        name, components = tree_schema_components(direction)
        return ref(name), components


class SegmentInput(StrictInput):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=SegmentKind.choices, default=SegmentKind.ACTIVE)
    filters = FilterTreeField(default=dict(**{"or": []}))


class SegmentUpdateInput(StrictInput):
    name = serializers.CharField(max_length=200, required=False)
    filters = FilterTreeField(required=False)


class SegmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=SegmentKind.choices)
    filters = FilterTreeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CountOutput(serializers.Serializer):
    count = serializers.IntegerField()


class ContactIdsInput(StrictInput):
    contact_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=INT64_MAX),
        allow_empty=False,
        max_length=10_000,
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
    filters = FilterTreeField()
    converted = serializers.IntegerField()
    kept = serializers.IntegerField()
    notes = NoteOutput(many=True)


class SnapshotInput(StrictInput):
    name = serializers.CharField(max_length=200)
