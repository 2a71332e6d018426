"""Input checking for the APIs: whole inputs through a serializer, and JSON types taken as
the schema states them."""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty


def valid_input(serializer_class, data):
    """The validated data of an input serializer; a DRF ValidationError (rendered as a 400
    naming the fields) otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def _json_type(field) -> tuple[tuple[type, ...], str] | None:
    """The JSON type a field's value must have, for the fields whose schema names exactly one
    (DRF would otherwise turn `0` into "0" and "yes" into true). Fields that accept several on
    purpose (ids, property values, free JSON) are left to themselves."""
    if type(field) in (
        serializers.CharField,
        serializers.EmailField,
        serializers.URLField,
        serializers.RegexField,
        serializers.SlugField,
        serializers.ChoiceField,
    ):
        return (str,), "string"
    if type(field) is serializers.BooleanField:
        return (bool,), "boolean"
    if type(field) is serializers.IntegerField:
        return (int,), "integer"
    if type(field) in (serializers.FloatField, serializers.DecimalField):
        return (int, float), "number"
    if type(field) in (serializers.ListField, serializers.ListSerializer):
        return (list,), "array"
    if isinstance(field, serializers.DictField | serializers.Serializer):
        return (Mapping,), "object"
    return None


def _wrong(value, types) -> bool:
    return not isinstance(value, types) or (isinstance(value, bool) and bool not in types)


class StrictInput(serializers.Serializer):
    """An input serializer whose fields take only values of the JSON type the OpenAPI schema
    states for them: `{"name": 0}` is a 400, not the name "0"."""

    default_error_messages = {
        "wrong_type": _("Expected a %(type)s."),
        "wrong_items": _("Expected a list of items of type %(type)s."),
        "too_many": _("At most %(max)s items are allowed; got %(n)s."),
    }

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for name, field in self.fields.items():
                if field.read_only:
                    continue
                value = data.get(field.field_name, empty)
                if value is empty or value is None:
                    continue
                expected = _json_type(field)
                if expected is None:
                    continue
                types, label = expected
                if _wrong(value, types):
                    errors[name] = [self.error_messages["wrong_type"] % {"type": label}]
                    continue
                # DRF counts a list's items only after validating every one of them: a list
                # of a million filters would be checked item by item before being refused.
                max_items = getattr(field, "max_length", None)
                if label == "array" and max_items is not None and len(value) > max_items:
                    message = self.error_messages["too_many"] % {"max": max_items, "n": len(value)}
                    errors[name] = [message]
                    continue
                child = _json_type(field.child) if type(field) is serializers.ListField else None
                if child and any(v is not None and _wrong(v, child[0]) for v in value):
                    errors[name] = [self.error_messages["wrong_items"] % {"type": child[1]}]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)
