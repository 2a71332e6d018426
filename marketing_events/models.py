"""Marketing events (rule M1), their occurrences (B3), contacts' participations with states and
times (M2), the raw join/leave sessions behind them, and per-occurrence attendance.

Every row has a natural key enforced by the database, so a re-run sync, a replayed webhook or a
retried API call updates rows instead of adding them."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Brand, Contact


class MarketingEvent(models.Model):
    # Who created the event: "zoom" for the integration; "api" for HubSpot-style API clients.
    source = models.CharField(max_length=30, default="api")
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="marketing_events"
    )
    external_account_id = models.CharField(max_length=100)
    external_event_id = models.CharField(max_length=100)
    name = models.CharField(_("name"), max_length=300)
    event_type = models.CharField(_("type"), max_length=50, default="WEBINAR")
    organizer = models.CharField(_("organizer"), max_length=300, blank=True)
    description = models.TextField(_("description"), blank=True)
    url = models.CharField(_("URL"), max_length=500, blank=True)
    starts_at = models.DateTimeField(_("start"), null=True, blank=True, db_index=True)
    ends_at = models.DateTimeField(_("end"), null=True, blank=True)
    cancelled = models.BooleanField(_("cancelled"), default=False)
    completed = models.BooleanField(_("completed"), default=False)
    custom_properties = models.JSONField(default=list, blank=True)
    # Counters (rule M3), recomputed from participations whenever they change.
    registered_count = models.IntegerField(default=0)
    attended_count = models.IntegerField(default=0)
    cancelled_count = models.IntegerField(default=0)
    no_show_count = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("marketing event")
        verbose_name_plural = _("marketing events")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_account_id", "external_event_id"],
                name="unique_marketing_event_external_id",
            )
        ]
        indexes = [models.Index(fields=["external_event_id"], name="event_external_id_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_over(self) -> bool:
        return self.completed or (self.ends_at is not None and self.ends_at <= timezone.now())


class EventOccurrence(models.Model):
    """One holding of an event: for Zoom, a webinar instance (its UUID) — for recurring
    webinars, one per occurrence that took place (rule B3)."""

    event = models.ForeignKey(MarketingEvent, on_delete=models.CASCADE, related_name="occurrences")
    external_id = models.CharField(max_length=200)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("occurrence")
        verbose_name_plural = _("occurrences")
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "external_id"], name="unique_occurrence_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} @ {self.starts_at}"

    @property
    def length_seconds(self) -> int:
        if self.starts_at is None or self.ends_at is None:
            return 0
        return max(0, int((self.ends_at - self.starts_at).total_seconds()))


class ParticipationState(models.TextChoices):
    REGISTERED = "REGISTERED", pgettext_lazy("participation state", "Registered")
    ATTENDED = "ATTENDED", pgettext_lazy("participation state", "Attended")
    CANCELLED = "CANCELLED", _("Cancelled")
    # Rule E7: watched the recording without registering (no registration or attendance facts).
    VIEWED_RECORDING = "VIEWED_RECORDING", _("Viewed the recording")


# "Registered" counts registered and attended (not cancelled, nor a recording viewer, E7).
REGISTERED_STATES = (ParticipationState.REGISTERED, ParticipationState.ATTENDED)


# The rows that hang on a participation (its sessions and per-occurrence attendance, its
# registration details, its engagement answers and summary) keep no database foreign key to it,
# nor (sessions, attendance) to their occurrence; the participation keeps its own to the
# contact and the event. Their writers hold the participation's row lock (read with
# `bulk.participations_fetch`, or inserted in the same transaction) or, for the engagement
# summary, a key-share lock on the event; deleting events (`services_api._delete_events`) first
# locks the events, their occurrences and participations, so no row can be added under one
# being deleted, and Django's cascade deletes the rows. The checks were 1.8 s of PostgreSQL CPU
# in a first sync of bench/sync_bench.py (334,000 rows), measured alternately with them.
class Participation(models.Model):
    """A contact's participation in an event (rule M2). `NO_SHOW` is derived when read:
    registered, never attended, event over. Durations are seconds; the event-level duration is
    the sum over occurrences of each one's merged duration, the percent their mean."""

    # Indexes: (event, contact), unique, and (contact); none on what an update changes (state,
    # times), so that attendance applied to a registration is a heap-only update (the table
    # keeps 30 % of each page free for it, migration 0003): the sync's second write of most
    # rows then adds no index entries at all.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="participations", db_index=False
    )
    event = models.ForeignKey(
        MarketingEvent, on_delete=models.CASCADE, related_name="participations", db_index=False
    )
    state = models.CharField(max_length=20, choices=ParticipationState.choices)
    registered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    first_join_at = models.DateTimeField(null=True, blank=True)
    last_leave_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.IntegerField(default=0)
    attendance_percent = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    # Duration still growing (a live webinar, rule B4); final once the webinar ended.
    provisional = models.BooleanField(default=False)
    # Read per event only (rule B1): the (event, contact) index serves it.
    external_registrant_id = models.CharField(max_length=100, blank=True)
    join_url = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=30, default="zoom")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "contact"], name="one_participation_per_contact_event"
            ),
            models.CheckConstraint(
                condition=Q(attendance_percent__isnull=True)
                | Q(attendance_percent__gte=0, attendance_percent__lte=100),
                name="attendance_percent_0_100",
            ),
        ]
        indexes = [
            models.Index(fields=["contact"], name="participation_contact_idx"),
            # Rule B1: a guest's hidden address found through their registrant id, a page's
            # ids at a time (`selectors.registrant_emails`).
            models.Index(
                fields=["event", "external_registrant_id"],
                condition=~Q(external_registrant_id=""),
                name="participation_registrant_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} @ {self.event_id}: {self.state}"

    @property
    def display_state(self) -> str:
        if self.state == ParticipationState.REGISTERED and self.event.is_over:
            return "NO_SHOW"
        return self.state


class ContactActivity(models.Model):
    """A contact's rollups (issue 21): what its participations add up to, one narrow row per
    contact that has some (none: zeros), kept by `marketing_events.activity` in the
    transaction of every write that changes them. Events registered for (and not cancelled,
    attended ones included), attended, cancelled; seconds attended in all; the first and last
    time it joined an attended event; its last registration.

    A table of its own, not columns of the contact: segments count "attended any event" from
    the small partial indexes below, and updating a rollup never touches the contact row,
    whose many indexes (a trigram one among them) would otherwise be written on every
    participation change that an index here covers."""

    contact = models.OneToOneField(
        Contact, on_delete=models.CASCADE, primary_key=True, related_name="activity"
    )
    events_registered = models.IntegerField(default=0)
    events_attended = models.IntegerField(default=0)
    events_cancelled = models.IntegerField(default=0)
    attended_seconds = models.BigIntegerField(default=0)
    first_attended_at = models.DateTimeField(null=True, blank=True)
    last_attended_at = models.DateTimeField(null=True, blank=True)
    last_registered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("contact activity")
        verbose_name_plural = _("contact activities")
        indexes = [
            # "Attended any event" (and the contacts it leaves out), read index-only.
            models.Index(
                fields=["contact"], condition=Q(events_attended__gt=0), name="activity_attended_idx"
            ),
            # "Attended for N minutes in total".
            models.Index(fields=["attended_seconds", "contact"], name="activity_seconds_idx"),
        ]
        # No index covers the registration columns (events_registered, events_cancelled,
        # last_registered_at): an update that only adds a registration, most of a first
        # sync's rollup writes, stays heap-only (no index entry written; PostgreSQL leaves
        # a fifth of each page free for it, migration 0012). "Registered for any and never
        # attended" reads the narrow table whole (45 ms on 1M contacts); a partial index for
        # it went unused (the compiled NOT (attended > 0) does not prove its attended = 0)
        # and made every such update write four index entries.

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.events_registered}/{self.events_attended}"


class OccurrenceAttendance(models.Model):
    """A participation's attendance of one occurrence: merged duration and percent of the
    occurrence's actual length (capped at 100)."""

    # (participation, occurrence) is unique, so that index serves the participation too. No
    # database constraints on either: see the note above `Participation`.
    participation = models.ForeignKey(
        Participation,
        on_delete=models.CASCADE,
        related_name="occurrence_attendances",
        db_index=False,
        db_constraint=False,
    )
    occurrence = models.ForeignKey(
        EventOccurrence, on_delete=models.CASCADE, related_name="attendances", db_constraint=False
    )
    first_join_at = models.DateTimeField()
    last_leave_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.IntegerField(default=0)
    attendance_percent = models.DecimalField(max_digits=4, decimal_places=1, default=0)

    class Meta:
        verbose_name = _("occurrence attendance")
        verbose_name_plural = _("occurrence attendances")
        constraints = [
            models.UniqueConstraint(
                fields=["participation", "occurrence"], name="one_attendance_per_occurrence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.participation_id} @ {self.occurrence_id}: {self.duration_seconds}s"


class AttendanceSession(models.Model):
    """A raw join/leave row as Zoom reported it, kept as is (rule M2). `leave_at` is empty while
    the person is still in a live webinar."""

    # No database constraints on either: see the note above `Participation`.
    participation = models.ForeignKey(
        Participation, on_delete=models.CASCADE, related_name="sessions", db_constraint=False
    )
    # The unique (occurrence, participation, …) index serves the occurrence too.
    occurrence = models.ForeignKey(
        EventOccurrence,
        on_delete=models.CASCADE,
        related_name="sessions",
        db_index=False,
        db_constraint=False,
    )
    external_participant_id = models.CharField(max_length=200, blank=True)
    join_at = models.DateTimeField()
    leave_at = models.DateTimeField(null=True, blank=True)
    name = models.CharField(max_length=300, blank=True)
    email = models.CharField(max_length=254, blank=True)

    class Meta:
        verbose_name = _("attendance session")
        verbose_name_plural = _("attendance sessions")
        ordering = ["join_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence", "participation", "external_participant_id", "join_at"],
                name="unique_attendance_session",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email or self.name}: {self.join_at} - {self.leave_at}"


from .models_registration import RegistrationDetails  # noqa: E402, F401  (registers the model)
