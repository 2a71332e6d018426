"""Input and output serializers of the own API. No logic here: services decide."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import CONSENT_TEXT_MAX, AuditKind, AuditVia, Role, Tier
from ..scopes import SCOPES
from .validation import StrictInput


class AccountOutput(serializers.Serializer):
    name = serializers.CharField()
    tier = serializers.ChoiceField(choices=Tier.choices)
    registration_consent_text = serializers.CharField(
        allow_blank=True,
        help_text="Not empty: the public registration pages ask for this consent (rule E5)",
    )


class AccountInput(StrictInput):
    name = serializers.CharField(required=False, max_length=200)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    registration_consent_text = serializers.CharField(
        required=False, allow_blank=True, max_length=CONSENT_TEXT_MAX
    )


class BrandOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_primary = serializers.BooleanField()


class BrandInput(StrictInput):
    name = serializers.CharField(max_length=200)
    is_primary = serializers.BooleanField(required=False, default=False)


class BrandUpdateInput(StrictInput):
    name = serializers.CharField(max_length=200, required=False)
    is_primary = serializers.BooleanField(required=False)


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)
    is_active = serializers.BooleanField()


class UserInput(StrictInput):
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, default="", max_length=150)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)
    password = serializers.CharField(required=False, allow_blank=False, write_only=True)


class UserUpdateInput(StrictInput):
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    password = serializers.CharField(required=False, write_only=True)


class TokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=sorted(SCOPES)))
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class TokenCreatedOutput(TokenOutput):
    token = serializers.CharField(help_text="The clear token, shown only once.")


class TokenInput(StrictInput):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(SCOPES)), required=False, allow_empty=False
    )


@extend_schema_field({"type": "object", "additionalProperties": {}})
class TimelineDataField(serializers.JSONField):
    """A timeline entry's facts; their keys depend on its kind (DESIGN "Timeline kinds")."""


class TimelineEventOutput(serializers.Serializer):
    kind = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    data = TimelineDataField()


@extend_schema_field({"type": "object", "additionalProperties": {}})
class AuditValuesField(serializers.JSONField):
    """Field name → value; only the fields that changed. Secrets read "(set)" or "(changed)"."""


class AuditActorOutput(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Null once the user is deleted")
    email = serializers.CharField()


class AuditTokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AuditTargetOutput(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()
    label = serializers.CharField(help_text="As it was when the change was made")


class AuditEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=AuditKind.values)
    actor = AuditActorOutput(allow_null=True, help_text="Null for the system's own changes")
    via = serializers.ChoiceField(choices=AuditVia.values)
    token = AuditTokenOutput(allow_null=True, help_text="The API token used, if any")
    target = AuditTargetOutput()
    before = AuditValuesField()
    after = AuditValuesField()
    request_id = serializers.CharField(allow_blank=True)
