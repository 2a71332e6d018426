"""Engagement facts, in tables of their own keyed to participations and occurrences (rules
E6-E8). Every table has a natural key or is replaced as a whole per (occurrence, report), so a
re-run, a retry or a crash never duplicates a row."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from marketing_events.models import EventOccurrence, MarketingEvent, Participation

from .kinds import ANSWER_KINDS

DEFAULT_WEIGHTS = {"attendance": 50, "questions": 15, "polls": 15, "survey": 10, "recording": 10}


class EngagementReport(models.Model):
    """What was last pulled of one report of one occurrence (`polls`, `qa`, `survey`, or the
    recording's `views`): its digest, so an unchanged report writes nothing."""

    occurrence = models.ForeignKey(
        EventOccurrence, on_delete=models.CASCADE, related_name="engagement_reports"
    )
    kind = models.CharField(max_length=20)
    digest = models.CharField(max_length=64, blank=True)
    rows = models.IntegerField(default=0)
    # Rule E6: anonymous answers are counted here and attached to no one.
    anonymous_count = models.IntegerField(default=0)
    pulled_at = models.DateTimeField(default=timezone.now)
    # Recording views: the last day fully read (the next pull starts a few days before it).
    read_until = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("engagement report")
        verbose_name_plural = _("engagement reports")
        constraints = [
            models.UniqueConstraint(
                fields=["occurrence", "kind"], name="one_engagement_report_per_occurrence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.occurrence_id} {self.kind}"


class EngagementAnswer(models.Model):
    """One answer of a poll or survey question, or one question asked in the Q&A (with its
    status and answers), of one occurrence. `participation` is empty for anonymous rows."""

    # The occurrence's event, copied for per-event reads; the occurrence's constraint holds
    # it (a database check per answer written costs more than the rest).
    event = models.ForeignKey(
        MarketingEvent,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    occurrence = models.ForeignKey(
        EventOccurrence, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # No database constraint: see the note above
    # `marketing_events.models.Participation` (the
    # occurrence's, kept, also holds the anonymous rows).
    participation = models.ForeignKey(
        Participation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="engagement_answers",
        db_index=False,
        db_constraint=False,
    )
    kind = models.CharField(max_length=10, choices=[(k, k) for k in ANSWER_KINDS])
    question_id = models.CharField(max_length=200, blank=True)
    question = models.TextField()
    answer = models.TextField(blank=True)
    # Q&A only: Zoom's question_status, and who answered.
    status = models.CharField(max_length=20, blank=True)
    answered_by = models.CharField(max_length=300, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("engagement answer")
        verbose_name_plural = _("engagement answers")
        indexes = [
            models.Index(fields=["occurrence", "kind"], name="engagement_answer_occ_idx"),
            models.Index(fields=["event", "kind"], name="engagement_answer_event_idx"),
            models.Index(fields=["participation", "kind"], name="engagement_answer_part_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.question} → {self.answer}"


class RecordingView(models.Model):
    """One view of a recording as Zoom's analytics reported it (rule E7)."""

    occurrence = models.ForeignKey(
        EventOccurrence, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    participation = models.ForeignKey(
        Participation, on_delete=models.CASCADE, related_name="recording_views", db_index=False
    )
    viewed_at = models.DateTimeField()
    seconds = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("recording view")
        verbose_name_plural = _("recording views")
        constraints = [
            models.UniqueConstraint(
                fields=["participation", "occurrence", "viewed_at"], name="unique_recording_view"
            )
        ]
        indexes = [models.Index(fields=["occurrence"], name="recording_view_occ_idx")]

    def __str__(self) -> str:
        return f"{self.participation_id} @ {self.viewed_at}: {self.seconds}s"


class ParticipationEngagement(models.Model):
    """A participation's engagement facts summed up, and its score with its parts (rule E8).
    Recomputed from the facts, never incremented."""

    # No database constraint: see the note above
    # `marketing_events.models.Participation`.
    participation = models.OneToOneField(
        Participation,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="engagement",
        db_constraint=False,
    )
    # Denormalised for the filters (EXISTS on the contact) and the contact property; the
    # event too, its constraint held by the participation's.
    contact_id = models.BigIntegerField(db_index=True)
    event = models.ForeignKey(
        MarketingEvent,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    polls_answered = models.IntegerField(default=0)
    questions_asked = models.IntegerField(default=0)
    survey_answered = models.BooleanField(default=False)
    recording_first_viewed_at = models.DateTimeField(null=True, blank=True)
    recording_seconds = models.IntegerField(default=0)
    score = models.SmallIntegerField(default=0)
    parts = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("participation engagement")
        verbose_name_plural = _("participation engagements")
        indexes = [
            models.Index(fields=["event", "score"], name="engagement_event_score_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.participation_id}: {self.score}"


class EngagementPendingContact(models.Model):
    """A contact whose `zoom_engagement_score` waits to be recomputed (rule E8): marked with
    the engagement rows whose score changed, once per contact whatever their number, and
    removed when `services.contacts_engagement_flush` recomputes it. No foreign key: a deleted
    contact's mark recomputes nothing."""

    contact_id = models.BigIntegerField(primary_key=True)

    class Meta:
        verbose_name = _("contact pending an engagement score")
        verbose_name_plural = _("contacts pending an engagement score")

    def __str__(self) -> str:
        return str(self.contact_id)


class EngagementSettings(models.Model):
    """The account's score weights (one row), and the progress of their last recompute."""

    weights = models.JSONField(default=dict)
    recompute_status = models.CharField(max_length=20, default="idle")
    recompute_total = models.IntegerField(default=0)
    recompute_done = models.IntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("engagement settings")
        verbose_name_plural = _("engagement settings")

    def __str__(self) -> str:
        return str(self.weights)
