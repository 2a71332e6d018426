from django.utils import translation
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.validation import INT64_MAX, StrictInput
from crm.stored_text import decode, render_english
from marketing_events.rules import SkipReason

from ..models import (
    ConnectionKind,
    ConnectionStatus,
    RecordingsSync,
    SyncStatus,
    SyncTrigger,
    ZoomPlan,
)


class ConnectedUserOutput(serializers.Serializer):
    id = serializers.CharField(source="connected_user_id")
    email = serializers.CharField(source="connected_user_email")


class ConnectionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    brand = serializers.IntegerField(source="brand_id")
    brand_name = serializers.CharField(source="brand.name")
    is_primary_brand = serializers.BooleanField(source="brand.is_primary")
    kind = serializers.ChoiceField(choices=ConnectionKind.choices)
    zoom_account_id = serializers.CharField()
    connected_user = ConnectedUserOutput(source="*")
    status = serializers.ChoiceField(choices=ConnectionStatus.choices)
    webhook_url = serializers.CharField()
    last_error = serializers.SerializerMethodField()
    metadata_refreshed_at = serializers.DateTimeField(allow_null=True)

    def get_last_error(self, connection) -> str:
        return render_english(decode(connection.last_error))  # rule L2


# Zoom's ids and secrets: printable ASCII, no spaces (padding spaces are trimmed).
CREDENTIAL_PATTERN = r"^\s*[\x21-\x7e]+\s*$"


class S2SConnectionInput(StrictInput):
    brand = serializers.IntegerField(min_value=1, max_value=INT64_MAX)
    kind = serializers.ChoiceField(choices=["s2s"])
    account_id = serializers.RegexField(CREDENTIAL_PATTERN, max_length=100)
    client_id = serializers.RegexField(CREDENTIAL_PATTERN, max_length=200)
    client_secret = serializers.RegexField(CREDENTIAL_PATTERN, max_length=500)
    webhook_secret_token = serializers.CharField(
        max_length=500, required=False, default="", allow_blank=True
    )


class OAuthStartInput(StrictInput):
    brand = serializers.IntegerField(min_value=1, max_value=INT64_MAX)
    client_id = serializers.RegexField(CREDENTIAL_PATTERN, max_length=200)
    client_secret = serializers.RegexField(CREDENTIAL_PATTERN, max_length=500)
    webhook_secret_token = serializers.CharField(
        max_length=500, required=False, default="", allow_blank=True
    )


class OAuthStartOutput(serializers.Serializer):
    authorize_url = serializers.CharField()
    connection = ConnectionOutput()


class SettingsOutput(serializers.Serializer):
    sync_webinar_data = serializers.BooleanField()
    recordings_sync = serializers.ChoiceField(choices=RecordingsSync.choices)
    zoom_plan = serializers.ChoiceField(choices=ZoomPlan.choices)
    webinar_exclusion_domains = serializers.ListField(child=serializers.CharField())
    recording_exclusion_domains = serializers.ListField(child=serializers.CharField())
    contact_exclusion_domains = serializers.ListField(child=serializers.CharField())


class SettingsInput(StrictInput):
    """Shapes only; the service validates values (domains per rule S7)."""

    sync_webinar_data = serializers.BooleanField(required=False)
    recordings_sync = serializers.CharField(required=False)
    zoom_plan = serializers.CharField(required=False)
    webinar_exclusion_domains = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False
    )
    recording_exclusion_domains = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False
    )
    contact_exclusion_domains = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False
    )


class ZoomUserOutput(serializers.Serializer):
    zoom_user_id = serializers.CharField()
    email = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    status = serializers.CharField()
    sync_new_webinars_by_default = serializers.BooleanField()
    sync_recordings = serializers.BooleanField()


class ZoomUserInput(StrictInput):
    sync_new_webinars_by_default = serializers.BooleanField(required=False)
    sync_recordings = serializers.BooleanField(required=False)


