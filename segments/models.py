"""Segments (rule G1): a name and a filter tree (Filter JSON). Active segments are evaluated
when read; static ones hold their members, starting as the snapshot of their filters and then
changed by hand."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import Contact

EMPTY_TREE = {"or": []}


def empty_tree() -> dict:
    return {"or": []}


class SegmentKind(models.TextChoices):
    ACTIVE = "active", _("Active")
    STATIC = "static", _("Static")


class Segment(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=SegmentKind.choices, default=SegmentKind.ACTIVE
    )
    filters = models.JSONField(_("filters"), default=empty_tree, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_static(self) -> bool:
        return self.kind == SegmentKind.STATIC


class SegmentMember(models.Model):
    """A member of a static segment."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="segment_members")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "contact"], name="one_membership_per_contact"
            )
        ]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.contact_id}"
