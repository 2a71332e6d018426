"""Timeline kinds: what each kind of entry is called and what activity it records, filled by
the apps that write them (crm's own here; marketing events' and Zoom's in their
`AppConfig.ready()`), so that the contact page and the event templates name no app's kinds.

    timeline_kind_register("zoom_webinar_attended", label=_("Attended a Zoom webinar"),
                           activity=ATTENDED)
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

# What a participation entry records; the event templates write a sentence per activity.
REGISTERED, ATTENDED, CANCELLED, RECORDING = "registered", "attended", "cancelled", "recording"


@dataclass(frozen=True)
class TimelineKind:
    kind: str
    label: str | Promise
    # One of the activities above for a participation's entries; "" for other entries.
    activity: str = ""


_KINDS: dict[str, TimelineKind] = {}


def timeline_kind_register(kind: str, *, label: str | Promise, activity: str = "") -> None:
    _KINDS[kind] = TimelineKind(kind=kind, label=label, activity=activity)


def timeline_kind(kind: str) -> TimelineKind | None:
    return _KINDS.get(kind)


def timeline_label(kind: str) -> str:
    """The kind's name in the active language; an unknown kind in readable words."""
    found = _KINDS.get(kind)
    return str(found.label) if found else kind.replace("_", " ").capitalize()


def register_participation_kinds(prefix: str, labels: dict[str, str | Promise]) -> None:
    """`<prefix>_registered`, `_attended`, `_cancelled` (the entries `plan_apply` writes for
    its `timeline_kind`), labelled by activity."""
    for activity in (REGISTERED, ATTENDED, CANCELLED):
        timeline_kind_register(f"{prefix}_{activity}", label=labels[activity], activity=activity)


timeline_kind_register("contact_created", label=_("Contact created"))
timeline_kind_register("contact_deleted", label=_("Contact deleted"))
timeline_kind_register("contact_restored", label=_("Contact restored"))

__all__ = [
    "ATTENDED",
    "CANCELLED",
    "RECORDING",
    "REGISTERED",
    "TimelineKind",
    "register_participation_kinds",
    "timeline_kind",
    "timeline_kind_register",
    "timeline_label",
]
