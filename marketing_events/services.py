"""Writes of marketing events: upserting events, applying a `Plan` (one transaction, bulk
upserts, a constant number of queries whatever the page size), recomputing counters."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from operator import attrgetter, itemgetter

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from crm.bulk_properties import ContactPropertyWrite, contacts_write_properties
from crm.db import bulk_update_values
from crm.hooks import contacts_changed

from . import bulk
from .activity import ParticipationChange, contacts_add_activity
from .attendance import event_level, merged_seconds, percent_of
from .bulk import PARTICIPATION_FIELDS
from .models import REGISTERED_STATES, MarketingEvent, Participation, ParticipationState
from .plan import Plan
from .registration_details import details_rows, details_upsert


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


class _Participation:
    """A participation as plan_apply computes it: the values of `bulk.PARTICIPATION_FIELDS`
    (no model instance: pages hold hundreds of them)."""

    __slots__ = ("id", "contact_id", "original", *PARTICIPATION_FIELDS)

    def __init__(self, pk, contact_id, values):
        self.id = pk
        self.contact_id = contact_id
        (
            self.state,
            self.registered_at,
            self.cancelled_at,
            self.external_registrant_id,
            self.join_url,
            self.first_join_at,
            self.last_leave_at,
            self.duration_seconds,
            self.attendance_percent,
            self.provisional,
        ) = values
        self.original = tuple(values) if pk is not None else None

    def values(self) -> tuple:
        return _PARTICIPATION_VALUES(self)


_PARTICIPATION_VALUES = attrgetter(*PARTICIPATION_FIELDS)
# __init__ unpacks the values in the order of PARTICIPATION_FIELDS.
assert _Participation(None, 0, PARTICIPATION_FIELDS).values() == PARTICIPATION_FIELDS


_NEW_PARTICIPATION = (ParticipationState.REGISTERED, None, None, "", "", None, None, 0, None, False)


@dataclass(frozen=True)
class PlanApplied:
    """What applying a plan changed: contacts created, participations created and changed
    (those whose values did not change are not written), sessions written, and the contacts
    of the plan's participations (sorted)."""

    contacts_created: int = 0
    participations_created: int = 0
    participations_changed: int = 0
    sessions: int = 0
    contact_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class PlanContacts:
    """The contacts of a plan's people: ids by e-mail, and those just created."""

    ids: dict[str, int]
    created: list[int]


def plan_contacts_ensure(
    plan: Plan, *, timeline_kind: str = "zoom_webinar", now: dt.datetime | None = None
) -> PlanContacts:
    """Step 1 of `plan_apply`, which a caller may run in a transaction of its own first: the
    contacts of the plan's people, the new ones created where the planner allowed it (rules
    Z4-Z7), each with its "contact created" timeline entry. A contact so created stands on its
    own (the activity follows in the next transaction, or again when a failed page is applied
    again), and transactions applying other pages at the same time wait for its insert only
    that long, not for a whole page."""
    now = now or timezone.now()
    emails = {r.email for r in plan.registrations} | {s.email for s in plan.sessions}
    known = plan.contact_ids
    initial = _initial_properties(plan)
    ids, created = bulk.contacts_ensure(
        {e for e in emails if e not in known},
        [
            bulk.ContactRow(c.email, c.first_name, c.last_name, *initial.get(c.email, ({}, {})))
            for c in plan.new_contacts
        ],
        now,
        created_entry=("contact_created", {"source": timeline_kind.split("_")[0]}),
    )
    ids = {**{e: known[e] for e in emails if e in known}, **ids}
    return PlanContacts(ids=ids, created=created)


def _initial_properties(plan: Plan) -> dict[str, tuple[dict, dict]]:
    """{e-mail: (columns, custom properties)} a new contact of the plan is created with: its
    mapped answers (rule E2) as `contacts_write_properties` would leave them on an empty
    contact, the last write of a property winning (and then finds nothing to change)."""
    new = {c.email for c in plan.new_contacts}
    initial: dict[str, tuple[dict, dict]] = {}
    for write in plan.property_writes:
        if write.email in new:
            columns, properties = initial.setdefault(write.email, ({}, {}))
            if write.column:
                columns[write.column] = write.value
            else:
                properties[write.property] = write.value
    return initial


