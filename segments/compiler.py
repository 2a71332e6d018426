"""Filter tree → one query over live contacts (rule G4). Nothing is loaded into Python to be
filtered: each filter becomes a row predicate on the contact or a set of contact ids read
from an indexed table (participations, timeline), and the tree becomes one SQL statement.

Two shapes, same rows:
- `exists`: an OR of AND groups of predicates, sets as EXISTS / NOT EXISTS correlated
  sub-queries. Best when one group is evaluated (PostgreSQL turns them into semi/anti joins
  and starts from whichever side is smaller) and whenever a group has no positive set — such
  a group can match contacts with no activity at all, so every contact must be looked at.
- `sets` (PostgreSQL): when there are several OR groups and each has a positive set,
  `id IN ((G1) UNION (G2) …)` where a group is the INTERSECT of its positive sets EXCEPT the
  UNION of its negative ones (row predicates then applied to that set). An OR of EXISTS makes
  PostgreSQL test every contact; the set form reads only the participations involved.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from crm.contact_filters import REGISTRY, Condition, FilterContext
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


def _anchored(groups: list[list[Condition]]) -> bool:
    """Every group needs a positive set for the set form (else it can match anyone)."""
    return all(any(c.is_set and not c.negate for c in group) for group in groups)


def choose_strategy(groups: list[list[Condition]], vendor: str | None = None) -> str:
    vendor = vendor or connection.vendor
    if vendor == "postgresql" and len(groups) > 1 and _anchored(groups):
        return "sets"
    return "exists"


def matching_contacts(
    tree: Mapping, ctx: FilterContext, *, strategy: str = "auto"
) -> QuerySet[Contact]:
    """Live contacts matching a clean tree, as one lazy queryset (not ordered)."""
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
        condition |= _group_q(group)
    return live_contacts().filter(condition)


def _as_q(condition: Condition) -> Q:
    if condition.row is not None:
        return condition.row
    exists = Exists(condition.ids.filter(contact_id=OuterRef("pk")))
    return ~Q(exists) if condition.negate else Q(exists)


def _group_q(group: list[Condition]) -> Q:
    condition = Q()
    for item in group:
        condition &= _as_q(item)
    return condition


def _id_in(sql: str, params) -> RawSQL:
    column = f"{Contact._meta.db_table}.{Contact._meta.pk.column}"
    quoted = ".".join(connection.ops.quote_name(part) for part in column.split("."))
    return RawSQL(f"{quoted} IN ({sql})", params, output_field=BooleanField())


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
    positives = [_sql(c.ids) for c in group if c.is_set and not c.negate]
    negatives = [_sql(c.ids) for c in group if c.is_set and c.negate]
    rows = [c.row for c in group if not c.is_set]
    sql, params = _combine(positives, "INTERSECT")
    if negatives:
        neg_sql, neg_params = _combine(negatives, "UNION")
        sql, params = f"({sql}) EXCEPT ({neg_sql})", params + neg_params
    if rows:
        row_q = Q()
        for row in rows:
            row_q &= row
        narrowed = Contact.objects.filter(row_q).filter(_id_in(sql, params)).values("pk")
        return _sql(narrowed)
    return sql, params


def _union_sql(groups: list[list[Condition]]) -> tuple[str, tuple]:
    return _combine([_group_sql(group) for group in groups], "UNION")
