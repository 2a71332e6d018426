"""Filter tree → one query over live contacts (rule G4). Nothing is loaded into Python to be
filtered: each filter becomes a row predicate on the contact or a set of contact ids read
from an indexed table (participations, timeline), and the tree becomes one SQL statement.

Two shapes, same rows:
- `exists`: an OR of AND groups of predicates, sets as EXISTS / NOT EXISTS correlated
  sub-queries. PostgreSQL tests contacts one by one (an OR of EXISTS makes it test every
  contact: ~340 ms on 1M contacts), which is what a group without a narrow positive set needs
  anyway — it can match a large share of contacts, or contacts with no activity at all — and
  what keeps a members page cheap at any depth (it stops after one page of matches).
- `sets` (PostgreSQL): `id IN ((G1) UNION (G2) …)` where a group is the INTERSECT of its
  narrow positive sets EXCEPT the UNION of its narrow negative ones, its other conditions
  (row predicates, broad sets as EXISTS) then applied to those few candidates. It reads only
  the participations involved (~4 ms for the OR above), but builds the whole set before a
  page can be cut from it, so it is chosen only when every group is anchored by a narrow set
  (`Condition.narrow`: one event's participations); a broad set such as "attended any event"
  would be materialised whole (~600 ms per members page on 5M participations).
Counts (`matching_count`) take a third shape when one table answers the whole tree: a single
group of sets that are all rows of one table keyed by contact (`Condition.keyed`: the
contacts' rollups), one of them positive, or a single set that names each contact once
(`Condition.distinct`: one event's participations), is counted on that table's rows, the
archived contacts left out by an anti-join with the few of them (their ids, an index of
their own). The contact-driven forms would join every live contact (a million) with as many
rollup rows: "attended at least an hour in all" (38 % of the contacts) costs a scan of one
index instead; "attended event X" reads X's participations and no contact row.
Figures: bench/segments_bench.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from psycopg.errors import QueryCanceled

from crm.contact_filters import REGISTRY, Condition, FilterContext
from crm.db import local_settings
from crm.models import Contact

NOBODY = Q(pk__in=[])


def live_contacts() -> QuerySet[Contact]:
    return Contact.objects.filter(archived_at__isnull=True)


def tree_conditions(tree: Mapping, ctx: FilterContext) -> list[list[Condition]]:
    groups = []
    for group in tree.get("or") or []:
        conditions = []
        for node in group.get("and") or []:
            filter_type = REGISTRY.get(node.get("type"))
            if filter_type is None:  # a type whose app is gone: it matches no one
                conditions.append(Condition(row=NOBODY))
                continue
            conditions.append(filter_type.condition(node, ctx))
        if conditions:
            groups.append(conditions)
    return groups


def _anchored(groups: list[list[Condition]], *, narrow: bool = False) -> bool:
    """Every group needs a positive set for the set form (else it can match anyone); a narrow
    one for the set form to be the cheaper."""
    return all(
        any(c.is_set and not c.negate and (c.narrow or not narrow) for c in group)
        for group in groups
    )


def choose_strategy(groups: list[list[Condition]], vendor: str | None = None) -> str:
    vendor = vendor or connection.vendor
    if vendor == "postgresql" and groups and _anchored(groups, narrow=True):
        return "sets"
    return "exists"


def matching_contacts(
    tree: Mapping,
    ctx: FilterContext,
    *,
    strategy: str = "auto",
    per_contact: bool = False,
    walk: bool = False,
) -> QuerySet[Contact]:
    """Live contacts matching a clean tree, as one lazy queryset (not ordered).

    `per_contact`: for pages by id (members, exports); sets keyed by contact (the rollups) are
    then tested contact by contact, one probe of the rollup row's primary key each, where
    PostgreSQL would otherwise merge-join the rollup table from its first row however deep
    the page starts (120 ms after id 900,000 on 1M contacts against 3 ms,
    bench/segments_bench.py). Counts and whole-set readers want the join.
    `walk`: the form a members page's walk reads (`walked_rows`), every set tested contact by
    contact: a page of contacts who answered a poll so is found in 8-9 ms, where PostgreSQL,
    taking the answers for a handful, joins all 120,097 of them first (0.9-1.4 s); for a set
    that few contacts are in, that walk would test every contact, which its budget cuts short."""
    per_contact = per_contact or walk
    groups = tree_conditions(tree, ctx)
    if not groups:
        return live_contacts().none()
    if strategy == "auto":
        strategy = choose_strategy(groups)
    if strategy == "sets" and _anchored(groups):
        sql, params = _union_sql(groups)
        return live_contacts().filter(_id_in(sql, params))
    condition = NOBODY
    for group in groups:
        condition |= _group_q(group, per_contact=per_contact, walk=walk)
    return live_contacts().filter(condition)


def count_query(tree: Mapping, ctx: FilterContext) -> QuerySet:
    """A lazy queryset whose `count()` is the number of live contacts matching a clean tree:
    the rows of one table when they answer the whole tree (module docstring), else the
    contacts themselves."""
    rows = _set_rows(tree_conditions(tree, ctx))
    return rows if rows is not None else matching_contacts(tree, ctx)


def matching_count(tree: Mapping, ctx: FilterContext) -> int:
    return counted(count_query(tree, ctx))


def segment_count_settings() -> dict[str, str]:
    """The server settings a segment count runs with, from settings (None: the server's)."""
    wanted = {
        "max_parallel_workers_per_gather": getattr(
            settings, "SEGMENT_COUNT_PARALLEL_WORKERS", None
        ),
        "work_mem": getattr(settings, "SEGMENT_COUNT_WORK_MEM", None),
    }
    return {name: str(value) for name, value in wanted.items() if value is not None}


def counted(queryset: QuerySet) -> int:
    """`queryset.count()` with the parallel workers (`SEGMENT_COUNT_PARALLEL_WORKERS`) and the
    memory per sort or bitmap (`SEGMENT_COUNT_WORK_MEM`) settings allow a segment count, for
    that statement only: set in a transaction and set back after it (within a caller's
    transaction a savepoint would not end a SET LOCAL).

    The memory: a bitmap of the matching rows that outgrows `work_mem` keeps only which pages
    hold some, and every row of those pages is tested again: on 5M contacts, "company contains
    'bank'" (170,590) rechecked 1.4M rows in 1,094 ms with the server's 4 MB against 550 ms
    with 32 MB (bench/segments_bench.py --scale 5)."""
    wanted = segment_count_settings()
    if connection.vendor != "postgresql" or not wanted:
        return queryset.count()
    with local_settings(wanted):
        return queryset.count()


def walked_rows(queryset: QuerySet, *, budget_ms: int | None = None) -> list | None:
    """The rows of a page query ordered by id (a members page), read by walking an index in
    id order and testing each contact, within `budget_ms` (default `SEGMENT_PAGE_WALK_MS`);
    None when the walk ran out of time (or is off, or not on PostgreSQL): then the caller reads
    them as the planner chooses (`page_rows`).

    Why: PostgreSQL estimates each condition alone, and a group of several (@gmail.com AND
    created this year AND company contains "bank" AND attended any) it takes for a handful of
    contacts, so it gathers all of them through bitmaps of every index and sorts them
    (26-36 ms for 877 matches on 1M contacts) where walking the domain index in id order finds
    a page in 5-7 ms (bench/segments_bench.py). A group that truly matches few contacts is the
    opposite case, so the walk is given a budget and the planner's plan follows it."""
    if budget_ms is None:
        budget_ms = getattr(settings, "SEGMENT_PAGE_WALK_MS", 0)
    # No JIT either: the walk's cost, counted for every contact, passes its threshold, and
    # compiling takes longer than a page (~10 ms).
    return _rows_within(queryset, budget_ms, walk=True)


def planned_rows(queryset: QuerySet, *, budget_ms: int) -> list | None:
    """The rows of a query as the planner's plan reads them, within `budget_ms`; None when it
    ran out of time (or `budget_ms` is 0, or not on PostgreSQL)."""
    return _rows_within(queryset, budget_ms, walk=False)


def _rows_within(queryset: QuerySet, budget_ms: int, *, walk: bool) -> list | None:
    if connection.vendor != "postgresql" or not budget_ms:
        return None
    wanted = {"statement_timeout": f"{int(budget_ms)}ms"}
    if walk:
        wanted.update(enable_bitmapscan="off", jit="off")
    try:
        with local_settings(wanted, savepoint=True):
            return list(queryset)
    except OperationalError as error:
        if isinstance(error.__cause__, QueryCanceled):  # out of time: rolled back, settings too
            return None
        raise


def page_rows(walk: QuerySet, planned: QuerySet) -> list:
    """A page's rows (both querysets: the same page, in the walk's form and the planner's),
    each way given a budget in turn, growing: the walk (`SEGMENT_PAGE_WALK_MS`), the planner's
    plan (`SEGMENT_PAGE_PLAN_MS`), the walk again (`SEGMENT_PAGE_LONG_WALK_MS`), then the
    planner's plan to its end.

    Why the second walk: a walk that reads its contacts' rows from disk takes longer than
    one over cached pages (a poll filter on 1M contacts: ~250 ms against 8-9 ms), and the
    planner's plan that followed it there read every matching answer (0.7-1.3 s), evicting
    those pages again, page after page (bench/segments_bench.py, count (i)); a planner's plan
    that is quick (a rare property value) ends within its own budget first."""
    rows = walked_rows(walk)
    if rows is None:
        rows = planned_rows(planned, budget_ms=getattr(settings, "SEGMENT_PAGE_PLAN_MS", 0))
    if rows is None:
        rows = walked_rows(walk, budget_ms=getattr(settings, "SEGMENT_PAGE_LONG_WALK_MS", 0))
    if rows is None:
        rows = list(planned)
    return rows


def _set_rows(groups: list[list[Condition]]) -> QuerySet | None:
    """The rows counting the live contacts of a one-group tree that one table answers (module
    docstring), or None."""
    if len(groups) != 1:
        return None
    (group,) = groups
    if len(group) == 1 and group[0].distinct and not group[0].negate:
        (condition,) = group
        return condition.ids.filter(~Exists(_archived(OuterRef("contact_id"))))
    if not all(c.keyed is not None for c in group) or all(c.negate for c in group):
        return None
    models = {c.ids.model for c in group}
    if len(models) != 1:
        return None
    (model,) = models
    key = model._meta.pk
    if getattr(key, "related_model", None) is not Contact:
        return None
    # One row per contact: "in the set" is "its row matches", "not in it" is "its row does
    # not" (the positive condition means the row is there).
    where = Q()
    for c in group:
        where &= ~c.keyed if c.negate else c.keyed
    return model.objects.filter(where).filter(~Exists(_archived(OuterRef(key.attname))))


def _archived(contact_id: OuterRef) -> QuerySet[Contact]:
    # Read index-only from the archived contacts' own index (crm.Contact.Meta).
    return Contact.objects.filter(pk=contact_id, archived_at__isnull=False)


class _ProbedExists(Exists):
    """EXISTS that PostgreSQL keeps a sub-plan run per outer row: an OFFSET makes it leave the
    sub-query as it is instead of turning it into a join (a semi-join it may then merge)."""

    template = "EXISTS(%(subquery)s OFFSET 0)"


def _as_q(condition: Condition, *, per_contact: bool = False, walk: bool = False) -> Q:
    if condition.row is not None:
        return condition.row
    probed = (
        per_contact and (condition.keyed is not None or walk) and connection.vendor == "postgresql"
    )
    kind = _ProbedExists if probed else Exists
    exists = kind(condition.ids.filter(contact_id=OuterRef("pk")))
    return ~Q(exists) if condition.negate else Q(exists)


def _group_q(group: list[Condition], *, per_contact: bool = False, walk: bool = False) -> Q:
    condition = Q()
    for item in group:
        condition &= _as_q(item, per_contact=per_contact, walk=walk)
    return condition


class _InArray(Func):
    """`id = ANY(ARRAY(set))`: the set is built once (it is narrow: one event's participants)
    and its ids are found through the primary key, in order, so a members page stops after
    one page of them; `id IN (set)` let PostgreSQL walk every contact in id order testing each
    against the set (tens of milliseconds a page on 1M contacts, bench/segments_bench.py)."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra):
        lhs, rhs = self.get_source_expressions()
        lhs_sql, lhs_params = compiler.compile(lhs)
        rhs_sql, rhs_params = compiler.compile(rhs)
        return f"{lhs_sql} = ANY(ARRAY({rhs_sql}))", (*lhs_params, *rhs_params)


def _id_in(sql: str, params) -> Q:
    # An expression on the primary key, not raw SQL naming the table: the queryset may become
    # a sub-query (workflows exclude known matches with it), where Django renames the contact
    # table (U0).
    return Q(_InArray(F("pk"), RawSQL(sql, params, output_field=BigIntegerField())))


def _sql(queryset: QuerySet) -> tuple[str, tuple]:
    # No ORDER BY inside a set operation (models' default orderings would add one).
    sql, params = queryset.order_by().query.sql_with_params()
    return sql, tuple(params)


def _combine(parts: list[tuple[str, tuple]], operator: str) -> tuple[str, tuple]:
    if len(parts) == 1:
        return parts[0]
    sql = f" {operator} ".join(f"({part_sql})" for part_sql, _params in parts)
    params = tuple(p for _sql_part, part_params in parts for p in part_params)
    return sql, params


def _group_sql(group: list[Condition]) -> tuple[str, tuple]:
    # With a narrow positive set, only narrow sets are combined: INTERSECT or EXCEPT with
    # "attended any event" would read millions of rows where testing the few candidates
    # with EXISTS reads a handful each.
    narrow_only = any(c.is_set and not c.negate and c.narrow for c in group)

    def combined(c: Condition) -> bool:
        return c.is_set and (c.narrow or not narrow_only)

    positives = [_sql(c.ids) for c in group if combined(c) and not c.negate]
    negatives = [_sql(c.ids) for c in group if combined(c) and c.negate]
    others = [c for c in group if not combined(c)]
    sql, params = _combine(positives, "INTERSECT")
    if negatives:
        neg_sql, neg_params = _combine(negatives, "UNION")
        sql, params = f"({sql}) EXCEPT ({neg_sql})", params + neg_params
    if others:
        narrowed = Contact.objects.filter(_group_q(others)).filter(_id_in(sql, params))
        return _sql(narrowed.values("pk"))
    return sql, params


def _union_sql(groups: list[list[Condition]]) -> tuple[str, tuple]:
    return _combine([_group_sql(group) for group in groups], "UNION")
