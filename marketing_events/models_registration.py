"""What a registration said and where it came from (rules E1, E4, E5), beside its participation.

A table of its own, not columns on `Participation`: the participation rows stay narrow (the sync
updates most of them twice, as heap-only updates) and only registrations that answered anything,
came through a tracking source or carried UTM parameters have a row here.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import MarketingEvent, Participation

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class RegistrationDetails(models.Model):
    """`answers` is `{question: value}` (question = Zoom's field name, or the custom question's
    title, rule E1); `source_id`/`source_name` the Zoom tracking source (E4); `utm` holds only
    the UTM keys that were captured, `referrer` the page's `Referer` (E5)."""

    # No database constraint: see the note above
    # `marketing_events.models.Participation`.
    participation = models.OneToOneField(
        Participation,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="registration",
        db_constraint=False,
    )
    # Denormalised from the participation: per-event reads (the event page's chart, filters
    # with an event) use this index without a join. No constraint of its own: the
    # participation's holds it (a database check per row written costs more than the rest).
    event = models.ForeignKey(
        MarketingEvent,
        on_delete=models.CASCADE,
        related_name="registration_details",
        db_constraint=False,
    )
    answers = models.JSONField(default=dict, blank=True)
    source_id = models.CharField(max_length=100, blank=True)
    source_name = models.CharField(max_length=200, blank=True)
    utm = models.JSONField(default=dict, blank=True)
    referrer = models.CharField(max_length=1000, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("registration details")
        verbose_name_plural = _("registration details")

    def __str__(self) -> str:
        return f"{self.participation_id}: {len(self.answers)} answers"

    @property
    def source(self) -> dict[str, str] | None:
        if not self.source_id:
            return None
        return {"id": self.source_id, "name": self.source_name}
