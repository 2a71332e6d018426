"""A brand's Zoom connection (rule A2) with its settings (S1-S5), the Zoom users and webinars
cached from it (S6), and its sync runs."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.crypto import EncryptedTextField
from crm.models import Brand
from crm.stored_text import decode, render_stored


class ConnectionKind(models.TextChoices):
    S2S = "s2s", _("Server-to-Server OAuth")
    OAUTH = "oauth", _("OAuth (user-managed app)")


class ConnectionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for authorization")
    CONNECTED = "connected", _("Connected")
    NEEDS_REAUTH = "needs_reauth", _("Needs re-authorization")
    DISCONNECTED = "disconnected", _("Disconnected")


class RecordingsSync(models.TextChoices):
    NONE = "none", _("None")
    SELECTED = "selected", _("Selected users")
    ALL = "all", _("All users")


class ZoomPlan(models.TextChoices):
    """The Zoom account's plan: Zoom's per-account API rate limits depend on it (zoom-api.md §5);
    the sync's client-side limiter follows it (`sync.ratelimit`)."""

    PRO = "pro", _("Pro")
    BUSINESS = "business", _("Business or higher (Business, Education, Enterprise, Partners)")


class ZoomConnection(models.Model):
    brand = models.OneToOneField(Brand, on_delete=models.PROTECT, related_name="zoom_connection")
    kind = models.CharField(max_length=10, choices=ConnectionKind.choices)
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING
    )
    zoom_account_id = models.CharField(max_length=100, blank=True, db_index=True)
    client_id = models.CharField(max_length=200)
    client_secret = EncryptedTextField()
    access_token = EncryptedTextField(blank=True, default="")
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = EncryptedTextField(blank=True, default="")
    webhook_secret_token = EncryptedTextField(blank=True, default="")
    # The OAuth flow's anti-forgery state, while authorization is pending.
    oauth_state = models.CharField(max_length=64, blank=True, db_index=True)
    connected_user_id = models.CharField(max_length=100, blank=True)
    connected_user_email = models.CharField(max_length=254, blank=True)
    last_error = models.TextField(blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    metadata_refreshed_at = models.DateTimeField(null=True, blank=True)
    metadata_refreshing = models.BooleanField(default=False)
    # Global settings (rules S1-S5). A new connection syncs nothing until S1 is turned on.
    sync_webinar_data = models.BooleanField(_("Sync webinar data"), default=False)
    recordings_sync = models.CharField(
        _("Sync webinar recordings and transcripts"),
        max_length=10,
        choices=RecordingsSync.choices,
        default=RecordingsSync.NONE,
    )
    webinar_exclusion_domains = models.JSONField(default=list, blank=True)
    recording_exclusion_domains = models.JSONField(default=list, blank=True)
    contact_exclusion_domains = models.JSONField(default=list, blank=True)
    # Pro's limits are the safe default: they hold on every plan with webinars.
    zoom_plan = models.CharField(
        _("Zoom plan"), max_length=20, choices=ZoomPlan.choices, default=ZoomPlan.PRO
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Zoom connection")
        verbose_name_plural = _("Zoom connections")
        ordering = ["-brand__is_primary", "brand__name"]

    def __str__(self) -> str:
        return f"Zoom {self.zoom_account_id or '?'} ({self.brand})"

    @property
    def webhook_url(self) -> str:
        # The receiver's path is a public contract (DESIGN "Interfaces").
        return f"{settings.PUBLIC_BASE_URL}/integrations/zoom/webhooks/{self.pk}/"

    @property
    def is_active(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED

    @property
    def last_error_text(self) -> str:
        """`last_error` in the reader's language (a worker stores it as a message id)."""
        return render_stored(decode(self.last_error))


class ZoomUser(models.Model):
    """A Zoom user of the connected account, with its per-user settings (rule S6)."""

    connection = models.ForeignKey(
        ZoomConnection, on_delete=models.CASCADE, related_name="zoom_users"
    )
    zoom_user_id = models.CharField(max_length=100)
    email = models.CharField(max_length=254, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    user_type = models.IntegerField(default=1)
    role_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, blank=True)
    sync_new_webinars_by_default = models.BooleanField(
        _("Sync data from newly scheduled webinars by default"), default=True
    )
    sync_recordings = models.BooleanField(
        _("Sync this user's webinar recordings and transcripts"), default=False
    )
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("Zoom user")
        verbose_name_plural = _("Zoom users")
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "zoom_user_id"], name="unique_zoom_user_per_connection"
            )
        ]

    def __str__(self) -> str:
        return self.email or self.zoom_user_id

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[-1].lower() if "@" in self.email else ""