class ZoomWebinarOutput(serializers.Serializer):
    zoom_webinar_id = serializers.CharField()
    topic = serializers.CharField()
    host_id = serializers.CharField(source="host_zoom_id")
    host_email = serializers.CharField()
    type = serializers.IntegerField(source="webinar_type")
    start_time = serializers.DateTimeField(allow_null=True)
    end_time = serializers.DateTimeField(allow_null=True)
    has_ended = serializers.BooleanField()
    sync_enabled = serializers.BooleanField()


class WebinarTrackingSourceOutput(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    visitor_count = serializers.IntegerField(min_value=0)
    registration_count = serializers.IntegerField(min_value=0)


class ZoomWebinarDetailOutput(ZoomWebinarOutput):
    """One webinar, with its Zoom tracking sources as the last sync stored them (rule E4)."""

    tracking_sources = serializers.SerializerMethodField()

    @extend_schema_field(WebinarTrackingSourceOutput(many=True))
    def get_tracking_sources(self, webinar) -> list:
        info = getattr(webinar, "registration_info", None)
        return WebinarTrackingSourceOutput(info.tracking_sources if info else [], many=True).data


class ZoomWebinarInput(StrictInput):
    sync_enabled = serializers.BooleanField()


class SyncRequestedOutput(serializers.Serializer):
    """The answer to a sync request (202): the run it queued, to follow at
    `/api/v1/zoom/sync-runs/{id}/`."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=SyncStatus.choices)


class SyncProgressOutput(serializers.Serializer):
    done = serializers.IntegerField(min_value=0, help_text="The work done so far")
    total = serializers.IntegerField(min_value=0, help_text="The work found so far")


@extend_schema_field(
    {
        "type": "object",
        "description": "What the run did, by name (e.g. `zoom_users`, `webinars`, "
        "`new_webinars`, `webinars_synced`, `webinars_skipped`, `registrations`, "
        "`attendance_rows`, `zoom_records`, `contacts_created`, `recordings`)",
        "additionalProperties": {"type": "integer", "minimum": 0},
    }
)
class SyncCountsField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "type": "object",
        "description": "How many were skipped, by reason (rule Z9; each listed at "
        "`/api/v1/zoom/sync-runs/{id}/skips/`)",
        "properties": {reason.value: {"type": "integer", "minimum": 0} for reason in SkipReason},
        "additionalProperties": False,
    }
)
class SyncSkipsField(serializers.JSONField):
    pass


@extend_schema_field(
    {
        "type": "array",
        "description": "Why the run failed or was skipped: `sync_disabled`, `disconnected`, "
        "or a message with a fix hint",
        "items": {"type": "string"},
    }
)
class SyncErrorsField(serializers.JSONField):
    """Codes as recorded, sentences in English (rule L2): the run stores its sentences as
    message ids with parameters, so that each page reader gets them in their language."""

    def to_representation(self, value):
        return [render_english(error) for error in value or []]


class SyncRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    connection = serializers.IntegerField(source="connection_id")
    trigger = serializers.ChoiceField(choices=SyncTrigger.choices)
    status = serializers.ChoiceField(choices=SyncStatus.choices)
    progress = serializers.SerializerMethodField()
    counts = SyncCountsField()
    skips = SyncSkipsField()
    errors = SyncErrorsField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    @extend_schema_field(SyncProgressOutput)
    def get_progress(self, run) -> dict:
        return {"done": run.progress_done, "total": run.progress_total}


SKIP_REASONS = [(reason.value, reason.value) for reason in SkipReason]


class SyncSkipOutput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=SKIP_REASONS)
    email = serializers.CharField()
    name = serializers.CharField()
    webinar_id = serializers.CharField()
    hint = serializers.SerializerMethodField()

    def get_hint(self, skip) -> str:
        from marketing_events.rules import FIX_HINTS

        # Part of the payload: English whatever the request's language (rule L2).
        with translation.override("en"):
            return str(FIX_HINTS.get(skip.reason, ""))
