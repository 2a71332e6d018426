"""Contact rollups: per contact, what its participations add up to (events registered for,
attended, cancelled; seconds attended in all; first and last attended; last registered), kept
on the contact row (`crm.models.Contact`) so that segments on "attended any event" read one
column instead of millions of participations.

Every writer of participations calls `contacts_recompute_activity` in its own transaction,
after its writes (`plan_apply`, which the sync, webhooks, the attendance API and the workflow
action all go through; deleting an event). The values are recomputed from the participations,
never incremented, so they are exact whatever the order of the facts; two transactions
writing one contact's participations at once stay exact because each locks the contact row
first and reads the participations in a statement of its own, started once the lock is held:
under READ COMMITTED that statement sees whatever the other transaction committed before it
let the lock go. `activity_rebuild` recomputes everything in batches and reports drift (the
management command `contacts_rebuild_activity`; the migration that fills the columns).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum

from crm.models import Contact

from .models import REGISTERED_STATES, Participation, ParticipationState

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

_STORED = ", ".join(f"c.{name}" for name in ROLLUP_FIELDS)
_FRESH = "s.registered, s.attended, s.cancelled, s.seconds, s.first_at, s.last_at, s.registered_at"
# `c.id = ANY(…)` too: the contacts are found by primary key, not by scanning the table.
UPDATE_SQL = f"""
UPDATE crm_contact AS c SET ({", ".join(ROLLUP_FIELDS)}) = ({_FRESH})
FROM ({AGGREGATE_SQL}) AS s(id, registered, attended, cancelled, seconds, first_at, last_at,
    registered_at)
WHERE c.id = ANY(%s::bigint[]) AND c.id = s.id AND ({_STORED}) IS DISTINCT FROM ({_FRESH})
"""


@transaction.atomic(savepoint=False)  # within a caller's transaction: theirs
def contacts_recompute_activity(contact_ids: Iterable[int]) -> None:
    """Recomputes the rollups of these contacts from their participations; a contact whose
    values did not change is not written. Two statements on PostgreSQL (the lock, then the
    update), whatever the number of contacts.

    The contacts are locked in id order, as `zoom_integration.legacy` locks them, and `no_key`
    (foreign-key checks of rows referencing them go on meanwhile)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return
    if connection.vendor != "postgresql":
        _recompute_orm(ids)
        return
    from .bulk import pg_fetch

    pg_fetch(
        "SELECT id FROM crm_contact WHERE id = ANY(%b::bigint[]) ORDER BY id FOR NO KEY UPDATE",
        [ids],
    )
    pg_fetch(UPDATE_SQL.replace("%s::bigint[]", "%b::bigint[]"), [ids, ids])


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


def _recompute_orm(ids: list[int]) -> None:
    fresh = fresh_values(ids)
    changed = []
    for contact in Contact.objects.filter(pk__in=ids).only("id", *ROLLUP_FIELDS):
        values = fresh[contact.pk]
        if tuple(getattr(contact, name) for name in ROLLUP_FIELDS) != values:
            for name, value in zip(ROLLUP_FIELDS, values, strict=True):
                setattr(contact, name, value)
            changed.append(contact)
    if changed:
        Contact.objects.bulk_update(changed, list(ROLLUP_FIELDS))


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
            pg_fetch(
                "SELECT id FROM crm_contact WHERE id = ANY(%b::bigint[]) ORDER BY id "
                "FOR NO KEY UPDATE",
                [ids],
            )
        rows = pg_fetch(
            f"SELECT c.id, {_STORED}, s.* FROM crm_contact c JOIN "
            f"({AGGREGATE_SQL.replace('%s::bigint[]', '%b::bigint[]')}) AS s(id, registered, "
            "attended, cancelled, seconds, first_at, last_at, registered_at) ON s.id = c.id "
            f"WHERE c.id = ANY(%b::bigint[]) AND ({_STORED}) IS DISTINCT FROM ({_FRESH})",
            [ids, ids],
        )
        found = {row[0]: (row[1:8], row[9:16]) for row in rows}
    else:
        fresh = fresh_values(ids)
        found = {}
        for row in Contact.objects.filter(pk__in=ids).values_list("pk", *ROLLUP_FIELDS):
            if tuple(row[1:]) != fresh[row[0]]:
                found[row[0]] = (tuple(row[1:]), fresh[row[0]])
    for pk, (stored_values, fresh_values_) in sorted(found.items()):
        drift.drifted += 1
        if len(drift.examples) < 10:
            drift.examples.append(pk)
        for name, before, after in zip(ROLLUP_FIELDS, stored_values, fresh_values_, strict=True):
            if before != after:
                drift.by_field[name] = drift.by_field.get(name, 0) + 1
    if fix and found:
        contacts_recompute_activity(sorted(found))


__all__ = [
    "AGGREGATE_SQL",
    "Drift",
    "ROLLUP_FIELDS",
    "activity_rebuild",
    "contacts_recompute_activity",
    "fresh_values",
]