class ZoomWebinar(models.Model):
    """Webinar metadata cached from Zoom, with its per-webinar sync toggle (rule S6)."""

    connection = models.ForeignKey(
        ZoomConnection, on_delete=models.CASCADE, related_name="zoom_webinars"
    )
    zoom_webinar_id = models.BigIntegerField()
    host = models.ForeignKey(
        ZoomUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="webinars"
    )
    host_zoom_id = models.CharField(max_length=100, blank=True)
    host_email = models.CharField(max_length=254, blank=True)
    topic = models.CharField(max_length=300, blank=True)
    webinar_type = models.IntegerField(default=5)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.IntegerField(default=0)
    timezone_name = models.CharField(max_length=64, blank=True)
    join_url = models.CharField(max_length=500, blank=True)
    registration_url = models.CharField(max_length=500, blank=True)
    occurrences = models.JSONField(default=list, blank=True)
    is_zoom_events = models.BooleanField(default=False)
    # "list": seen in a host's (unexpired) webinar list; "report": found as ended in the reports.
    source = models.CharField(max_length=10, default="list")
    sync_enabled = models.BooleanField(default=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # The marketing event it syncs into (rule M1), and how far its data has been pulled.
    event = models.OneToOneField(
        "marketing_events.MarketingEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="zoom_webinar",
    )
    registrants_synced_at = models.DateTimeField(null=True, blank=True)
    participants_synced_at = models.DateTimeField(null=True, blank=True)
    # Participants Zoom's report history counted for it, the most over its instances that a
    # metadata refresh saw at once: a run's rows are claimed largest first
    # (`SyncRunWebinar.position`).
    size_hint = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("Zoom webinar")
        verbose_name_plural = _("Zoom webinars")
        ordering = ["-start_time", "zoom_webinar_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "zoom_webinar_id"], name="unique_zoom_webinar_per_connection"
            )
        ]
        indexes = [models.Index(fields=["connection", "host"], name="zoom_webinar_host_idx")]

    def __str__(self) -> str:
        return f"{self.topic} ({self.zoom_webinar_id})"

    @property
    def has_ended(self) -> bool:
        return self.end_time is not None and self.end_time <= timezone.now()


class SyncStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


ACTIVE_SYNC_STATUSES = (SyncStatus.QUEUED, SyncStatus.RUNNING)


class SyncTrigger(models.TextChoices):
    MANUAL = "manual", _("Sync now")
    API = "api", _("API")
    SCHEDULED = "scheduled", _("Scheduled")
    CONNECT = "connect", _("Connection made")