@transaction.atomic(savepoint=False)  # within a caller's transaction: theirs, whole
def plan_apply(
    plan: Plan,
    *,
    timeline_kind: str = "zoom_webinar",
    now: dt.datetime | None = None,
    recompute_counters: bool = True,
    contacts: PlanContacts | None = None,
) -> PlanApplied:
    """Writes a plan. Re-applying the same plan changes nothing; plans of the same facts in
    any order converge. Returns what changed (`PlanApplied`). `contacts`: step 1 already done by
    the caller (`plan_contacts_ensure`), else it is done here, in the same transaction.

    A constant number of statements whatever the page size, each a set-based read or upsert of
    plain rows (`bulk`); rows whose values did not change are not written."""
    now = now or timezone.now()
    event_id = plan.event_id  # its rows' foreign keys check that it exists
    counts = {"contacts_created": 0, "participations_created": 0, "sessions": 0}

    # 1. Contacts; new ones where the planner decided they may be created (rules Z4-Z7).
    if contacts is None:
        contacts = plan_contacts_ensure(plan, timeline_kind=timeline_kind, now=now)
    emails = {r.email for r in plan.registrations} | {s.email for s in plan.sessions}
    created_ids = contacts.created
    counts["contacts_created"] = len(created_ids)
    contacts = contacts.ids

    # 2. Occurrences.
    occurrences = bulk.occurrences_upsert(
        event_id,
        [bulk.OccurrenceRow(o.key, o.starts_at, o.ends_at) for o in plan.occurrences],
        {s.occurrence_key for s in plan.sessions},
    )

    # 3. Participations: one per (contact, event); registration facts merged in.
    involved = {contacts[e] for e in emails | {c.email for c in plan.new_contacts} if e in contacts}
    by_contact = {
        row[1]: _Participation(row[0], row[1], row[2:])
        for row in bulk.participations_fetch(event_id, involved)
    }
    for contact_id in sorted(involved - by_contact.keys()):  # ids follow the contacts' order
        by_contact[contact_id] = _Participation(None, contact_id, _NEW_PARTICIPATION)
    counts["participations_created"] = sum(1 for p in by_contact.values() if p.id is None)
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

    # 4. Raw sessions by their natural key (a later leave fills an open session): the stored
    # ones of the participations this page touches, with the page's on top.
    page_sessions = {}
    for fact in plan.sessions:
        contact_id = contacts.get(fact.email)
        occurrence = occurrences.get(fact.occurrence_key)
        if contact_id not in by_contact or occurrence is None:
            continue
        key = (contact_id, occurrence.id, fact.external_participant_id, fact.join_at)
        page_sessions[key] = (fact.leave_at, fact.name[:300], fact.email)
        counts["sessions"] += 1
    touched = {key[0] for key in page_sessions}
    contact_of = {p.id: p.contact_id for p in by_contact.values() if p.id is not None}
    lengths = {pk: (starts, ends) for pk, starts, ends in occurrences.values()}
    sessions = {}
    # Only participations that attended have sessions (`_attendance` sets the first join with
    # every session written): on a first sync most pages name none, and read nothing here.
    stored_ids = [
        by_contact[c].id
        for c in touched
        if by_contact[c].original is not None and by_contact[c].original[_FIRST_JOIN] is not None
    ]
    for stored in bulk.sessions_of(stored_ids):
        key = (
            contact_of[stored.participation_id],
            stored.occurrence_id,
            stored.external_participant_id,
            stored.join_at,
        )
        sessions[key] = (stored.leave_at, stored.name, stored.email)
        lengths.setdefault(stored.occurrence_id, (stored.starts_at, stored.ends_at))
    new_sessions = [key for key, values in page_sessions.items() if sessions.get(key) != values]
    sessions.update(page_sessions)

    # 5. Attendance from all the sessions of the touched participations (merged, rule M2).
    attendance = _attendance(
        sessions, by_contact, touched, lengths, provisional=not plan.event_over, now=now
    )

    # 6. Derived state; only participations whose values changed are written.
    changed = []
    for participation in by_contact.values():
        participation.state = derive_state(
            registered_at=participation.registered_at,
            cancelled_at=participation.cancelled_at,
            attended=participation.first_join_at is not None,
        )
        values = participation.values()
        if values != participation.original:
            changed.append(participation)
    # (Their timeline entries, rule M4, are read from them: `crm.models.TimelineEntry`.)
    believed_new = {p.contact_id for p in changed if p.id is None}
    ids = bulk.participations_upsert(
        event_id,
        [bulk.ParticipationRow(p.contact_id, *p.values()) for p in changed],
        now,
        new=believed_new,
    )
    # Participations another transaction created since they were read: left alone here, their
    # facts merged below.
    raced = believed_new - ids.keys()
    changed = [p for p in changed if p.contact_id not in raced]
    for participation in changed:
        participation.id = ids[participation.contact_id]
    counts["participations_created"] -= len(raced)
    counts["participations_changed"] = len(changed)
    bulk.sessions_upsert(
        [
            bulk.SessionRow(by_contact[c].id, o, x, j, *sessions[(c, o, x, j)])
            for c, o, x, j in new_sessions
            if c not in raced
        ]
    )
    bulk.attendance_upsert(
        [
            bulk.AttendanceRow(by_contact[c].id, o, *values)
            for (c, o), values in attendance
            if c not in raced
        ]
    )
    # Rules E1, E4, E5: what the registrations said, beside their participations (before
    # the contacts are locked: workers syncing webinars with people in common wait on those
    # locks until this transaction commits, so what locks them comes last).
    details_upsert(
        event_id,
        details_rows(
            plan.registrations,
            {
                e: by_contact[c].id
                for e, c in contacts.items()
                if c in by_contact and c not in raced
            },
        ),
        now,
    )
    if changed or raced:
        # 8. The contacts' rollups: each written participation's difference added (exact
        # under concurrent writers: `activity`). All the page's contacts are locked, in id
        # order, the set that legacy properties lock next (`contacts_recompute_legacy`) and
        # before the raced ones' second pass locks its part of it: one order, no deadlock.
        contacts_add_activity(
            changes=[
                ParticipationChange(p.contact_id, _rollup_share(p.original), _ROLLUP_SHARE(p))
                for p in changed
            ],
            locked=by_contact,
        )
    # Rule E2: contact properties from mapped answers, in one statement.
    properties_changed = contacts_write_properties(
        [
            ContactPropertyWrite(contacts[w.email], w.property, w.column, w.value, w.overwrite)
            for w in plan.property_writes
            if w.email in contacts
        ],
        now,
    )
    if raced:
        again = _merge_raced(plan, contacts, raced, timeline_kind, now)
        counts["participations_changed"] += again.participations_changed
        counts["sessions"] += again.sessions
    if recompute_counters:
        event_recompute_counters([event_id])
    # Workflows whose triggers read participations look at these contacts again.
    contacts_changed({p.contact_id for p in changed} | set(created_ids) | properties_changed)
    return PlanApplied(**counts, contact_ids=sorted(by_contact))


