"""Contact rollups: per contact, what its participations add up to (events registered for,
attended, cancelled; seconds attended in all; first and last attended; last registered), kept
in a narrow table of their own (`models.ContactActivity`, one row per contact that has any)
so that segments on "attended any event" read a small partial index instead of millions of
participations, and keeping them never updates the contact row (whose indexes a rollup
update would otherwise write: the contact stays a heap-only update's business).

Two ways to keep them, both in the writer's own transaction:

* `contacts_add_activity` (`plan_apply`, which the sync, webhooks, the attendance API and the
  workflow action all go through): each written participation's difference, old values to
  new ones, added to its contact's row in one upsert per page, reading no participation. The
  writer holds the participation's row lock (`bulk.participations_fetch`), so its old values
  are exact; sums of differences commute, and so do `greatest`/`least` of new values, and
  PostgreSQL applies an upsert's assignments to the newest committed version of the row;
  the contacts are locked first, so two writers of one contact never race on its first
  insert: two writers of one contact stay exact without reading each other's
  participations. A maximum (or minimum) can only fall (rise) when the participation that
  held it moves away from it; only those contacts are recomputed, in a second statement.
* `contacts_recompute_activity` (deleting an event, the rebuild): recomputed from the
  participations under the contacts' locks. Under READ COMMITTED the statement that reads
  the participations, started once the locks are held, sees whatever another writer of
  these contacts committed before it let its lock go; a writer still holding a
  participation's lock adds its difference on top afterwards.

A contact without a row has zeros and no moments; a row may hold zeros too (its
participations deleted). Contacts are locked (their `crm_contact` rows, FOR NO KEY UPDATE) in
id order, the order `zoom_integration.legacy` locks them in, so two pages touching the same
people never deadlock on them. `activity_rebuild` recomputes everything in batches and
reports drift (the management command `contacts_rebuild_activity`; the migration that fills
the table).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum

from crm.models import Contact

from .models import REGISTERED_STATES, ContactActivity, Participation, ParticipationState

ROLLUP_FIELDS = (
    "events_registered",
    "events_attended",
    "events_cancelled",
    "attended_seconds",
    "first_attended_at",
    "last_attended_at",
    "last_registered_at",
)

# The rollups of the contacts whose ids the array parameter lists, as (id, *ROLLUP_FIELDS);
# contacts without participations get zeros and NULLs. One aggregate per contact (LATERAL),
# so each reads its own participations through the (contact) index whatever the planner
# believes of the table's size: during a first sync its statistics lag far behind, and a join
# of the ids with the whole table (a hash join over a sequential scan) would read every
# participation for every page.
AGGREGATE_SQL = """
SELECT i.id, a.registered, a.attended, a.cancelled, a.seconds, a.first_at, a.last_at,
    a.registered_at
FROM unnest(%s::bigint[]) AS i(id)
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE p.state IN ('REGISTERED', 'ATTENDED')) AS registered,
        count(*) FILTER (WHERE p.state = 'ATTENDED') AS attended,
        count(*) FILTER (WHERE p.state = 'CANCELLED') AS cancelled,
        coalesce(sum(p.duration_seconds) FILTER (WHERE p.state = 'ATTENDED'), 0) AS seconds,
        min(p.first_join_at) FILTER (WHERE p.state = 'ATTENDED') AS first_at,
        max(p.first_join_at) FILTER (WHERE p.state = 'ATTENDED') AS last_at,
        max(p.registered_at) AS registered_at
    FROM marketing_events_participation p
    WHERE p.contact_id = i.id
) AS a
"""

TABLE = ContactActivity._meta.db_table
_COLUMNS = ", ".join(ROLLUP_FIELDS)
# A contact's stored rollups, read through a LEFT JOIN of its row `a` (zeros without one).
_STORED = (
    "coalesce(a.events_registered, 0), coalesce(a.events_attended, 0), "
    "coalesce(a.events_cancelled, 0), coalesce(a.attended_seconds, 0), a.first_attended_at, "
    "a.last_attended_at, a.last_registered_at"
)
_FRESH = "s.registered, s.attended, s.cancelled, s.seconds, s.first_at, s.last_at, s.registered_at"
_NOTHING = "0, 0, 0, 0, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz"
# The contacts' rows recomputed, written only where they changed; a contact without
# participations gets no row (or its row zeros, when it has one).
RECOMPUTE_SQL = f"""
INSERT INTO {TABLE} AS a (contact_id, {_COLUMNS})
SELECT s.id, {_FRESH}
FROM ({AGGREGATE_SQL}) AS s(id, registered, attended, cancelled, seconds, first_at, last_at,
    registered_at)
WHERE ({_FRESH}) IS DISTINCT FROM ({_NOTHING})
    OR EXISTS (SELECT 1 FROM {TABLE} x WHERE x.contact_id = s.id)
