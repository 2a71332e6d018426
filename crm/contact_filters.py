"""Filters over contacts (rule G2): the building blocks of segments and workflow triggers.

Each filter type is contributed by the app that owns its data — contact properties here,
marketing-event filters by `marketing_events`, Zoom filters by `zoom_integration` — through
`register_filter` in `AppConfig.ready()`, so that this lower app never imports a higher one.

A filter type does two things, both without running a query over contacts:
- `clean(node, ctx)` validates one JSON node of the Filter JSON and returns it normalized, or
  raises `FilterInvalid` naming the bad field;
- `condition(node, ctx)` turns a clean node into a `Condition`: either a row predicate over the
  contact (`Q`), or a set of contact ids (a `values("contact_id")` queryset over an indexed
  table) that the contact is in — or, negated, not in (rule G4: NOT EXISTS of the positive).
The segments compiler combines conditions into one query.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.db.models.lookups import IContains, IEndsWith, IStartsWith
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .properties import PropertySpec, parse_datetime_value

TEXT_OPERATORS = (
    "eq", "neq", "contains", "not_contains", "starts_with", "ends_with",
    "in", "not_in", "is_known", "is_unknown",
)  # fmt: skip
NUMBER_OPERATORS = ("eq", "neq", "lt", "lte", "gt", "gte", "between", "in", "not_in",
                    "is_known", "is_unknown")  # fmt: skip
DATE_OPERATORS = ("eq", "neq", "lt", "lte", "gt", "gte", "between", "is_known", "is_unknown")
ENUM_OPERATORS = ("eq", "neq", "in", "not_in", "is_known", "is_unknown")
ALL_OPERATORS = tuple(dict.fromkeys(TEXT_OPERATORS + NUMBER_OPERATORS + DATE_OPERATORS))
NO_VALUE = ("is_known", "is_unknown")
# Bounds of one filter's input: a text value (or a number or date written as text), the values
# of `in` / `not_in`, an id. The tree's own bounds (groups, filters) are in segments.tree.
MAX_TEXT_LENGTH = 1000
MAX_LIST_VALUES = 500
MAX_ID_LENGTH = 100
NEGATIVE = {"neq": "eq", "not_in": "in", "not_contains": "contains", "is_unknown": "is_known"}

# The kinds of value a comparison takes, in words, for messages.
KIND_WORDS = {
    "text": pgettext_lazy("kind of value", "text"),
    "number": pgettext_lazy("kind of value", "number"),
    "date": pgettext_lazy("kind of value", "date"),
    "enumeration": pgettext_lazy("kind of value", "enumeration"),
}


# Operators in words, for the summaries of filters shown to people.
OPERATOR_WORDS = {
    "eq": _("is"),
    "neq": _("is not"),
    "contains": _("contains"),
    "not_contains": _("does not contain"),
    "starts_with": _("starts with"),
    "ends_with": _("ends with"),
    "lt": _("is less than"),
    "lte": _("is at most"),
    "gt": _("is more than"),
    "gte": _("is at least"),
    "between": _("is between"),
    "in": _("is any of"),
    "not_in": _("is none of"),
    "is_known": _("is known"),
    "is_unknown": _("is unknown"),
}


# Comparisons of dates in words: "at least 365 days ago" would read as "a year old or more",
# where the filter means "on or after the day 365 days ago".
DATE_OPERATOR_WORDS = {
    "eq": _("is on"),
    "neq": _("is not on"),
    "lt": _("is before"),
    "lte": _("is on or before"),
    "gt": _("is after"),
    "gte": _("is on or after"),
}


def describe_comparison(
    label: str, part: Mapping, *, unit: str = "", scale: float = 1, dates: bool = False
) -> str:
    """`label operator value` in words; `scale` turns stored units into shown ones (seconds
    into minutes); `dates`: the values are dates (before/after, not less/more)."""

    def shown(value):
        if isinstance(value, dict):
            ((kind, amount),) = value.items()
            return str(_("%(n)s days ago") if kind == "days_ago" else _("in %(n)s days")) % {
                "n": amount
            }
        if isinstance(value, (int, float)) and scale != 1:
            value = round(value / scale, 1)
            value = int(value) if value == int(value) else value
        return f"{value}{unit}"

    words = {**OPERATOR_WORDS, **DATE_OPERATOR_WORDS} if dates else OPERATOR_WORDS
    operator = str(words.get(part.get("operator"), part.get("operator")))
    value = part.get("value")
    if value is None:
        # Translators: a filter in words, e.g. "City is known".
        return gettext("%(property)s %(operator)s") % {"property": label, "operator": operator}
    if isinstance(value, list):
        if part.get("operator") == "between" and len(value) == 2:
            # Translators: the two bounds of "is between", e.g. "10 and 20".
            shown_value = gettext("%(low)s and %(high)s") % {
                "low": shown(value[0]),
                "high": shown(value[1]),
            }
        else:
            shown_value = ", ".join(shown(v) for v in value)
    else:
        shown_value = shown(value)
    # Translators: a filter in words, e.g. "City is Paris" or "Age is at least 30".
    return gettext("%(property)s %(operator)s %(value)s") % {
        "property": label,
        "operator": operator,
        "value": shown_value,
    }


class FilterInvalid(ValueError):
    """A node of the Filter JSON that cannot be accepted. `field` names the bad key inside
    the node (the compiler prefixes the node's path, e.g. `or[0].and[1].operator`)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class FilterContext:
    """What filters need besides the node: the clock (relative dates are resolved at
    evaluation time) and the property specs, loaded once."""

    now: dt.datetime
    specs: Mapping[str, PropertySpec]
    # Lets a filter check references (events, webinars) when a filter is saved.
    check_references: bool = True
    # Filters that a contact's stored rollups answer exactly (its e-mail domain, "attended any
    # event"…) read them; off, they read the tables the rollups summarize (tests compare both).
    rollups: bool = True

    @classmethod
    def build(
        cls,
        *,
        now: dt.datetime | None = None,
        check_references: bool = True,
        rollups: bool = True,
    ):
        from .properties import all_property_specs

        return cls(
            now=now or timezone.now(),
            specs=all_property_specs(),
            check_references=check_references,
            rollups=rollups,
        )


@dataclass(frozen=True)
class Condition:
    """One compiled filter. Either `row` (a Q over Contact) or `ids` (a queryset of contact
    ids); `negate` turns "in the set" into "not in the set". `narrow` says that the set stays
    small however large the database grows (one event's participations, read by index), so
    that the compiler may build it whole rather than test it contact by contact. `keyed`: the
    set is the rows of `ids`' table that match this Q, a table whose primary key is the
    contact (one row per contact at most), so that a count may read that table alone.
    `distinct`: `ids` names each contact at most once (one event's participations: one per
    contact and event), so that a count of the set alone may count its rows."""

    row: Q | None = None
    ids: QuerySet | None = None
    negate: bool = False
    narrow: bool = False
    keyed: Q | None = None
    distinct: bool = False

    @property
    def is_set(self) -> bool:
        return self.ids is not None


@dataclass(frozen=True)
class FilterType:
    """A kind of filter: its JSON `type`, a label and a group for the builder, the two
    functions described in the module docstring, and the OpenAPI schema of its node per
    direction (`crm.filter_schema`: "request" = what `clean` accepts, "response" = what it
    returns)."""

    name: str
    label: str
    group: str
    clean: Callable[[Mapping[str, Any], FilterContext], dict]
    condition: Callable[[dict, FilterContext], Condition]
    describe: Callable[[dict, FilterContext], str] = field(default=lambda node, ctx: node["type"])
    schema: Callable[[str], dict] | None = None
    # The addresses of the builder's pickers for this filter's fields (`{name: url}`), filled
    # by the app that registers it: the builder (segments) cannot know another app's URLs.
    pickers: Callable[[], dict[str, str]] | None = None


REGISTRY: dict[str, FilterType] = {}


def register_filter(filter_type: FilterType) -> None:
    REGISTRY[filter_type.name] = filter_type


# Property filters that other filters can replace (rule B9: legacy Zoom properties → marketing-
# event filters). Property name -> function(clean node, ctx) -> (replacement node or None when
# it has no equivalent, a note for the person converting).
PropertyConverter = Callable[[dict, FilterContext], tuple[dict | None, str]]
PROPERTY_CONVERTERS: dict[str, PropertyConverter] = {}


def register_property_converter(name: str, converter: PropertyConverter) -> None:
    PROPERTY_CONVERTERS[name] = converter


# ---- Shared validation helpers -----------------------------------------------------------


def shown(text: str, limit: int = 40) -> str:
    """A piece of input quoted in a message, cut short: the message names it, not repeats it."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def too_long(text: str, limit: int, key: str) -> FilterInvalid:
    return FilterInvalid(
        gettext("at most %(max)s characters are allowed; got %(n)s")
        % {"max": limit, "n": len(text)},
        key,
    )


def expect_keys(node: Mapping, allowed: set[str]) -> None:
    unknown = sorted(str(key) for key in set(node) - allowed - {"type"})
    if unknown:
        raise FilterInvalid(
            gettext("Unknown key %(key)s; this filter takes %(keys)s")
            % {"key": shown(unknown[0]), "keys": ", ".join(sorted(allowed))},
            unknown[0][:40],
        )


def clean_bool(node: Mapping, key: str) -> bool:
    value = node.get(key, False)
    if not isinstance(value, bool):
        raise FilterInvalid(gettext("%(key)s must be true or false") % {"key": key}, key)
    return value


def clean_id(value: Any, key: str, *, required: bool) -> str | None:
    """Ids in the Filter JSON are strings; integers are accepted (DESIGN "Decisions")."""
    if value is None:
        if required:
            raise FilterInvalid(gettext("%(key)s is required") % {"key": key}, key)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise FilterInvalid(gettext("%(key)s must be a string or an integer") % {"key": key}, key)
    text = str(value).strip()
    if not text:
        raise FilterInvalid(gettext("%(key)s must not be empty") % {"key": key}, key)
    if len(text) > MAX_ID_LENGTH:
        raise too_long(text, MAX_ID_LENGTH, key)
    return text


def _number(value: Any, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FilterInvalid(gettext("%(key)s must be a number") % {"key": key}, key)
    if isinstance(value, str) and not value.strip():
        raise FilterInvalid(gettext("a number is needed here"), key)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise FilterInvalid(gettext("%(value)s is not a number") % {"value": repr(value)}, key)
    if not number.is_finite():
        raise FilterInvalid(gettext("%(value)s is not a number") % {"value": repr(value)}, key)
    return number


_DAYS_KEYS = ("days_ago", "days_ahead")


def _date(value: Any, key: str, ctx: FilterContext) -> dt.datetime | dict:
    """A date value: ISO-8601, epoch milliseconds, or a relative date `{"days_ago": N}` /
    `{"days_ahead": N}` resolved when the filter is evaluated (kept as is when cleaned)."""
    if isinstance(value, Mapping):
        if len(value) != 1 or next(iter(value)) not in _DAYS_KEYS:
            raise FilterInvalid(
                gettext('A relative date is {"days_ago": N} or {"days_ahead": N}'), key
            )
        ((unit, amount),) = value.items()
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= 36500:
            raise FilterInvalid(
                gettext("%(unit)s must be a whole number of days from 0 to 36500") % {"unit": unit},
                key,
            )
        return {unit: amount}
    if isinstance(value, bool) or value is None or (parsed := parse_datetime_value(value)) is None:
        raise FilterInvalid(
            gettext("%(value)s is not a date: use ISO-8601 or epoch milliseconds")
            % {"value": repr(value)},
            key,
        )
    return parsed


def resolve_date(value: dt.datetime | dict | str, ctx: FilterContext) -> dt.datetime:
    """A cleaned date value → an aware datetime. Relative dates count whole days back from
    the start of today (so "in the last 30 days" is stable during a day)."""
    if isinstance(value, dict):
        today = timezone.localtime(ctx.now).replace(hour=0, minute=0, second=0, microsecond=0)
        days = value.get("days_ago", 0) or -value.get("days_ahead", 0)
        return today - dt.timedelta(days=days)
    if isinstance(value, str):
        return parse_datetime_value(value)
    return value


def is_date_only(raw: Any) -> bool:
    return isinstance(raw, str) and bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()))


@dataclass(frozen=True)
class Comparison:
    operator: str
    value: Any = None  # one value; a [low, high] pair for between; a list for in/not_in
    date_only: bool = False  # a date value without a time: compare whole days


def clean_comparison(
    data: Any, kind: str, ctx: FilterContext, *, prefix: str = "", operators=None
) -> Comparison:
    """Validates `{"operator": OP, "value": V}` for a value of `kind` (text, number, date,
    enumeration) and returns it with values converted (numbers as Decimal; dates as
    datetimes or relative-date dicts)."""
    where = f"{prefix}." if prefix else ""
    if not isinstance(data, Mapping):
        raise FilterInvalid(gettext("must be an object with operator and value"), prefix)
    allowed = (
        operators
        or {
            "text": TEXT_OPERATORS,
            "number": NUMBER_OPERATORS,
            "date": DATE_OPERATORS,
            "enumeration": ENUM_OPERATORS,
        }[kind]
    )
    op = data.get("operator")
    if not isinstance(op, str) or op not in allowed:
        raise FilterInvalid(
            gettext("Unknown operator %(operator)s for a %(kind)s value; use one of %(operators)s")
            % {
                "operator": repr(op),
                "kind": KIND_WORDS.get(kind, kind),
                "operators": ", ".join(allowed),
            },
            f"{where}operator",
        )
    key = f"{where}value"
    if op in NO_VALUE:
        if data.get("value") is not None:
            raise FilterInvalid(gettext("%(operator)s takes no value") % {"operator": op}, key)
        return Comparison(op)
    if "value" not in data or data["value"] is None:
        raise FilterInvalid(gettext("%(operator)s needs a value") % {"operator": op}, key)
    raw = data["value"]

    def one(item, item_key):
        if isinstance(item, str) and len(item) > MAX_TEXT_LENGTH:
            raise too_long(item, MAX_TEXT_LENGTH, item_key)
        if kind == "number":
            return _number(item, item_key)
        if kind == "date":
            return _date(item, item_key, ctx)
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise FilterInvalid(
                gettext("%(value)s is not a text value") % {"value": repr(item)}, item_key
            )
        text = str(item)
        if not text.strip():
            raise FilterInvalid(
                gettext("%(operator)s needs a non-empty value") % {"operator": op}, item_key
            )
        return text

    if op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            raise FilterInvalid(gettext("between takes [low, high]"), key)
        low, high = one(raw[0], f"{key}[0]"), one(raw[1], f"{key}[1]")
        if kind == "number" and low > high:
            raise FilterInvalid(gettext("between needs low <= high"), key)
        date_only = kind == "date" and is_date_only(raw[1])
        return Comparison(op, (low, high), date_only)
    if op in ("in", "not_in"):
        if not isinstance(raw, list) or not raw:
            raise FilterInvalid(
                gettext("%(operator)s takes a non-empty list of values") % {"operator": op}, key
            )
        if len(raw) > MAX_LIST_VALUES:
            raise FilterInvalid(
                gettext("%(op)s takes at most %(max)s values; got %(n)s")
                % {"op": op, "max": MAX_LIST_VALUES, "n": len(raw)},
                key,
            )
        return Comparison(op, tuple(one(item, f"{key}[{i}]") for i, item in enumerate(raw)))
    if isinstance(raw, list):
        raise FilterInvalid(
            gettext("%(operator)s takes one value, not a list") % {"operator": op}, key
        )
    return Comparison(op, one(raw, key), kind == "date" and is_date_only(raw))


def comparison_json(comparison: Comparison) -> dict:
    """A cleaned comparison back to its JSON form (numbers as numbers, dates as ISO)."""

    def out(value):
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral() else float(value)
        if isinstance(value, dt.datetime):
            return value.isoformat().replace("+00:00", "Z")
        return value

    if comparison.operator in NO_VALUE:
        return {"operator": comparison.operator}
    value = comparison.value
    if isinstance(value, tuple):
        value = [out(v) for v in value]
        if comparison.date_only and comparison.operator == "between":
            value[1] = value[1][:10]
    else:
        value = out(value)
        if comparison.date_only:
            value = value[:10]
    return {"operator": comparison.operator, "value": value}


def field_condition(
    field_name: str, comparison: Comparison, kind: str, ctx: FilterContext, *, lowered=False
) -> Q:
    """A comparison on one column of the table a set filter reads (e.g. the event's name,
    the participation's duration). Text ignores case (`lowered` when the column is stored
    lower-cased, which keeps indexes usable). Negative operators match rows whose value
    differs or is unknown."""
    op = comparison.operator
    positive_op = NEGATIVE.get(op, op)
    value = comparison.value
    if positive_op == "is_known":
        positive = Q(**{f"{field_name}__isnull": False})
        if kind in ("text", "enumeration"):
            positive &= ~Q(**{field_name: ""})
    elif kind == "date":
        positive = _date_q(field_name, positive_op, value, comparison.date_only, ctx)
    elif kind == "number":
        positive = _simple_q(field_name, positive_op, value)
    else:
        positive = _text_q(field_name, positive_op, value, lowered)
    if op in NEGATIVE:
        missing = Q(**{f"{field_name}__isnull": True})
        return ~positive | missing if positive_op != "is_known" else ~positive
    return positive


def _simple_q(field_name: str, op: str, value) -> Q:
    if op == "eq":
        return Q(**{field_name: value})
    if op == "in":
        return Q(**{f"{field_name}__in": list(value)})
    if op == "between":
        return Q(**{f"{field_name}__gte": value[0], f"{field_name}__lte": value[1]})
    return Q(**{f"{field_name}__{op}": value})


def _text_q(field_name: str, op: str, value, lowered: bool) -> Q:
    if op in ("eq", "in"):
        values = [str(v).lower() for v in (value if op == "in" else [value])]
        if lowered:
            return Q(**{f"{field_name}__in": values})
        return (
            Q(**{f"{field_name}__lower__in": values})
            if op == "in"
            else Q(**{f"{field_name}__iexact": values[0]})
        )
    if op in ("lt", "lte", "gt", "gte"):
        return Q(**{f"{field_name}__lower__{op}": str(value).lower()})
    if op == "between":
        return Q(
            **{
                f"{field_name}__lower__gte": str(value[0]).lower(),
                f"{field_name}__lower__lte": str(value[1]).lower(),
            }
        )
    lookup = {"contains": "contains", "starts_with": "startswith", "ends_with": "endswith"}[op]
    if lowered:
        return Q(**{f"{field_name}__{lookup}": str(value).lower()})
    return Q(**{f"{field_name}__i{lookup}": str(value)})


def _date_q(field_name: str, op: str, value, date_only: bool, ctx: FilterContext) -> Q:
    """Dates given without a time compare whole days (in the site's time zone)."""
    if op == "between":
        low = resolve_date(value[0], ctx)
        high = resolve_date(value[1], ctx)
        upper = (
            Q(**{f"{field_name}__lt": high + dt.timedelta(days=1)})
            if date_only
            else Q(**{f"{field_name}__lte": high})
        )
        return Q(**{f"{field_name}__gte": low}) & upper
    moment = resolve_date(value, ctx)
    whole_day = date_only or isinstance(value, dict)
    if whole_day:
        next_day = moment + dt.timedelta(days=1)
        return {
            "eq": Q(**{f"{field_name}__gte": moment, f"{field_name}__lt": next_day}),
            "lt": Q(**{f"{field_name}__lt": moment}),
            "lte": Q(**{f"{field_name}__lt": next_day}),
            "gt": Q(**{f"{field_name}__gte": next_day}),
            "gte": Q(**{f"{field_name}__gte": moment}),
        }[op]
    if op == "eq":
        return Q(**{field_name: moment})
    return Q(**{f"{field_name}__{op}": moment})


# Substring lookups on expressions (for JSON-held values), by operator.
SUBSTRING_LOOKUPS = {"contains": IContains, "starts_with": IStartsWith, "ends_with": IEndsWith}

__all__ = [
    "ALL_OPERATORS",
    "MAX_ID_LENGTH",
    "MAX_LIST_VALUES",
    "MAX_TEXT_LENGTH",
    "Comparison",
    "Condition",
    "OPERATOR_WORDS",
    "describe_comparison",
    "FilterContext",
    "FilterInvalid",
    "FilterType",
    "Lower",
    "PROPERTY_CONVERTERS",
    "REGISTRY",
    "SUBSTRING_LOOKUPS",
    "clean_bool",
    "clean_comparison",
    "clean_id",
    "comparison_json",
    "expect_keys",
    "field_condition",
    "register_filter",
    "register_property_converter",
    "resolve_date",
    "shown",
    "too_long",
]
