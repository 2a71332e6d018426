"""Shapes of the HubSpot-compatible contacts v3 API: input serializers that check only the
shape of a body (types, required keys, sizes), and output functions that render HubSpot's
`SimplePublicObject` and `Property`. No decisions here: services and selectors make them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..api.schema import ANY_TEXT, NON_BLANK_TEXT
from ..api.validation import INT32_MAX, StrictInput
from ..models import Contact
from ..properties import (
    MAX_PROPERTY_NAME_LENGTH,
    MAX_REQUESTED_PROPERTIES,
    PropertySpec,
    format_datetime,
    property_value,
)
from .search import MAX_FILTERS, MAX_FILTERS_PER_GROUP, MAX_GROUPS

# HubSpot sends these with every object, whatever was asked for.
ALWAYS_RETURNED = ("createdate", "hs_object_id", "lastmodifieddate")
MAX_BATCH_INPUTS = 100
# Search bounds: HubSpot's where it documents one (groups and filters, in `search`; 3000
# characters of query), ours elsewhere.
MAX_FILTER_TEXT = 1000  # characters of a filter's value or highValue
MAX_FILTER_VALUES = 100  # values of an IN / NOT_IN filter
MAX_SORTS = 10
MAX_QUERY, MAX_QUERY_WORDS = 3000, 50


SCALAR_SCHEMA = {
    "anyOf": [{"type": "string", "pattern": ANY_TEXT}, {"type": "number"}, {"type": "boolean"}]
}
NULLABLE_SCALAR_SCHEMA = {**SCALAR_SCHEMA, "nullable": True}
ID_PROPERTY_CHOICES = ["hs_object_id", "email"]


@extend_schema_field({"type": "object", "additionalProperties": SCALAR_SCHEMA})
class PropertyValuesField(serializers.DictField):
    """`{"name": value}` where each value is a scalar (string, number, boolean or null)."""

    # Translators: DRF fills in {name!r} (a property name, quoted) and {type} (a JSON type);
    # keep them as they are.
    default_error_messages = {
        "not_scalar": _(
            "Property {name!r}: expected a string, number, boolean or null, got {type}."
        ),
        "null_character": _("Property {name!r}: null characters are not allowed."),
    }

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        for name, value in data.items():
            if value is not None and not isinstance(value, str | int | float | bool):
                self.fail("not_scalar", name=name, type=type(value).__name__)
            if isinstance(value, str) and "\x00" in value:
                self.fail("null_character", name=name)
        return data

    def __init__(self, **kwargs):
        super().__init__(child=serializers.JSONField(), **kwargs)


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "maxLength": 254, "pattern": NON_BLANK_TEXT},
            {"type": "integer"},
        ],
        "description": "id",
    }
)
class IdField(serializers.CharField):
    """HubSpot ids are strings; clients also send numbers."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        return super().to_internal_value(str(data))


class ContactCreateInput(StrictInput):
    properties = PropertyValuesField()
    # Not supported: the schema admits only an empty list.
    associations = serializers.ListField(
        child=serializers.DictField(), required=False, max_length=0
    )

    def validate_associations(self, value):
        if value:
            raise serializers.ValidationError(_("Associations are not supported by this CRM."))
        return value


class ContactUpdateInput(StrictInput):
    properties = PropertyValuesField()


class _BatchInput(StrictInput):
    max_inputs = MAX_BATCH_INPUTS  # the schema's maxItems of `inputs`

    def validate_inputs(self, value):
        if len(value) > MAX_BATCH_INPUTS:
            raise serializers.ValidationError(
                _("At most %(max)s inputs per batch; got %(n)s.")
                % {"max": MAX_BATCH_INPUTS, "n": len(value)}
            )
        return value


class BatchIdInput(StrictInput):
    id = IdField(max_length=254)


class BatchReadInput(_BatchInput):
    inputs = serializers.ListField(child=BatchIdInput(), allow_empty=False)
    idProperty = serializers.ChoiceField(
        choices=ID_PROPERTY_CHOICES, required=False, allow_null=True
    )
    properties = serializers.ListField(
        child=serializers.CharField(max_length=MAX_PROPERTY_NAME_LENGTH),
        required=False,
        max_length=MAX_REQUESTED_PROPERTIES,
    )
    propertiesWithHistory = serializers.ListField(
        child=serializers.CharField(max_length=MAX_PROPERTY_NAME_LENGTH),
        required=False,
        max_length=MAX_REQUESTED_PROPERTIES,
    )
    archived = serializers.BooleanField(required=False)


class BatchArchiveInput(_BatchInput):
    inputs = serializers.ListField(child=BatchIdInput(), allow_empty=False)