ON CONFLICT (contact_id) DO UPDATE SET ({_COLUMNS}) = (
    EXCLUDED.events_registered, EXCLUDED.events_attended, EXCLUDED.events_cancelled,
    EXCLUDED.attended_seconds, EXCLUDED.first_attended_at, EXCLUDED.last_attended_at,
    EXCLUDED.last_registered_at)
WHERE ({", ".join(f"a.{name}" for name in ROLLUP_FIELDS)}) IS DISTINCT FROM (
    EXCLUDED.events_registered, EXCLUDED.events_attended, EXCLUDED.events_cancelled,
    EXCLUDED.attended_seconds, EXCLUDED.first_attended_at, EXCLUDED.last_attended_at,
    EXCLUDED.last_registered_at)
""".replace("%s::bigint[]", "%b::bigint[]")


# What one participation adds to its contact's rollups, from its
# (state, registered_at, first_join_at, duration_seconds): registered, attended, cancelled,
# seconds, the first-joined moment (for the first and last attended) and the registration.
_COUNTED = (ParticipationState.REGISTERED, ParticipationState.ATTENDED)


@dataclass(frozen=True)
class ParticipationChange:
    """A participation as it was (None: created) and as it is now, each as
    (state, registered_at, first_join_at, duration_seconds)."""

    contact_id: int
    before: tuple | None
    after: tuple


def _share(values: tuple | None) -> tuple:
    if values is None:
        return (0, 0, 0, 0, None, None)
    state, registered_at, first_join_at, duration = values
    attended = state == ParticipationState.ATTENDED
    return (
        int(state in _COUNTED),
        int(attended),
        int(state == ParticipationState.CANCELLED),
        (duration or 0) if attended else 0,
        first_join_at if attended else None,
        registered_at,
    )


@dataclass
class ActivityDelta:
    """What a page's changed participations add to one contact: differences of the counts
    and seconds, new candidates for the extremes (first attended: a minimum; last attended
    and last registered: maxima), and the values the extremes lose (a contact whose stored
    extreme equals a lost one is recomputed)."""

    registered: int = 0
    attended: int = 0
    cancelled: int = 0
    seconds: int = 0
    first_at: object = None
    last_at: object = None
    registered_at: object = None
    lost_first: object = None
    lost_last: object = None
    lost_registered: object = None

    def row(self, contact_id: int) -> tuple:
        return (contact_id, *(getattr(self, name) for name in _DELTA_COLUMNS))


_DELTA_COLUMNS = (
    "registered",
    "attended",
    "cancelled",
    "seconds",
    "first_at",
    "last_at",
    "registered_at",
    "lost_first",
    "lost_last",
    "lost_registered",
)


def activity_deltas(changes: Iterable[ParticipationChange]) -> dict[int, ActivityDelta]:
    """{contact id: what its changed participations add} (pure). Participations whose share
    of the rollups did not change add nothing and are left out.

    The extremes are compared inline, not through helper calls: a first sync passes every
    registration and attendance through here, and such calls were half of this function's
    time (cProfile, bench scenario). tests/marketing_events/test_activity.py holds the
    plain-spoken form it is checked against."""
    deltas: dict[int, ActivityDelta] = {}
    for change in changes:
        old, new = _share(change.before), _share(change.after)
        if old == new:
            continue
        d = deltas.get(change.contact_id)
        if d is None:
            d = deltas[change.contact_id] = ActivityDelta()
        d.registered += new[0] - old[0]
        d.attended += new[1] - old[1]
        d.cancelled += new[2] - old[2]
        d.seconds += new[3] - old[3]
        first, registered_at, was_first, was_registered = new[4], new[5], old[4], old[5]
        if first is not None:
            if d.first_at is None or first < d.first_at:
                d.first_at = first
            if d.last_at is None or first > d.last_at:
                d.last_at = first
        if registered_at is not None and (
            d.registered_at is None or registered_at > d.registered_at
        ):
            d.registered_at = registered_at
        if was_first is not None:
            # A minimum loses the old moment when it moved later (or went), a maximum when
            # it moved earlier (or went).
            if (first is None or first > was_first) and (
                d.lost_first is None or was_first < d.lost_first
            ):
                d.lost_first = was_first
            if (first is None or first < was_first) and (
                d.lost_last is None or was_first > d.lost_last
            ):
                d.lost_last = was_first
        if (
            was_registered is not None
            and (registered_at is None or registered_at < was_registered)
            and (d.lost_registered is None or was_registered > d.lost_registered)
        ):
            d.lost_registered = was_registered
    return deltas


# Each changed contact's differences added to its row, or its first row inserted (the contacts
# locked first, in id order, by LOCK_SQL, so no other writer inserts or updates it meanwhile).
# Assignments apply to the newest committed version of the row, so the sums and extremes are
# exact. RETURNING: the extremes as they are now, to find those that may have moved past a
# lost value (a recomputation).
LOCK_SQL = "SELECT id FROM crm_contact WHERE id = ANY(%b::bigint[]) ORDER BY id FOR NO KEY UPDATE"
ADD_SQL = f"""
INSERT INTO {TABLE} AS a (contact_id, {_COLUMNS})
SELECT * FROM unnest(%b::bigint[], %b::int[], %b::int[], %b::int[], %b::bigint[],
    %b::timestamptz[], %b::timestamptz[], %b::timestamptz[])