class SyncRun(models.Model):
    """One sync of a connection: what it did, how far it got, what it skipped and why."""

    connection = models.ForeignKey(
        ZoomConnection, on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(max_length=20, choices=SyncTrigger.choices)
    status = models.CharField(max_length=20, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    progress_done = models.IntegerField(default=0)
    progress_total = models.IntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    skips = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Liveness of the run's start (metadata refresh, planning its rows): a run whose worker
    # died before its rows were planned is started again. Its webinars' liveness is on their
    # rows (`SyncRunWebinar.heartbeat_at`).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Only one run per connection at a time.
            models.UniqueConstraint(
                fields=["connection"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_sync_run_per_connection",
            ),
        ]

    def __str__(self) -> str:
        return f"Sync {self.pk} of {self.connection_id} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status in (SyncStatus.SUCCEEDED, SyncStatus.SKIPPED):
            return 100
        if not self.progress_total:
            return 0
        return min(100, int(self.progress_done * 100 / self.progress_total))


class WebinarSyncState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


# A webinar row in one of these is finished: the run ends when all of its rows are.
FINAL_WEBINAR_STATES = (
    WebinarSyncState.DONE,
    WebinarSyncState.SKIPPED,
    WebinarSyncState.FAILED,
    WebinarSyncState.CANCELLED,
)


class SyncRunWebinar(models.Model):
    """A webinar in a run's plan of work: claimed by a worker task, synced page by page, and
    counted here (zoom_integration/services/sync_webinars.py). The run's progress and counts
    are sums over its rows."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="webinar_rows")
    webinar = models.ForeignKey(ZoomWebinar, on_delete=models.CASCADE, related_name="+")
    # Claim order within the run: the largest webinars first (`ZoomWebinar.size_hint`), so
    # that none is left for the end to be synced alone while the other workers sit idle.
    position = models.PositiveIntegerField(default=0)
    state = models.CharField(
        max_length=20, choices=WebinarSyncState.choices, default=WebinarSyncState.PENDING
    )
    pages_done = models.IntegerField(default=0)
    records_done = models.IntegerField(default=0)
    # As Zoom counts its listings (`total_records`), known once their first pages came.
    records_total = models.IntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    # A stored text (crm.stored_text), with the failure's cause and Zoom's own words (alerts).
    error = models.JSONField(null=True, blank=True)
    error_cause = models.CharField(max_length=20, blank=True)
    error_detail = models.CharField(max_length=500, blank=True)
    attempts = models.IntegerField(default=0)
    # Who holds the row (a task's id): writes of a worker that lost its claim are refused.
    claimed_by = models.CharField(max_length=64, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sync run webinar")
        verbose_name_plural = _("sync run webinars")
        ordering = ["run", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "webinar"], name="one_row_per_run_webinar")
        ]
        indexes = [
            models.Index(fields=["run", "state", "position"], name="sync_row_claim_idx"),
            # The reclaim sweep: rows being synced, by heartbeat.
            models.Index(
                fields=["heartbeat_at"],
                condition=Q(state="running"),
                name="sync_row_running_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Run {self.run_id}, webinar {self.webinar_id} ({self.state})"


class SyncSkip(models.Model):
    """Someone (or a whole webinar) a run did not sync, and why (rule Z9)."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="skipped")
    reason = models.CharField(max_length=40)
    email = models.CharField(max_length=254, blank=True)
    name = models.CharField(max_length=300, blank=True)
    webinar_id = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("skipped record")
        verbose_name_plural = _("skipped records")
        ordering = ["reason", "email", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "reason", "email", "name", "webinar_id"], name="one_skip_per_person"
            )
        ]
        indexes = [models.Index(fields=["run", "reason"], name="sync_skip_run_reason_idx")]

    def __str__(self) -> str:
        return f"{self.reason}: {self.email or self.name} ({self.webinar_id})"


class ZoomRecording(models.Model):
    """A webinar instance's cloud recording (and transcript), synced per rules S2 and S4."""

    webinar = models.ForeignKey(ZoomWebinar, on_delete=models.CASCADE, related_name="recordings")
    instance_uuid = models.CharField(max_length=200)
    topic = models.CharField(max_length=300, blank=True)
    start_time = models.DateTimeField(null=True, blank=True)
    share_url = models.CharField(max_length=500, blank=True)
    has_transcript = models.BooleanField(default=False)
    files = models.JSONField(default=list, blank=True)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("Zoom recording")
        verbose_name_plural = _("Zoom recordings")
        ordering = ["-start_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["webinar", "instance_uuid"], name="one_recording_per_instance"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} ({self.instance_uuid})"


class DeliveryStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    APPLIED = "applied", _("Applied")
    IGNORED = "ignored", _("Ignored")
    WAITING = "waiting", _("Waiting for an earlier event")
    FAILED = "failed", _("Failed")


class WebhookDelivery(models.Model):
    """One accepted webhook delivery, stored before it is applied. Unique by a key derived
    from the raw body, so a replay (Zoom retrying, an attacker re-posting) changes nothing."""

    connection = models.ForeignKey(
        ZoomConnection, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    delivery_key = models.CharField(max_length=64)
    event = models.CharField(max_length=80)
    event_ts = models.BigIntegerField(default=0)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.RECEIVED
    )
    outcome = models.CharField(max_length=300, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "delivery_key"], name="unique_webhook_delivery"
            )
        ]
        indexes = [
            models.Index(fields=["connection", "-received_at"], name="webhook_connection_idx"),
            models.Index(fields=["connection", "status"], name="webhook_status_idx"),
            # The few deliveries still open, whatever the size of the table: /metrics counts
            # them at every scrape, and the beat's drain looks for stale ones.
            models.Index(
                fields=["status", "received_at"],
                condition=Q(status__in=["received", "waiting"]),
                name="webhook_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} ({self.status})"


from .models_registration import (  # noqa: E402, F401  (registers the models)
    MappingApplyRun,
    QuestionMapping,
    WebinarRegistrationInfo,
)