class BatchCreateInput(_BatchInput):
    inputs = serializers.ListField(child=ContactCreateInput(), allow_empty=False)


class BatchUpdateItem(StrictInput):
    id = IdField(max_length=254)
    idProperty = serializers.ChoiceField(
        choices=ID_PROPERTY_CHOICES, required=False, allow_null=True
    )
    properties = PropertyValuesField()


class BatchUpdateInput(_BatchInput):
    inputs = serializers.ListField(child=BatchUpdateItem(), allow_empty=False)


class BatchUpsertItem(BatchUpdateItem):
    idProperty = serializers.ChoiceField(choices=["email"])
    objectWriteTraceId = serializers.CharField(required=False, allow_null=True)


class BatchUpsertInput(_BatchInput):
    inputs = serializers.ListField(child=BatchUpsertItem(), allow_empty=False)


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "maxLength": MAX_FILTER_TEXT},
            {"type": "number"},
            {"type": "boolean"},
        ],
    }
)
class FilterValueField(serializers.JSONField):
    """A filter value: a string of at most MAX_FILTER_TEXT characters, a number or a boolean."""

    # Translators: DRF fills in {type}, {max} and {n}; keep them as they are.
    default_error_messages = {
        "not_scalar": _("Expected a string, number or boolean, got {type}."),
        "too_long": _("At most {max} characters are allowed; got {n}."),
    }

    def to_internal_value(self, data):
        if data is not None and not isinstance(data, str | int | float | bool):
            self.fail("not_scalar", type=type(data).__name__)
        if isinstance(data, str) and len(data) > MAX_FILTER_TEXT:
            self.fail("too_long", max=MAX_FILTER_TEXT, n=len(data))
        return super().to_internal_value(data)


class SearchFilterInput(StrictInput):
    propertyName = serializers.CharField(max_length=MAX_PROPERTY_NAME_LENGTH)
    operator = serializers.CharField(max_length=30)
    value = FilterValueField(required=False, allow_null=True)
    highValue = FilterValueField(required=False, allow_null=True)
    values = serializers.ListField(
        child=FilterValueField(), required=False, max_length=MAX_FILTER_VALUES
    )


class SearchFilterGroupInput(StrictInput):
    filters = serializers.ListField(child=SearchFilterInput(), max_length=MAX_FILTERS_PER_GROUP)


class SearchInput(StrictInput):
    filterGroups = serializers.ListField(
        child=SearchFilterGroupInput(),
        required=False,
        max_length=MAX_GROUPS,
        help_text=f"OR'd groups of AND'd filters: at most {MAX_GROUPS} groups, "
        f"{MAX_FILTERS_PER_GROUP} filters per group and {MAX_FILTERS} filters in all",
    )
    sorts = serializers.ListField(
        child=serializers.JSONField(), required=False, max_length=MAX_SORTS
    )
    query = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_QUERY,
        help_text=f"Free text of at most {MAX_QUERY} characters and {MAX_QUERY_WORDS} words",
    )
    properties = serializers.ListField(
        child=serializers.CharField(max_length=MAX_PROPERTY_NAME_LENGTH),
        required=False,
        max_length=MAX_REQUESTED_PROPERTIES,
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200)
    after = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=20)

    def validate_query(self, value):
        words = len(value.split())
        if words > MAX_QUERY_WORDS:
            raise serializers.ValidationError(
                _("At most %(max)s words are allowed; got %(n)s.")
                % {"max": MAX_QUERY_WORDS, "n": words}
            )
        return value


class PropertyOptionInput(StrictInput):
    label = serializers.CharField(max_length=200)
    value = serializers.CharField(max_length=200)
    displayOrder = serializers.IntegerField(required=False, min_value=-1, max_value=INT32_MAX)
    hidden = serializers.BooleanField(required=False, default=False)
    description = serializers.CharField(required=False, allow_blank=True)


class PropertyCreateInput(StrictInput):
    name = serializers.CharField(max_length=100)
    label = serializers.CharField(max_length=200)
    type = serializers.CharField(max_length=20)
    fieldType = serializers.CharField(max_length=30)
    groupName = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    options = serializers.ListField(child=PropertyOptionInput(), required=False, default=list)
    displayOrder = serializers.IntegerField(required=False, min_value=-1, max_value=INT32_MAX)
    hasUniqueValue = serializers.BooleanField(required=False)
    hidden = serializers.BooleanField(required=False)
    formField = serializers.BooleanField(required=False)


# --- output ---------------------------------------------------------------------------------


