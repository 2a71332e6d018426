"""Shapes of the HubSpot-compatible marketing events API (hubspot-api.md §1.3): input
serializers check only the shape of a body; output functions render HubSpot's read shapes.
Times are ISO-8601 on events, epoch milliseconds on participations (as HubSpot does)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.schema import NON_BLANK_TEXT
from crm.api.validation import INT64_MAX, INT64_MIN, StrictInput
from crm.hubspot.serializers import NULLABLE_SCALAR_SCHEMA
from crm.properties import format_datetime, parse_datetime_value

from ..models import MarketingEvent, Participation, ParticipationState
from ..registration_answers import details_of
from . import selectors

MAX_BATCH_INPUTS = 100
MAX_SESSION = dt.timedelta(days=31)
# The epoch milliseconds a date-time can have (years 1 to 9999).
MIN_EPOCH_MS, MAX_EPOCH_MS = -62_135_596_800_000, 253_402_300_799_999
# appInfo / appId per source: HubSpot scopes events by app; ours are the API and Zoom.
APPS = {"api": (1, "API"), "zoom": (2, "Zoom")}


@extend_schema_field(
    {
        "anyOf": [
            {"type": "number", "minimum": MIN_EPOCH_MS, "maximum": MAX_EPOCH_MS},
            {"type": "string", "format": "date-time"},
            {"type": "string", "format": "date"},
            {"type": "string", "pattern": "^-?[0-9]{1,14}$"},
        ],
        "description": "epoch milliseconds (a number or digits) or an ISO-8601 date-time",
    }
)
class TimestampField(serializers.Field):
    """Epoch milliseconds (number or string) or ISO-8601 → aware UTC datetime."""

    default_error_messages = {
        # Translators: DRF fills in {value!r} (the value given, quoted); keep it as it is.
        "invalid": _("Expected epoch milliseconds or an ISO-8601 date-time; got {value!r}.")
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid", value=data)
        if isinstance(data, float):
            if not math.isfinite(data):  # JSON's 1e400 reads as infinity
                self.fail("invalid", value=data)
            data = int(data)
        parsed = parse_datetime_value(data)
        if parsed is None:
            self.fail("invalid", value=data)
        return parsed

    def to_representation(self, value):
        return format_datetime(value)


@extend_schema_field(
    {
        "anyOf": [
            {"type": "string", "maxLength": 100, "pattern": NON_BLANK_TEXT},
            {"type": "integer", "minimum": INT64_MIN, "maximum": INT64_MAX},
        ]
    }
)
class LenientCharField(serializers.CharField):
    """A string; integers (64-bit, as the schema says) are accepted and turned into strings
    (ids often are numbers)."""

    default_error_messages = {
        "out_of_range": _("A number here is a 64-bit integer; give a larger one as a string.")
    }

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        if isinstance(data, int) and not INT64_MIN <= data <= INT64_MAX:
            self.fail("out_of_range")
        return super().to_internal_value(str(data))


@extend_schema_field(NULLABLE_SCALAR_SCHEMA)
class ScalarField(serializers.JSONField):
    """A string, number, boolean or null."""


class PropertyValueInput(StrictInput):
    """HubSpot's `PropertyValue`: only `name` and `value` are kept (the audit fields the spec
    lists are accepted and ignored)."""

    name = serializers.CharField(max_length=200)
    value = ScalarField(required=False, allow_null=True)

    def validate_value(self, value):
        if value is not None and not isinstance(value, str | int | float | bool):
            raise serializers.ValidationError(_("Expected a string, number, boolean or null."))
        if isinstance(value, float) and not math.isfinite(value):  # JSON's 1e400
            raise serializers.ValidationError(_("Expected a string, number, boolean or null."))
        if isinstance(value, str) and "\x00" in value:
            raise serializers.ValidationError(_("Null characters are not allowed."))
        return value

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        value = values.get("value")
        if isinstance(value, bool):
            value = "true" if value else "false"
        return {"name": values["name"], "value": None if value is None else str(value)}


class EventFieldsInput(StrictInput):
    """Fields shared by create and update. Absent fields stay absent (left unchanged)."""

    eventName = serializers.CharField(max_length=300, required=False)
    eventType = serializers.CharField(max_length=50, required=False, allow_blank=True)
    eventOrganizer = serializers.CharField(max_length=300, required=False, allow_blank=True)
    eventDescription = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    eventUrl = serializers.CharField(
        max_length=500, required=False, allow_blank=True, allow_null=True
    )
    startDateTime = TimestampField(required=False, allow_null=True)
    endDateTime = TimestampField(required=False, allow_null=True)
    eventCancelled = serializers.BooleanField(required=False)
    eventCompleted = serializers.BooleanField(required=False)
    customProperties = serializers.ListField(
        child=PropertyValueInput(), required=False, max_length=200
    )

    def validate(self, attrs):
        start, end = attrs.get("startDateTime"), attrs.get("endDateTime")
        if start and end and end < start:
            raise serializers.ValidationError(
                {"endDateTime": _("must not be before startDateTime.")}
            )
        return attrs


class EventCreateInput(EventFieldsInput):
    externalAccountId = LenientCharField(max_length=100)
    externalEventId = LenientCharField(max_length=100)
    eventName = serializers.CharField(max_length=300)
    eventOrganizer = serializers.CharField(max_length=300, allow_blank=True)


class EventPutInput(EventFieldsInput):
    """The body of `PUT …/events/{externalEventId}` as documented: the event id comes from the
    path (a body naming another one is refused)."""

    externalAccountId = LenientCharField(max_length=100)
    eventName = serializers.CharField(max_length=300)
    eventOrganizer = serializers.CharField(max_length=300, allow_blank=True)


class EventUpdateInput(EventFieldsInput):
    pass


class _BatchInput(StrictInput):
    max_inputs = MAX_BATCH_INPUTS  # the schema's maxItems of `inputs`

    def validate_inputs(self, value):
        if len(value) > MAX_BATCH_INPUTS:
            raise serializers.ValidationError(
                _("At most %(max)s inputs per batch; got %(n)s.")
                % {"max": MAX_BATCH_INPUTS, "n": len(value)}
            )
        return value


class EventBatchUpsertInput(_BatchInput):
    inputs = serializers.ListField(child=EventCreateInput(), allow_empty=False)

    def validate_inputs(self, value):
        value = super().validate_inputs(value)
        keys = [(i["externalAccountId"], i["externalEventId"]) for i in value]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError(_("Duplicate externalEventId in batch input."))
        return value


class ExternalIdInput(StrictInput):
    externalAccountId = LenientCharField(max_length=100)
    externalEventId = LenientCharField(max_length=100)
    appId = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=INT64_MAX
    )


class EventBatchDeleteInput(_BatchInput):
    inputs = serializers.ListField(child=ExternalIdInput(), allow_empty=False)


class CompleteInput(StrictInput):
    startDateTime = TimestampField()
    endDateTime = TimestampField()

    def validate(self, attrs):
        if attrs["endDateTime"] < attrs["startDateTime"]:
            raise serializers.ValidationError(
                {"endDateTime": _("must not be before startDateTime.")}
            )
        return attrs


class _AttendanceItem(StrictInput):
    interactionDateTime = TimestampField()
    properties = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)

    def validate(self, attrs):
        props = attrs.get("properties") or {}
        for name in ("joinedAt", "leftAt"):
            raw = props.get(name)
            if raw is None or raw == "":
                attrs[name] = None
                continue
            try:
                attrs[name] = TimestampField().to_internal_value(raw)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({f"properties.{name}": exc.detail}) from exc
        if attrs["joinedAt"] and attrs["leftAt"] and attrs["leftAt"] < attrs["joinedAt"]:
            raise serializers.ValidationError(
                {"properties.leftAt": _("must not be before joinedAt.")}
            )
        if (
            attrs["joinedAt"]
            and attrs["leftAt"]
            and attrs["leftAt"] - attrs["joinedAt"] > MAX_SESSION
        ):
            # Durations are stored in seconds in 32-bit columns; no webinar session lasts a month.
            raise serializers.ValidationError(
                {"properties.leftAt": _("a session lasts at most 31 days after joinedAt.")}
            )
        return attrs


class AttendanceEmailItem(_AttendanceItem):
    email = serializers.EmailField(max_length=254)
    contactProperties = serializers.DictField(
        child=serializers.JSONField(), required=False, default=dict
    )


class AttendanceVidItem(_AttendanceItem):
    vid = serializers.IntegerField(min_value=1, max_value=INT64_MAX)


class AttendanceEmailInput(_BatchInput):
    inputs = serializers.ListField(child=AttendanceEmailItem(), allow_empty=False)


class AttendanceVidInput(_BatchInput):
    inputs = serializers.ListField(child=AttendanceVidItem(), allow_empty=False)


# --- output ---------------------------------------------------------------------------------


def _iso(value) -> str | None:
    return format_datetime(value) if value is not None else None


def _epoch_ms(value) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def app_info(source: str) -> dict:
    app_id, name = APPS.get(source, (0, source))
    return {"id": str(app_id), "name": name}


def event_status(event: MarketingEvent) -> str:
    if event.cancelled:
        return "CANCELLED"
    if event.is_over:
        return "PAST"
    if event.starts_at is not None and event.starts_at <= timezone.now():
        return "ONGOING"
    return "UPCOMING"


def event_output(event: MarketingEvent) -> dict:
    """`MarketingEventPublicReadResponse` and `…ReadResponseV2` in one: ids, fields, counters,
    `appInfo` and `eventStatus` (clients ignore what their model does not name)."""
    c = selectors.counters(event)
    return {
        "id": str(event.pk),
        "objectId": str(event.pk),
        "externalAccountId": event.external_account_id,
        "externalEventId": event.external_event_id,
        "eventName": event.name,
        "eventType": event.event_type,
        "eventOrganizer": event.organizer,
        "eventDescription": event.description,
        "eventUrl": event.url,
        "startDateTime": _iso(event.starts_at),
        "endDateTime": _iso(event.ends_at),
        "eventCancelled": event.cancelled,
        "eventCompleted": event.completed,
        "eventStatus": event_status(event),
        "appInfo": app_info(event.source),
        "customProperties": [
            {"name": p.get("name", ""), "value": p.get("value")}
            for p in (event.custom_properties or [])
        ],
        "registrants": c["registered"],
        "attendees": c["attended"],
        "cancellations": c["cancelled"],
        "noShows": c["noShows"],
        "createdAt": _iso(event.created_at),
        "updatedAt": _iso(event.updated_at),
    }


def identifier_output(event: MarketingEvent) -> dict:
    """`SearchPublicResponseWrapper` and `MarketingEventIdentifiersResponse`."""
    return {
        "objectId": str(event.pk),
        "externalAccountId": event.external_account_id,
        "externalEventId": event.external_event_id,
        "appId": APPS.get(event.source, (0, ""))[0],
        "appInfo": app_info(event.source),
        "marketingEventName": event.name,
    }


def _occurred_at(p: Participation):
    if p.state == ParticipationState.ATTENDED:
        return p.first_join_at or p.registered_at or p.created_at
    if p.state == ParticipationState.CANCELLED:
        return p.cancelled_at or p.created_at
    return p.registered_at or p.created_at


def engagement_properties(p: Participation) -> dict:
    """Added facts (rules E7, E8): `recording` (`{"firstViewedAt", "secondsWatched"}` or null)
    and `engagement` (`{"score", "parts"}` or null). They live in the Zoom integration's
    engagement app, reached through its reverse one-to-one `engagement` (selected with the
    participation): this layer imports nothing of it."""
    try:
        engagement = p.engagement
    except (ObjectDoesNotExist, AttributeError):
        engagement = None
    if engagement is None:
        return {"recording": None, "engagement": None}
    recording = None
    if engagement.recording_seconds:
        recording = {
            "firstViewedAt": _iso(engagement.recording_first_viewed_at),
            "secondsWatched": engagement.recording_seconds,
        }
    return {
        "recording": recording,
        "engagement": {"score": engagement.score, "parts": engagement.parts},
    }


def registration_properties(p: Participation) -> dict:
    """Our added facts (rules E1, E4, E5): `answers`, `source` ({id, name} or null), `utm`
    (only the keys captured) and `referrer`; read through select_related, never a query."""
    details = details_of(p)
    if details is None:
        return {"answers": {}, "source": None, "utm": {}, "referrer": ""}
    return {
        "answers": dict(details.answers),
        "source": details.source,
        "utm": dict(details.utm),
        "referrer": details.referrer,
    }


def breakdown_output(p: Participation) -> dict:
    """`ParticipationBreakdown`; durations in seconds, the percent a one-decimal string."""
    percent = p.attendance_percent if p.attendance_percent is not None else Decimal("0")
    event, contact = p.event, p.contact
    return {
        "id": str(p.pk),
        "createdAt": _iso(p.created_at),
        "properties": {
            "attendanceState": p.display_state,
            "occurredAt": _epoch_ms(_occurred_at(p)),
            "attendanceDurationSeconds": p.duration_seconds,
            "attendancePercentage": f"{Decimal(percent):.1f}",
            **engagement_properties(p),
            **registration_properties(p),
        },
        "associations": {
            "contact": {
                "contactId": str(contact.pk),
                "email": contact.email,
                "firstname": contact.first_name,
                "lastname": contact.last_name,
            },
            "marketingEvent": {
                "marketingEventId": str(event.pk),
                "name": event.name,
                "externalAccountId": event.external_account_id,
                "externalEventId": event.external_event_id,
            },
        },
    }
