"""Output shapes of the own API's marketing-event reads. A participation carries the facts the
HubSpot-compatible breakdown rows carry, under the same names (DESIGN "Engagement and
attribution": `answers`, `source`, `utm`, `referrer`, `recording`, `engagement`), read through
the participation's `select_related` relations: no query per row."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..hubspot.selectors import BREAKDOWN_STATES
from ..hubspot.serializers import engagement_properties, registration_properties

PARTS = ("attendance", "questions", "polls", "survey", "recording")
ANSWERS_SCHEMA = {
    "type": "object",
    "description": "{question: answer}: Zoom's field name or the custom question's title; "
    "a multi-choice answer is a list",
    "additionalProperties": {
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]
    },
}
SOURCE_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "The Zoom tracking source registered through (rule E4), or null",
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
    "required": ["id", "name"],
}
UTM_SCHEMA = {
    "type": "object",
    "description": "utm_source, utm_medium, …: only the keys captured (rule E5)",
    "additionalProperties": {"type": "string"},
}
RECORDING_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "The recording watched (rule E7), or null",
    "properties": {
        "firstViewedAt": {"type": "string", "format": "date-time"},
        "secondsWatched": {"type": "integer", "minimum": 0},
    },
    "required": ["firstViewedAt", "secondsWatched"],
}
ENGAGEMENT_SCHEMA = {
    "type": "object",
    "nullable": True,
    "description": "The engagement score 0-100 and its parts in points, which add up to it "
    "(rule E8); null until it is computed",
    "properties": {
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "parts": {
            "type": "object",
            "properties": {p: {"type": "integer", "minimum": 0, "maximum": 100} for p in PARTS},
            "required": list(PARTS),
        },
    },
    "required": ["score", "parts"],
}


class ParticipationContactOutput(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    firstname = serializers.CharField(source="first_name")
    lastname = serializers.CharField(source="last_name")


class ParticipationOutput(serializers.Serializer):
    """One contact's participation in the event (rules M2, E1, E4, E5, E7, E8). `state` is as
    displayed: NO_SHOW once the event is over for who registered and never attended."""

    id = serializers.IntegerField()
    contact = ParticipationContactOutput()
    state = serializers.ChoiceField(choices=BREAKDOWN_STATES, source="display_state")
    registered_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    first_join_at = serializers.DateTimeField(allow_null=True)
    last_leave_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.IntegerField(min_value=0)
    attendance_percent = serializers.DecimalField(
        max_digits=4, decimal_places=1, allow_null=True, coerce_to_string=True
    )
    provisional = serializers.BooleanField(help_text="The duration still grows (a live webinar)")
    answers = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()
    utm = serializers.SerializerMethodField()
    referrer = serializers.SerializerMethodField()
    recording = serializers.SerializerMethodField()
    engagement = serializers.SerializerMethodField()

    def _registration(self, participation) -> dict:
        return registration_properties(participation)

    @extend_schema_field(ANSWERS_SCHEMA)
    def get_answers(self, participation) -> dict:
        return self._registration(participation)["answers"]

    @extend_schema_field(SOURCE_SCHEMA)
    def get_source(self, participation) -> dict | None:
        return self._registration(participation)["source"]

    @extend_schema_field(UTM_SCHEMA)
    def get_utm(self, participation) -> dict:
        return self._registration(participation)["utm"]

    @extend_schema_field({"type": "string", "description": "The Referer of the registration"})
    def get_referrer(self, participation) -> str:
        return self._registration(participation)["referrer"]

    @extend_schema_field(RECORDING_SCHEMA)
    def get_recording(self, participation) -> dict | None:
        return engagement_properties(participation)["recording"]

    @extend_schema_field(ENGAGEMENT_SCHEMA)
    def get_engagement(self, participation) -> dict | None:
        return engagement_properties(participation)["engagement"]