def _merge_raced(plan, contacts, raced, timeline_kind, now) -> PlanApplied:
    """Applies the plan's facts about `raced` contacts again, now that their participations
    (created by another transaction after this one read them) can be read, and locked."""
    emails = {email for email, contact_id in contacts.items() if contact_id in raced}
    sub_plan = Plan(
        event_id=plan.event_id,
        registrations=[r for r in plan.registrations if r.email in emails],
        occurrences=plan.occurrences,
        sessions=[s for s in plan.sessions if s.email in emails],
        event_over=plan.event_over,
    )
    applied = plan_apply(
        sub_plan,
        timeline_kind=timeline_kind,
        now=now,
        recompute_counters=False,
        contacts=PlanContacts(ids={e: contacts[e] for e in emails}, created=[]),
    )
    # Its sessions were counted by the first pass already.
    return replace(applied, sessions=applied.sessions - len(sub_plan.sessions))


def _attendance(sessions, by_contact, touched, lengths, *, provisional: bool, now) -> list:
    """Per-occurrence attendance rows ((contact, occurrence), (first join, last leave, duration,
    percent)) of the touched participations, whose event-level values it sets."""
    grouped = defaultdict(list)
    for (contact_id, occurrence_id, _x, join), (leave, _n, _e) in sessions.items():
        if contact_id in touched:
            grouped[(contact_id, occurrence_id)].append((join, leave))
    rows = []
    per_participation = defaultdict(list)
    for (contact_id, occurrence_id), spans in grouped.items():
        duration = merged_seconds(spans, now=now if provisional else None)
        starts, ends = lengths[occurrence_id]
        length = (
            max(0, int((ends - starts).total_seconds()))
            if starts is not None and ends is not None
            else 0
        )
        if not length and starts is not None and provisional:
            length = max(0, int((now - starts).total_seconds()))  # live: so far
        percent = percent_of(duration, length)
        first = min(join for join, _leave in spans)
        leaves = [leave for _join, leave in spans if leave is not None]
        last = max(leaves) if leaves else None
        rows.append(((contact_id, occurrence_id), (first, last, duration, percent)))
        per_participation[contact_id].append((duration, percent, first, last))
    for contact_id, values in per_participation.items():
        participation = by_contact[contact_id]
        total, mean = event_level((d, p) for d, p, _f, _l in values)
        participation.duration_seconds = total
        participation.attendance_percent = mean
        participation.first_join_at = min(f for _d, _p, f, _l in values)
        lasts = [last for _d, _p, _f, last in values if last is not None]
        participation.last_leave_at = max(lasts) if lasts else None
        participation.provisional = provisional
    return rows


# A participation's share of its contact's rollups (`activity.ParticipationChange`).
_ROLLUP_SHARE = attrgetter("state", "registered_at", "first_join_at", "duration_seconds")
_ROLLUP_INDEXES = itemgetter(
    *(
        PARTICIPATION_FIELDS.index(n)
        for n in ("state", "registered_at", "first_join_at", "duration_seconds")
    )
)


def _rollup_share(original: tuple | None) -> tuple | None:
    return None if original is None else _ROLLUP_INDEXES(original)


_FIRST_JOIN = PARTICIPATION_FIELDS.index("first_join_at")


def event_recompute_counters(event_ids: Iterable[int]) -> None:
    """Counters (rule M3): registered = registered and not cancelled (attendees included),
    attended, cancelled, and no-shows once the event is over."""
    ids = list(event_ids)
    totals = (
        Participation.objects.filter(event_id__in=ids)
        .values("event_id")
        .annotate(
            registered=Count("id", filter=Q(state__in=REGISTERED_STATES)),
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


__all__ = [
    "PlanContacts",
    "derive_state",
    "event_recompute_counters",
    "event_upsert",
    "plan_apply",
    "plan_contacts_ensure",
]
