"""The contact-property filter of the Filter JSON (rule G2):
`{"type": "property", "property": NAME, "operator": OP, "value": V}`.

Works for standard columns, secondary e-mails (`hs_additional_emails`: any of them matches),
custom properties and the properties other apps register (the legacy Zoom properties P1–P4).
Text ignores case; negative operators (`neq`, `not_in`, `not_contains`, `is_unknown`) match
exactly the contacts the positive one does not, contacts without a value included. Dates
given without a time, and relative dates, compare whole days."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.models import F, Q
from django.db.models.functions import Reverse
from django.db.models.lookups import StartsWith
from django.utils.translation import gettext, gettext_lazy

from . import filter_schema as fs
from .contact_filters import (
    DATE_OPERATORS,
    ENUM_OPERATORS,
    NUMBER_OPERATORS,
    SUBSTRING_LOOKUPS,
    TEXT_OPERATORS,
    Comparison,
    Condition,
    FilterContext,
    FilterInvalid,
    FilterType,
    clean_comparison,
    comparison_json,
    describe_comparison,
    expect_keys,
    field_condition,
    resolve_date,
    too_long,
)
from .hubspot.search_targets import (
    CustomTarget,
    DateTimeTarget,
    FilterError,
    SecondaryEmailTarget,
    TextColumnTarget,
    target_for,
)
from .models import PropertyType
from .properties import MAX_PROPERTY_NAME_LENGTH, PropertySpec, spec_label

KIND_BY_TYPE = {
    PropertyType.STRING: "text",
    PropertyType.NUMBER: "number",
    PropertyType.DATE: "date",
    PropertyType.DATETIME: "date",
    PropertyType.ENUMERATION: "enumeration",
    PropertyType.BOOL: "enumeration",
}
OPERATORS_BY_KIND = {
    "text": TEXT_OPERATORS + ("lt", "lte", "gt", "gte", "between"),
    "number": NUMBER_OPERATORS,
    "date": DATE_OPERATORS,
    "enumeration": ENUM_OPERATORS,
}
_HUBSPOT_OP = {"eq": "EQ", "lt": "LT", "lte": "LTE", "gt": "GT", "gte": "GTE"}
# Columns stored lower-cased: compared without LOWER() so that indexes stay usable.
LOWERCASE_COLUMNS = {"email"}


def property_kind(spec: PropertySpec) -> str:
    return KIND_BY_TYPE.get(spec.type, "text")


def clean(node, ctx: FilterContext) -> dict:
    expect_keys(node, {"property", "operator", "value"})
    name = node.get("property")
    if not isinstance(name, str) or not name:
        raise FilterInvalid(gettext("property is required"), "property")
    if len(name) > MAX_PROPERTY_NAME_LENGTH:
        raise too_long(name, MAX_PROPERTY_NAME_LENGTH, "property")
    spec = ctx.specs.get(name)
    if spec is None:
        raise FilterInvalid(
            gettext("Property %(name)s does not exist") % {"name": repr(name)}, "property"
        )
    kind = property_kind(spec)
    comparison = clean_comparison(node, kind, ctx, operators=OPERATORS_BY_KIND[kind])
    if kind == "enumeration" and spec.options and comparison.value is not None:
        values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
        allowed = spec.option_values if spec.type != PropertyType.BOOL else {"true", "false"}
        bad = [v for v in values if str(v) not in allowed]
        if bad:
            raise FilterInvalid(
                gettext("%(value)s is not an option of %(property)s: %(options)s")
                % {"value": repr(bad[0]), "property": name, "options": ", ".join(sorted(allowed))},
                "value",
            )
    cleaned = {"type": "property", "property": name, **comparison_json(comparison)}
    # A value the query cannot use (a record id of 1.5, say) is refused now, when the filter
    # is saved, rather than when it is counted.
    condition(cleaned, ctx)
    return cleaned


def _comparison(node: dict, ctx: FilterContext, kind: str) -> Comparison:
    return clean_comparison(node, kind, ctx, operators=OPERATORS_BY_KIND[kind])


def condition(node: dict, ctx: FilterContext) -> Condition:
    spec = ctx.specs.get(node["property"])
    if spec is None:  # the property was deleted since the filter was saved
        return Condition(row=Q(pk__in=[]))
    kind = property_kind(spec)
    comparison = _comparison(node, ctx, kind)
    target = target_for(spec)
    op = comparison.operator
    positive_op = {
        "neq": "eq",
        "not_in": "in",
        "not_contains": "contains",
        "is_unknown": "is_known",
    }.get(op, op)
    if isinstance(target, DateTimeTarget):
        # A timestamp column: whole days when the value has no time (and relative dates).
        return Condition(row=field_condition(spec.column, comparison, "date", ctx))
    try:
        positive = _positive(target, spec, kind, positive_op, comparison, ctx)
    except FilterError as exc:
        raise FilterInvalid(str(exc), "value")
    return Condition(row=target.negate(positive) if op != positive_op else positive)


def _convert(value, kind: str, ctx: FilterContext, spec: PropertySpec) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if kind == "date":
        moment = resolve_date(value, ctx)
        if spec.type == PropertyType.DATE:
            return moment.date().isoformat()
        return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _positive(target, spec, kind, op, comparison: Comparison, ctx) -> Q:
    value = comparison.value
    if op == "is_known":
        return target.positive("HAS_PROPERTY")
    if op in SUBSTRING_LOOKUPS:
        return _substring(target, op, str(value), ctx)
    if op == "in":
        return target.positive("IN", values=[_convert(v, kind, ctx, spec) for v in value])
    if op == "between":
        low, high = (_convert(v, kind, ctx, spec) for v in value)
        if kind == "date" and spec.type == PropertyType.DATETIME and comparison.date_only:
            high = high[:10] + "T23:59:59.999Z"
        return target.positive("BETWEEN", low, high)
    converted = _convert(value, kind, ctx, spec)
    if (
        kind == "date"
        and spec.type == PropertyType.DATETIME
        and (comparison.date_only or isinstance(value, dict))
    ):
        return _whole_day_text(target, op, converted[:10])
    if (
        kind == "text"
        and spec.column in LOWERCASE_COLUMNS
        and op in ("eq", "lt", "lte", "gt", "gte")
    ):
        column = spec.column
        lookup = "" if op == "eq" else f"__{op}"
        return Q(**{f"{column}{lookup}": converted.strip().lower()}) & target.has()
    return target.positive(_HUBSPOT_OP[op], converted)


def _whole_day_text(target, op: str, day: str) -> Q:
    """A custom date-time property (ISO text) against a whole day."""
    start, end = f"{day}T00:00:00", f"{day}T23:59:59.999Z"
    return {
        "eq": target.positive("BETWEEN", start, end),
        "lt": target.positive("LT", start),
        "lte": target.positive("LTE", end),
        "gt": target.positive("GT", end),
        "gte": target.positive("GTE", start),
    }[op]


def _substring(target, op: str, value: str, ctx: FilterContext) -> Q:
    if isinstance(target, SecondaryEmailTarget):
        return target._exists(_substring(target.inner, op, value, ctx))
    if isinstance(target, TextColumnTarget):
        column = target.column
        lookup = {"contains": "contains", "starts_with": "startswith", "ends_with": "endswith"}[op]
        domain = value.strip().lower()[1:] if value.strip().startswith("@") else ""
        own = target.spec.name == "email"  # not a secondary e-mail's column
        if own and op == "ends_with" and ctx.rollups and domain and "@" not in domain:
            # "@gmail.com" ends an e-mail exactly when it is the part after the last "@": the
            # stored domain column and its index (contact_live_domain_id_idx).
            return Q(email_domain=domain)
        if column == "email" and op == "ends_with" and connection.vendor == "postgresql":
            # A prefix of the reversed e-mail: served by contact_email_reversed_idx (crm
            # migration), where LIKE '%@domain' would read every contact.
            return Q(StartsWith(Reverse(F(column)), value.strip().lower()[::-1]))
        if column in LOWERCASE_COLUMNS:
            return Q(**{f"{column}__{lookup}": value.strip().lower()})
        return Q(**{f"{column}__i{lookup}": value})
    if isinstance(target, CustomTarget):
        return Q(SUBSTRING_LOOKUPS[op](target.text, value))
    raise FilterInvalid(
        gettext("%(operator)s is not supported for %(property)s")
        % {"operator": op, "property": target.spec.name},
        "operator",
    )


def describe(node: dict, ctx: FilterContext) -> str:
    spec = ctx.specs.get(node["property"])
    dates = spec is not None and spec.type in (PropertyType.DATE, PropertyType.DATETIME)
    return describe_comparison(spec_label(spec) if spec else node["property"], node, dates=dates)


PROPERTY_OPERATORS = tuple(dict.fromkeys(op for ops in OPERATORS_BY_KIND.values() for op in ops))


def schema(direction: str) -> dict:
    """Which operators and values fit depends on the property's type (OPERATORS_BY_KIND)."""
    return fs.node(
        "property",
        direction,
        {
            "property": {"type": "string", "minLength": 1, "description": "A property's name"},
            "operator": fs.operator_enum(PROPERTY_OPERATORS),
            "value": fs.comparison_value(fs.any_item(direction), PROPERTY_OPERATORS, direction),
        },
        required=["property", "operator"],
    )


PROPERTY_FILTER = FilterType(
    name="property",
    label=gettext_lazy("Contact property"),
    group="contact",
    clean=clean,
    condition=condition,
    describe=describe,
    schema=schema,
)
