"""Writes of marketing events: upserting events, applying a `Plan` (one transaction, bulk
upserts, a constant number of queries whatever the page size), recomputing counters."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from crm.db import bulk_update_values
from crm.models import Contact, TimelineEvent

from .attendance import event_level, merged_seconds, percent_of
from .models import (
    AttendanceSession,
    EventOccurrence,
    MarketingEvent,
    OccurrenceAttendance,
    Participation,
    ParticipationState,
)
from .plan import Plan


def event_upsert(
    *, source: str, external_account_id: str, external_event_id: str, defaults: dict
) -> MarketingEvent:
    """Creates or updates the event with this external key (rule M1). Idempotent."""
    event, _created = MarketingEvent.objects.update_or_create(
        source=source,
        external_account_id=external_account_id,
        external_event_id=str(external_event_id),
        defaults={**defaults, "updated_at": timezone.now()},
    )
    return event


PARTICIPATION_FIELDS = [
    "state",
    "registered_at",
    "cancelled_at",
    "external_registrant_id",
    "join_url",
    "first_join_at",
    "last_leave_at",
    "duration_seconds",
    "attendance_percent",
    "provisional",
    "updated_at",
]


def _row(participation: Participation) -> tuple:
    return tuple(getattr(participation, name) for name in PARTICIPATION_FIELDS[:-1])


def derive_state(*, registered_at, cancelled_at, attended: bool) -> str:
    """Facts → state, whatever order they came in: attendance wins; a cancellation counts
    unless a later registration followed it."""
    if attended:
        return ParticipationState.ATTENDED
    if cancelled_at is not None and (registered_at is None or cancelled_at >= registered_at):
        return ParticipationState.CANCELLED
    return ParticipationState.REGISTERED


def _later(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


@transaction.atomic
def plan_apply(
    plan: Plan,
    *,
    timeline_kind: str = "zoom_webinar",
    timeline_data: dict | None = None,
    now: dt.datetime | None = None,
    recompute_counters: bool = True,
) -> dict:
    """Writes a plan. Re-applying the same plan changes nothing; plans of the same facts in
    any order converge. Returns counts of what changed."""
    now = now or timezone.now()
    event = MarketingEvent.objects.get(pk=plan.event_id)
    base_data = dict(timeline_data or {})
    counts = {"contacts_created": 0, "participations_created": 0, "sessions": 0}

    # 1. New contacts (the planner decided they may be created: rules Z4-Z7).
    emails = {r.email for r in plan.registrations} | {s.email for s in plan.sessions}
    emails |= {c.email for c in plan.new_contacts}
    existing = set(
        Contact.objects.filter(email__in=emails, archived_at__isnull=True).values_list(
            "email", flat=True
        )
    )
    fresh = {c.email: c for c in plan.new_contacts if c.email not in existing}
    if fresh:
        Contact.objects.bulk_create(
            [
                Contact(
                    email=c.email,
                    first_name=c.first_name,
                    last_name=c.last_name,
                    created_at=now,
                    updated_at=now,
                )
                for c in fresh.values()
            ],
            ignore_conflicts=True,
        )
    contacts = dict(
        Contact.objects.filter(email__in=emails, archived_at__isnull=True).values_list(
            "email", "pk"
        )
    )
    created_ids = [contacts[e] for e in fresh if e in contacts]
    counts["contacts_created"] = len(created_ids)
    timeline: list[TimelineEvent] = [
        TimelineEvent(
            contact_id=pk,
            kind="contact_created",
            occurred_at=now,
            data={"source": timeline_kind.split("_")[0]},
            dedupe_key=f"created:{pk}",
        )
        for pk in created_ids
    ]

    # 2. Occurrences.
    if plan.occurrences:
        EventOccurrence.objects.bulk_create(
            [
                EventOccurrence(
                    event=event, external_id=o.key, starts_at=o.starts_at, ends_at=o.ends_at
                )
                for o in plan.occurrences
            ],
            update_conflicts=True,
            unique_fields=["event", "external_id"],
            update_fields=["starts_at", "ends_at"],
        )
    occurrence_keys = {s.occurrence_key for s in plan.sessions}
    occurrences = {
        o.external_id: o
        for o in EventOccurrence.objects.filter(event=event, external_id__in=occurrence_keys)
    }

    # 3. Participations: one per (contact, event).
    involved = {contacts[e] for e in emails if e in contacts}
    by_contact = {
        p.contact_id: p for p in Participation.objects.filter(event=event, contact_id__in=involved)
    }
    missing = involved - set(by_contact)
    if missing:
        Participation.objects.bulk_create(
            [
                Participation(
                    contact_id=pk,
                    event=event,
                    state=ParticipationState.REGISTERED,
                    created_at=now,
                    updated_at=now,
                )
                for pk in missing
            ],
            ignore_conflicts=True,
        )
        by_contact = {
            p.contact_id: p
            for p in Participation.objects.filter(event=event, contact_id__in=involved)
        }
        counts["participations_created"] = len(missing)
    missing_ids = {by_contact[c].pk for c in missing if c in by_contact}
    original = {p.pk: _row(p) for p in by_contact.values()}
    for fact in plan.registrations:
        participation = by_contact.get(contacts.get(fact.email))
        if participation is None:
            continue
        participation.registered_at = _later(participation.registered_at, fact.registered_at)
        participation.cancelled_at = _later(participation.cancelled_at, fact.cancelled_at)
        participation.external_registrant_id = (
            fact.external_registrant_id or participation.external_registrant_id
        )
        participation.join_url = fact.join_url or participation.join_url

    # 4. Raw sessions, upserted by their natural key (a later leave fills an open session).
    rows = []
    for fact in plan.sessions:
        participation = by_contact.get(contacts.get(fact.email))
        occurrence = occurrences.get(fact.occurrence_key)
        if participation is None or occurrence is None:
            continue
        rows.append(
            AttendanceSession(
                participation=participation,
                occurrence=occurrence,
                join_at=fact.join_at,
                leave_at=fact.leave_at,
                external_participant_id=fact.external_participant_id,
                name=fact.name[:300],
                email=fact.email,
            )
        )
    if rows:
        AttendanceSession.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["occurrence", "participation", "external_participant_id", "join_at"],
            update_fields=["leave_at", "name", "email"],
        )
    counts["sessions"] = len(rows)

    # 5. Attendance from all the sessions of the touched participations (merged, rule M2).
    touched = {r.participation.pk for r in rows}
    _recompute_attendance(
        event,
        [p for p in by_contact.values() if p.pk in touched],
        provisional=not plan.event_over,
        now=now,
    )
    changed = []
    for participation in by_contact.values():
        participation.state = derive_state(
            registered_at=participation.registered_at,
            cancelled_at=participation.cancelled_at,
            attended=participation.first_join_at is not None,
        )
        # Rows whose values did not change are not written: an unchanged re-sync is cheap.
        if participation.pk in missing_ids or _row(participation) != original[participation.pk]:
            participation.updated_at = now
            changed.append(participation)
    if changed:
        # An upsert on the (contact, event) key: index lookups, whatever the table's size.
        Participation.objects.bulk_create(
            [
                Participation(
                    contact_id=p.contact_id,
                    event_id=p.event_id,
                    created_at=p.created_at,
                    source=p.source,
                    **{name: getattr(p, name) for name in PARTICIPATION_FIELDS},
                )
                for p in changed
            ],
            update_conflicts=True,
            unique_fields=["contact", "event"],
            update_fields=PARTICIPATION_FIELDS,
        )
    counts["participations_changed"] = len(changed)

    # 6. Timeline (rule M4), idempotent by dedupe key.
    for participation in changed:
        timeline.extend(_timeline_rows(event, participation, timeline_kind, base_data))
    if timeline:
        TimelineEvent.objects.bulk_create(
            timeline,
            update_conflicts=True,
            unique_fields=["dedupe_key"],
            update_fields=["occurred_at", "data", "kind"],
        )
    if recompute_counters:
        event_recompute_counters([event.pk])
    counts["contact_ids"] = sorted(by_contact)
    return counts


def _recompute_attendance(event, participations, *, provisional: bool, now) -> None:
    if not participations:
        return
    sessions = defaultdict(list)
    for session in AttendanceSession.objects.filter(
        participation__in=participations
    ).select_related("occurrence"):
        sessions[(session.participation_id, session.occurrence_id)].append(session)
    attendances = []
    per_participation = defaultdict(list)
    for (participation_id, _occurrence_id), rows in sessions.items():
        occurrence = rows[0].occurrence
        duration = merged_seconds(
            [(s.join_at, s.leave_at) for s in rows], now=now if provisional else None
        )
        length = occurrence.length_seconds
        if not length and occurrence.starts_at is not None and provisional:
            length = max(0, int((now - occurrence.starts_at).total_seconds()))  # live: so far
        percent = percent_of(duration, length)
        first = min(s.join_at for s in rows)
        leaves = [s.leave_at for s in rows if s.leave_at is not None]
        last = max(leaves) if leaves else None
        attendances.append(
            OccurrenceAttendance(
                participation_id=participation_id,
                occurrence=occurrence,
                first_join_at=first,
                last_leave_at=last,
                duration_seconds=duration,
                attendance_percent=percent,
            )
        )
        per_participation[participation_id].append((duration, percent, first, last))
    OccurrenceAttendance.objects.bulk_create(
        attendances,
        update_conflicts=True,
        unique_fields=["participation", "occurrence"],
        update_fields=["first_join_at", "last_leave_at", "duration_seconds", "attendance_percent"],
    )
    for participation in participations:
        rows = per_participation.get(participation.pk, [])
        if not rows:
            continue
        total, mean = event_level((d, p) for d, p, _f, _l in rows)
        participation.duration_seconds = total
        participation.attendance_percent = mean
        participation.first_join_at = min(f for _d, _p, f, _l in rows)
        lasts = [last for _d, _p, _f, last in rows if last is not None]
        participation.last_leave_at = max(lasts) if lasts else None
        participation.provisional = provisional


def _timeline_rows(event, participation, kind: str, base: dict) -> Iterable[TimelineEvent]:
    key = f"{kind}:{event.pk}:{participation.contact_id}"
    if participation.registered_at is not None:
        yield TimelineEvent(
            contact_id=participation.contact_id,
            kind=f"{kind}_registered",
            occurred_at=participation.registered_at,
            data={**base, "event_id": event.pk},
            dedupe_key=f"{key}:registered",
        )
    if participation.cancelled_at is not None:  # a fact of history, whatever came after
        yield TimelineEvent(
            contact_id=participation.contact_id,
            kind=f"{kind}_cancelled",
            occurred_at=participation.cancelled_at,
            data={**base, "event_id": event.pk},
            dedupe_key=f"{key}:cancelled",
        )
    if participation.first_join_at is not None:
        yield TimelineEvent(
            contact_id=participation.contact_id,
            kind=f"{kind}_attended",
            occurred_at=participation.first_join_at,
            data={
                **base,
                "event_id": event.pk,
                "joined_at": participation.first_join_at.isoformat(),
                "left_at": participation.last_leave_at.isoformat()
                if participation.last_leave_at
                else None,
                "duration_seconds": participation.duration_seconds,
                "provisional": participation.provisional,
            },
            dedupe_key=f"{key}:attended",
        )


def event_recompute_counters(event_ids: Iterable[int]) -> None:
    """Counters (rule M3): registered = registered and not cancelled (attendees included),
    attended, cancelled, and no-shows once the event is over."""
    ids = list(event_ids)
    totals = (
        Participation.objects.filter(event_id__in=ids)
        .values("event_id")
        .annotate(
            registered=Count("id", filter=~Q(state=ParticipationState.CANCELLED)),
            attended=Count("id", filter=Q(state=ParticipationState.ATTENDED)),
            cancelled=Count("id", filter=Q(state=ParticipationState.CANCELLED)),
            waiting=Count("id", filter=Q(state=ParticipationState.REGISTERED)),
        )
    )
    by_event = {row["event_id"]: row for row in totals}
    events = list(MarketingEvent.objects.filter(pk__in=ids))
    for event in events:
        row = by_event.get(event.pk, {})
        event.registered_count = row.get("registered", 0)
        event.attended_count = row.get("attended", 0)
        event.cancelled_count = row.get("cancelled", 0)
        event.no_show_count = row.get("waiting", 0) if event.is_over else 0
    bulk_update_values(
        MarketingEvent,
        events,
        ["registered_count", "attended_count", "cancelled_count", "no_show_count"],
    )


__all__ = ["derive_state", "event_recompute_counters", "event_upsert", "plan_apply"]
