"""HubSpot search requests compiled to ORM `Q` objects and orderings. Pure: no queries run
here; the caller passes the property specs (loaded once per request).

Semantics (documented for API clients):
- `filterGroups` are OR'd, the filters of a group AND'd; at most 5 groups, 10 filters per
  group, 25 filters in all; an empty group is refused.
- Text comparisons ignore case; `LT`…`GTE`, `BETWEEN` on text compare lexicographically.
- Dates (`createdate`, `lastmodifieddate`) take epoch milliseconds or ISO-8601 and compare at
  millisecond precision, as HubSpot renders them (`EQ` matches the whole millisecond).
- Negated operators (`NEQ`, `NOT_IN`, `NOT_CONTAINS_TOKEN`, `NOT_HAS_PROPERTY`) match exactly
  the contacts the positive operator does not match, including contacts without a value.
- `CONTAINS_TOKEN` matches whole tokens. A value is split into tokens at whitespace, `;` and
  `,`; an e-mail address is one token. `*` in the filter value matches any run of characters
  inside one token (`*@example.com`, `ana*`). Several words in the filter value must all match.
- `hs_additional_emails` matches when any of the contact's secondary e-mails matches.
- Number-typed custom properties compare numerically for `LT`…`BETWEEN` and by their
  canonical text (as stored) for `EQ`, `NEQ`, `IN`, `NOT_IN`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import InvalidOperation

from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext as _

from ..errors import ValidationFailed
from ..models import SecondaryEmail
from ..properties import MAX_PROPERTY_NAME_LENGTH, PropertySpec
from .search_targets import FilterError, target_for

OPERATORS = (
    "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN",
    "HAS_PROPERTY", "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN",
)  # fmt: skip
NEGATED = {
    "NEQ": "EQ",
    "NOT_IN": "IN",
    "NOT_CONTAINS_TOKEN": "CONTAINS_TOKEN",
    "NOT_HAS_PROPERTY": "HAS_PROPERTY",
}
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 10, 25
QUERY_COLUMNS = ("email", "first_name", "last_name", "company", "phone", "mobile_phone")


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def compile_filter(data: Mapping, specs: Mapping[str, PropertySpec]) -> Q:
    name = data.get("propertyName")
    spec = specs.get(name)
    if spec is None:
        raise FilterError(
            _('Property "%(name)s" does not exist') % {"name": name}, "PROPERTY_DOESNT_EXIST"
        )
    op = str(data.get("operator") or "").upper()
    if op not in OPERATORS:
        raise FilterError(
            _("Unknown operator %(operator)s; use one of %(operators)s")
            % {"operator": repr(data.get("operator")), "operators": ", ".join(OPERATORS)},
            "INVALID_OPERATOR",
        )
    value, high, values = data.get("value"), data.get("highValue"), data.get("values")
    positive_op = NEGATED.get(op, op)
    if positive_op in ("IN",):
        if not values or any(_is_blank(v) for v in values):
            raise FilterError(
                _("Operator %(operator)s needs a non-empty list of values") % {"operator": op},
                "MISSING_VALUE",
            )
    elif positive_op != "HAS_PROPERTY" and _is_blank(value):
        raise FilterError(
            _("Operator %(operator)s needs a value") % {"operator": op}, "MISSING_VALUE"
        )
    if positive_op == "BETWEEN" and _is_blank(high):
        raise FilterError(_("Operator BETWEEN needs a highValue"), "MISSING_VALUE")
    target = target_for(spec)
    try:
        positive = target.positive(positive_op, value, high, values)
    except (InvalidOperation, ValueError) as exc:
        if isinstance(exc, FilterError):
            raise
        raise FilterError(
            _("%(value)s is not a valid value for %(property)s")
            % {"value": repr(value), "property": name},
            "INVALID_VALUE",
        )
    return target.negate(positive) if op in NEGATED else positive


def compile_filter_groups(groups, specs: Mapping[str, PropertySpec]) -> Q:
    """OR of AND groups; raises `ValidationFailed` naming the bad filter."""
    groups = groups or []
    total = sum(len(g.get("filters") or []) for g in groups)
    if len(groups) > MAX_GROUPS:
        _fail(
            "filterGroups",
            _("At most %(max)s filterGroups are allowed; got %(n)s")
            % {"max": MAX_GROUPS, "n": len(groups)},
            "TOO_MANY_FILTER_GROUPS",
        )
    if total > MAX_FILTERS:
        _fail(
            "filterGroups",
            _("At most %(max)s filters are allowed in all; got %(n)s")
            % {"max": MAX_FILTERS, "n": total},
            "TOO_MANY_FILTERS",
        )
    if not groups:
        return Q()
    condition = Q(pk__in=[])
    for g, group in enumerate(groups):
        filters = group.get("filters") or []
        where = f"filterGroups[{g}]"
        if not filters:
            _fail(where, _("%(group)s has no filters") % {"group": where}, "EMPTY_FILTER_GROUP")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            _fail(
                where,
                _("At most %(max)s filters per group; %(group)s has %(n)s")
                % {"max": MAX_FILTERS_PER_GROUP, "group": where, "n": len(filters)},
                "TOO_MANY_FILTERS",
            )
        group_q = Q()
        for f, data in enumerate(filters):
            try:
                group_q &= compile_filter(data, specs)
            except FilterError as exc:
                _fail(
                    data.get("propertyName") or f"{where}.filters[{f}]",
                    f"{where}.filters[{f}]: {exc}",
                    exc.code,
                )
        condition |= group_q
    return condition


def compile_query(text: str | None) -> Q:
    """Free text: every word appears in the e-mail, a name, the company, a phone number or a
    secondary e-mail (case-insensitive substring)."""
    condition = Q()
    for word in (text or "").split():
        any_field = Q(
            Exists(
                SecondaryEmail.objects.filter(contact=OuterRef("pk"), email__icontains=word.lower())
            )
        )
        for column in QUERY_COLUMNS:
            any_field |= Q(**{f"{column}__icontains": word})
        condition &= any_field
    return condition


def compile_sorts(sorts, specs: Mapping[str, PropertySpec]) -> list:
    """`["-createdate"]` or `[{"propertyName", "direction"}]` → order_by() arguments, ending
    with the id so that paging is stable. Default: by id."""
    ordering = []
    for index, sort in enumerate(sorts or []):
        where = f"sorts[{index}]"
        if isinstance(sort, str):
            descending, name = sort.startswith("-"), sort.lstrip("-")
        elif isinstance(sort, Mapping):
            name = sort.get("propertyName")
            direction = str(sort.get("direction") or "ASCENDING").upper()
            if direction not in ("ASCENDING", "DESCENDING"):
                _fail(
                    where,
                    _("%(sort)s: direction must be ASCENDING or DESCENDING") % {"sort": where},
                    "INVALID_SORT",
                )
            descending = direction == "DESCENDING"
        else:
            _fail(
                where,
                _("%(sort)s: expected a property name or an object") % {"sort": where},
                "INVALID_SORT",
            )
        if not isinstance(name, str) or not name:
            _fail(where, _("%(sort)s: expected a property name") % {"sort": where}, "INVALID_SORT")
        if len(name) > MAX_PROPERTY_NAME_LENGTH:
            _fail(
                where,
                _("%(sort)s: a property name has at most %(max)s characters")
                % {"sort": where, "max": MAX_PROPERTY_NAME_LENGTH},
                "INVALID_SORT",
            )
        spec = specs.get(name)
        if spec is None:
            _fail(
                name,
                _('%(sort)s: Property "%(name)s" does not exist') % {"sort": where, "name": name},
                "PROPERTY_DOESNT_EXIST",
            )
        try:
            expression = target_for(spec).ordering()
        except FilterError as exc:
            _fail(name, f"{where}: {exc}", exc.code)
        ordering.append(
            expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
        )
    ordering.append(F("pk").asc())
    return ordering


def _fail(name: str, message: str, code: str):
    raise ValidationFailed(message, errors=[{"name": name, "code": code, "message": message}])