def returned_names(requested: Iterable[str] | None, default: Iterable[str]) -> list[str]:
    """The property names to render: the requested ones (or the defaults) and the
    always-present ones, in a stable order without duplicates."""
    names = list(requested) if requested else list(default)
    for name in ALWAYS_RETURNED:
        if name not in names:
            names.append(name)
    return list(dict.fromkeys(names))


def simple_public_object(
    contact: Contact, names: Iterable[str], specs: Mapping[str, PropertySpec], **extra
) -> dict:
    """HubSpot's `SimplePublicObject`. Unknown names are left out, as HubSpot does."""
    properties = {name: property_value(contact, specs[name]) for name in names if name in specs}
    body = {
        "id": str(contact.pk),
        "properties": properties,
        "createdAt": format_datetime(contact.created_at),
        "updatedAt": format_datetime(contact.updated_at),
        "archived": contact.archived_at is not None,
    }
    if contact.archived_at is not None:
        body["archivedAt"] = format_datetime(contact.archived_at)
    body.update(extra)
    return body


def property_output(spec: PropertySpec, definition=None) -> dict:
    """HubSpot's `Property` for a standard spec, or a custom one with its definition row."""
    options = []
    raw_options = definition.options if definition is not None else None
    if raw_options:
        for index, option in enumerate(raw_options):
            options.append(
                {
                    "label": option.get("label", ""),
                    "value": option.get("value", ""),
                    "displayOrder": option.get("displayOrder", index),
                    "hidden": bool(option.get("hidden", False)),
                }
            )
    else:
        options = [
            {"label": label, "value": value, "displayOrder": index, "hidden": False}
            for index, (value, label) in enumerate(spec.options)
        ]
    body = {
        "name": spec.name,
        "label": spec.label,
        "type": spec.type,
        "fieldType": spec.field_type,
        "groupName": spec.group_name,
        "description": spec.description,
        "options": options,
        "displayOrder": -1,
        "hidden": False,
        "formField": not spec.read_only,
        "calculated": spec.read_only,
        "externalOptions": False,
        "hasUniqueValue": spec.name in ("email", "hs_object_id"),
        "modificationMetadata": {
            "archivable": spec.custom,
            "readOnlyDefinition": not spec.custom,
            "readOnlyValue": spec.read_only,
        },
        "archived": False,
    }
    if spec.custom:
        body["hubspotDefined"] = False
    else:
        body["hubspotDefined"] = True
    if definition is not None:
        body["createdAt"] = format_datetime(definition.created_at)
        body["updatedAt"] = format_datetime(definition.updated_at)
    return body


# --- output shapes, for the OpenAPI schema only (rendering is done by the functions above) ---


class SimplePublicObjectOutput(serializers.Serializer):
    id = serializers.CharField()
    properties = serializers.DictField(child=serializers.CharField(allow_null=True))
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    archived = serializers.BooleanField()
    archivedAt = serializers.DateTimeField(required=False)


class NextPageOutput(serializers.Serializer):
    after = serializers.CharField()
    link = serializers.CharField(required=False)


class PagingOutput(serializers.Serializer):
    next = NextPageOutput()


class ContactPageOutput(serializers.Serializer):
    results = SimplePublicObjectOutput(many=True)
    paging = PagingOutput(required=False)


class SearchPageOutput(ContactPageOutput):
    total = serializers.IntegerField()


class UpsertedObjectOutput(SimplePublicObjectOutput):
    new = serializers.BooleanField()


class BatchErrorOutput(serializers.Serializer):
    status = serializers.CharField()
    category = serializers.CharField()
    message = serializers.CharField()
    context = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class BatchOutput(serializers.Serializer):
    status = serializers.CharField()
    results = SimplePublicObjectOutput(many=True)
    startedAt = serializers.DateTimeField()
    completedAt = serializers.DateTimeField()
    numErrors = serializers.IntegerField(required=False)
    errors = BatchErrorOutput(many=True, required=False)


class BatchUpsertOutput(BatchOutput):
    results = UpsertedObjectOutput(many=True)


class PropertyOptionOutput(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()
    displayOrder = serializers.IntegerField()
    hidden = serializers.BooleanField()


class PropertyOutput(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField()
    fieldType = serializers.CharField()
    groupName = serializers.CharField()
    description = serializers.CharField()
    options = PropertyOptionOutput(many=True)
    hidden = serializers.BooleanField()
    formField = serializers.BooleanField()
    calculated = serializers.BooleanField()
    externalOptions = serializers.BooleanField()
    hasUniqueValue = serializers.BooleanField()
    modificationMetadata = serializers.DictField(child=serializers.BooleanField())
    createdAt = serializers.DateTimeField(required=False)
    updatedAt = serializers.DateTimeField(required=False)


class PropertyListOutput(serializers.Serializer):
    results = PropertyOutput(many=True)
