"""Legacy Zoom contact properties P1-P4, computed from activity before
`ZOOM_LEGACY_PROPERTIES_CUTOFF` (rule P5); an empty cutoff keeps them live (rule B9)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop

from crm.db import bulk_update_values
from crm.models import PropertyType
from crm.properties import PropertySpec

P1 = "zoom_average_webinar_attendance_percent"
P2 = "zoom_last_registered_webinar_url"
P3 = "zoom_webinar_registration_count"
P4 = "zoom_webinar_attendance_count"

LEGACY_PROPERTIES = [
    PropertySpec(
        P1,
        gettext_noop("Average Zoom webinar attendance percent"),
        PropertyType.NUMBER,
        "number",
        None,
        read_only=True,
        group_name="zoom_legacy",
    ),
    PropertySpec(
        P2,
        gettext_noop("Last registered Zoom webinar"),
        PropertyType.STRING,
        "text",
        None,
        read_only=True,
        group_name="zoom_legacy",
    ),
    PropertySpec(
        P3,
        gettext_noop("Total Zoom webinar registrations"),
        PropertyType.NUMBER,
        "number",
        None,
        read_only=True,
        group_name="zoom_legacy",
    ),
    PropertySpec(
        P4,
        gettext_noop("Total Zoom webinars attended"),
        PropertyType.NUMBER,
        "number",
        None,
        read_only=True,
        group_name="zoom_legacy",
    ),
]


def legacy_cutoff() -> dt.datetime | None:
    raw = (settings.ZOOM_LEGACY_PROPERTIES_CUTOFF or "").strip()
    if not raw:
        return None
    parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Activity:
    """One participation of a contact in a Zoom webinar."""

    webinar_id: str
    url: str
    registered_at: dt.datetime | None
    first_join_at: dt.datetime | None
    percent: Decimal | None


def legacy_values(activities: Iterable[Activity], cutoff: dt.datetime | None) -> dict[str, str]:
    """P1 mean over webinars of the event-level percent; P2 URL of the most recent
    registration; P3 webinars registered for; P4 distinct webinar ids attended (occurrences of
    one recurring webinar count once). Only activity before the cutoff counts."""

    def before(moment):
        return moment is not None and (cutoff is None or moment < cutoff)

    registered = [a for a in activities if before(a.registered_at)]
    attended = {}
    for activity in activities:
        if before(activity.first_join_at):
            attended[activity.webinar_id] = activity.percent or Decimal(0)
    values: dict[str, str] = {}
    if attended:
        mean = sum(attended.values()) / len(attended)
        values[P1] = str(Decimal(mean).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
        values[P4] = str(len(attended))
    if registered:
        values[P2] = max(registered, key=lambda a: a.registered_at).url
        values[P3] = str(len({a.webinar_id for a in registered}))
    return values


def legacy_affected(plan) -> bool:
    """Whether a plan can change P1-P4: only activity before the cutoff counts (rule P5), so a
    page of later activity leaves them as they are."""
    cutoff = legacy_cutoff()
    if cutoff is None:
        return True
    moments = [r.registered_at for r in plan.registrations]
    moments += [s.join_at for s in plan.sessions]
    return any(moment is not None and moment < cutoff for moment in moments)


@transaction.atomic(savepoint=False)  # within a caller's transaction: theirs
def contacts_recompute_legacy(contact_ids: Iterable[int]) -> None:
    """Recomputes P1-P4 for these contacts: three queries whatever their number.

    The properties summarize a contact's participations in every event, which other
    transactions (another webinar's page, a webhook) may be writing at the same time: the
    contacts are locked first, in id order, so the participations are read once the others
    committed and no update of the properties is lost. `no_key`: foreign-key checks of rows
    referencing these contacts (share locks on their keys) go on meanwhile."""
    from crm.models import Contact
    from marketing_events.models import Participation

    ids = sorted(set(contact_ids))
    if not ids:
        return
    list(
        Contact.objects.filter(pk__in=ids)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )
    cutoff = legacy_cutoff()
    activities = defaultdict(list)
    for row in Participation.objects.filter(contact_id__in=ids, event__source="zoom").values(
        "contact_id",
        "event__external_event_id",
        "event__url",
        "join_url",
        "registered_at",
        "first_join_at",
        "attendance_percent",
    ):
        activities[row["contact_id"]].append(
            Activity(
                webinar_id=row["event__external_event_id"],
                url=row["join_url"] or row["event__url"] or "",
                registered_at=row["registered_at"],
                first_join_at=row["first_join_at"],
                percent=row["attendance_percent"],
            )
        )
    contacts = list(Contact.objects.filter(pk__in=ids).only("id", "properties"))
    changed = []
    for contact in contacts:
        values = legacy_values(activities.get(contact.pk, []), cutoff)
        merged = {k: v for k, v in (contact.properties or {}).items() if k not in (P1, P2, P3, P4)}
        merged.update(values)
        if merged != (contact.properties or {}):
            contact.properties = merged
            changed.append(contact)
    bulk_update_values(Contact, changed, ["properties"])