ON CONFLICT (contact_id) DO UPDATE SET
    events_registered = a.events_registered + EXCLUDED.events_registered,
    events_attended = a.events_attended + EXCLUDED.events_attended,
    events_cancelled = a.events_cancelled + EXCLUDED.events_cancelled,
    attended_seconds = a.attended_seconds + EXCLUDED.attended_seconds,
    first_attended_at = least(a.first_attended_at, EXCLUDED.first_attended_at),
    last_attended_at = greatest(a.last_attended_at, EXCLUDED.last_attended_at),
    last_registered_at = greatest(a.last_registered_at, EXCLUDED.last_registered_at)
RETURNING a.contact_id, a.first_attended_at, a.last_attended_at, a.last_registered_at
"""


def _may_have_moved(delta: ActivityDelta, first_at, last_at, registered_at) -> bool:
    """Whether an extreme now stored may be one a participation moved away from (SQL's
    comparisons: a missing value compares to nothing)."""

    def holds(stored, lost, compare) -> bool:
        return stored is not None and lost is not None and compare(stored, lost)

    return (
        holds(first_at, delta.lost_first, lambda a, b: a >= b)
        or holds(last_at, delta.lost_last, lambda a, b: a <= b)
        or holds(registered_at, delta.lost_registered, lambda a, b: a <= b)
    )


@transaction.atomic(savepoint=False)  # within a caller's transaction: theirs
def contacts_add_activity(
    *, changes: Iterable[ParticipationChange], locked: Iterable[int] = ()
) -> None:
    """Adds what changed participations changed to their contacts' rollups; the caller holds
    the participations' row locks (their `before` values are what was stored). `locked`: more
    contacts to lock with them (a page's whole set, which `contacts_recompute_legacy` locks
    next), all in id order. On PostgreSQL two statements (the lock, the upsert), reading no
    participation, plus one for the contacts whose first or last moment has to be recomputed;
    elsewhere the contacts are recomputed."""
    deltas = activity_deltas(changes)
    if not deltas:
        return
    if connection.vendor != "postgresql":
        _recompute_orm(sorted(deltas))
        return
    from .bulk import pg_fetch

    ids = sorted(deltas)
    rows = [deltas[pk].row(pk)[:8] for pk in ids]
    columns = [list(column) for column in zip(*rows, strict=True)]
    pg_fetch(LOCK_SQL, [sorted(set(locked) | set(ids))])
    found = pg_fetch(ADD_SQL, columns)
    stale = sorted(pk for pk, *extremes in found if _may_have_moved(deltas[pk], *extremes))
    if stale:
        # Locked by the statement above: this one's snapshot sees every other writer's
        # committed participations.
        pg_fetch(RECOMPUTE_SQL, [stale])


@transaction.atomic(savepoint=False)  # within a caller's transaction: theirs
def contacts_recompute_activity(contact_ids: Iterable[int]) -> None:
    """Recomputes the rollups of these contacts from their participations; a contact whose
    values did not change is not written. Two statements on PostgreSQL (the lock, then the
    upsert), whatever the number of contacts.

    The contacts are locked in id order, as `zoom_integration.legacy` locks them, and `no_key`
    (foreign-key checks of rows referencing them go on meanwhile)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return
    if connection.vendor != "postgresql":
        _recompute_orm(ids)
        return
    from .bulk import pg_fetch

    pg_fetch(LOCK_SQL, [ids])
    pg_fetch(RECOMPUTE_SQL, [ids])


