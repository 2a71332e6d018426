"""Registration questions, tracking sources and question → property mappings (rules E1-E4)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ZoomConnection, ZoomWebinar


class MappingPolicy(models.TextChoices):
    FILL_EMPTY = "fill_empty", _("Fill empty values only")
    OVERWRITE = "overwrite", _("Overwrite (latest registration wins)")


class QuestionMapping(models.Model):
    """A registration question → contact property (rule E2): a connection's default when
    `webinar` is empty, else that webinar's override of its question."""

    connection = models.ForeignKey(
        ZoomConnection, on_delete=models.CASCADE, related_name="question_mappings"
    )
    webinar = models.ForeignKey(
        ZoomWebinar,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="question_mappings",
    )
    question = models.CharField(max_length=300)
    # A property's internal name; empty: the question is not mapped (an override that turns a
    # default off).
    property = models.CharField(max_length=100, blank=True)
    policy = models.CharField(
        max_length=20, choices=MappingPolicy.choices, default=MappingPolicy.FILL_EMPTY
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("question mapping")
        verbose_name_plural = _("question mappings")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "question"],
                condition=Q(webinar__isnull=True),
                name="one_default_mapping_per_question",
            ),
            models.UniqueConstraint(
                fields=["webinar", "question"],
                condition=Q(webinar__isnull=False),
                name="one_override_per_webinar_question",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question} → {self.property or '∅'} ({self.policy})"


class WebinarRegistrationInfo(models.Model):
    """A webinar's registration questions and tracking sources as Zoom last gave them (stored
    so that pages, pickers and filters read them without calling Zoom)."""

    webinar = models.OneToOneField(
        ZoomWebinar, on_delete=models.CASCADE, primary_key=True, related_name="registration_info"
    )
    # [{"question", "type", "required", "answers"}]: standard fields by Zoom's field name.
    questions = models.JSONField(default=list, blank=True)
    # [{"id", "name", "url", "visitor_count", "registration_count"}]
    tracking_sources = models.JSONField(default=list, blank=True)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("webinar registration form")
        verbose_name_plural = _("webinar registration forms")

    def __str__(self) -> str:
        return f"{self.webinar_id}: {len(self.questions)} questions"


class MappingApplyRun(models.Model):
    """Applying the mappings to past answers, in the background, with its progress (rule E2)."""

    connection = models.ForeignKey(
        ZoomConnection, on_delete=models.CASCADE, related_name="mapping_apply_runs"
    )
    webinar = models.ForeignKey(ZoomWebinar, null=True, blank=True, on_delete=models.CASCADE)
    status = models.CharField(max_length=20, default="queued")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    written = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("mapping application")
        verbose_name_plural = _("mapping applications")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.pk}: {self.status} {self.done}/{self.total}"