def fresh_values(contact_ids: list[int]) -> dict[int, tuple]:
    """{contact id: rollups recomputed from the participations} (zeros without any)."""
    rows = (
        Participation.objects.filter(contact_id__in=contact_ids)
        .order_by()
        .values("contact_id")
        .annotate(
            registered=Count("id", filter=Q(state__in=REGISTERED_STATES)),
            attended=Count("id", filter=Q(state=ParticipationState.ATTENDED)),
            cancelled=Count("id", filter=Q(state=ParticipationState.CANCELLED)),
            seconds=Sum("duration_seconds", filter=Q(state=ParticipationState.ATTENDED)),
            first_at=Min("first_join_at", filter=Q(state=ParticipationState.ATTENDED)),
            last_at=Max("first_join_at", filter=Q(state=ParticipationState.ATTENDED)),
            registered_at=Max("registered_at"),
        )
    )
    values = {pk: (0, 0, 0, 0, None, None, None) for pk in contact_ids}
    for row in rows:
        values[row["contact_id"]] = (
            row["registered"],
            row["attended"],
            row["cancelled"],
            row["seconds"] or 0,
            row["first_at"],
            row["last_at"],
            row["registered_at"],
        )
    return values


_NO_ACTIVITY = (0, 0, 0, 0, None, None, None)


def stored_values(contact_ids: list[int]) -> dict[int, tuple]:
    """{contact id: its stored rollups} (zeros without a row)."""
    values = {pk: _NO_ACTIVITY for pk in contact_ids}
    rows = ContactActivity.objects.filter(contact_id__in=contact_ids).values_list(
        "contact_id", *ROLLUP_FIELDS
    )
    for row in rows:
        values[row[0]] = tuple(row[1:])
    return values


def _recompute_orm(ids: list[int]) -> None:
    fresh = fresh_values(ids)
    existing = ContactActivity.objects.filter(contact_id__in=ids).in_bulk()
    changed, created = [], []
    for pk in ids:
        row = existing.get(pk)
        values = fresh[pk]
        if row is None:
            if values != _NO_ACTIVITY:
                created.append(
                    ContactActivity(contact_id=pk, **dict(zip(ROLLUP_FIELDS, values, strict=True)))
                )
            continue
        if tuple(getattr(row, name) for name in ROLLUP_FIELDS) != values:
            for name, value in zip(ROLLUP_FIELDS, values, strict=True):
                setattr(row, name, value)
            changed.append(row)
    if created:
        ContactActivity.objects.bulk_create(created)
    if changed:
        ContactActivity.objects.bulk_update(changed, list(ROLLUP_FIELDS))


@dataclass
class Drift:
    """What `activity_rebuild` found: contacts checked, contacts whose stored rollups differed
    from their participations, and how many differed per rollup."""

    checked: int = 0
    drifted: int = 0
    by_field: dict[str, int] = field(default_factory=dict)
    examples: list[int] = field(default_factory=list)


def activity_rebuild(*, fix: bool = True, batch_size: int = 50_000) -> Drift:
    """Recomputes every contact's rollups (archived ones too: a restored contact is exact at
    once), by batches of contact ids, each in a transaction of its own; reports the drift
    found and, with `fix`, repairs it. The values are compared in the database on PostgreSQL
    (one statement per batch) and in Python elsewhere."""
    drift = Drift()
    last = 0
    while True:
        ids = list(
            Contact.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return drift
        last = ids[-1]
        with transaction.atomic():
            _rebuild_batch(ids, drift, fix=fix)


def _rebuild_batch(ids: list[int], drift: Drift, *, fix: bool) -> None:
    drift.checked += len(ids)
    if connection.vendor == "postgresql":
        from .bulk import pg_fetch

        if fix:
            pg_fetch(LOCK_SQL, [ids])
        rows = pg_fetch(
            f"SELECT s.id, {_STORED}, {_FRESH} FROM "
            f"({AGGREGATE_SQL.replace('%s::bigint[]', '%b::bigint[]')}) AS s(id, registered, "
            f"attended, cancelled, seconds, first_at, last_at, registered_at) LEFT JOIN {TABLE} "
            f"a ON a.contact_id = s.id WHERE ({_STORED}) IS DISTINCT FROM ({_FRESH})",
            [ids],
        )
        found = {row[0]: (row[1:8], row[8:15]) for row in rows}
    else:
        fresh = fresh_values(ids)
        stored = stored_values(ids)
        found = {pk: (stored[pk], fresh[pk]) for pk in ids if stored[pk] != fresh[pk]}
    for pk, (stored_row, fresh_row) in sorted(found.items()):
        drift.drifted += 1
        if len(drift.examples) < 10:
            drift.examples.append(pk)
        for name, before, after in zip(ROLLUP_FIELDS, stored_row, fresh_row, strict=True):
            if before != after:
                drift.by_field[name] = drift.by_field.get(name, 0) + 1
    if fix and found:
        contacts_recompute_activity(sorted(found))


__all__ = [
    "AGGREGATE_SQL",
    "ActivityDelta",
    "Drift",
    "ParticipationChange",
    "ROLLUP_FIELDS",
    "RECOMPUTE_SQL",
    "activity_deltas",
    "activity_rebuild",
    "contacts_add_activity",
    "contacts_recompute_activity",
    "fresh_values",
    "stored_values",
]
