"""Zoom filters of the Filter JSON (rule G2), registered into the CRM's filter registry:

- `{"type": "zoom_webinar_attendance", "webinar_id"?, "webinar_name": {"operator", "value"}?,
  "duration": {…}? (seconds), "duration_percent": {…}?, "negate": false}`
- `{"type": "zoom_webinar_registration", "webinar_id"?, "webinar_name": {…}?, "negate": false}`
- `{"type": "zoom_recording_available", "topic": {…}?, "start_time": {…}?,
  "recording_url": {…}?, "negate": false}`

Attendance and registration read the participations of the marketing events the sync keeps
for Zoom webinars (source "zoom", external id = the webinar id); all conditions of one filter
hold for the same participation. Recordings read the contacts' "recording available" timeline
entries (rules S2/S4 decide who gets one)."""

from __future__ import annotations

import re
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from crm import filter_schema as fs
from crm.contact_filters import (
    NO_VALUE,
    NUMBER_OPERATORS,
    Condition,
    FilterContext,
    FilterInvalid,
    FilterType,
    clean_bool,
    clean_comparison,
    clean_id,
    comparison_json,
    describe_comparison,
    expect_keys,
    field_condition,
)
from crm.models import TimelineEvent
from marketing_events.filters import STATES
from marketing_events.models import Participation

RECORDING_KIND = "zoom_recording_available"
SOURCE = "zoom"
MEASURE_OPERATORS = tuple(op for op in NUMBER_OPERATORS if op not in NO_VALUE)


# -- the webinar a filter names, shared with the engagement filters -------------------------


def webinar_id_clean(node) -> str | None:
    """The node's `webinar_id` (a Zoom webinar id: digits), or None for any webinar."""
    webinar_id = clean_id(node.get("webinar_id"), "webinar_id", required=False)
    if webinar_id is not None and not webinar_id.isdigit():
        raise FilterInvalid(
            _("%(id)s is not a Zoom webinar id (digits only, no spaces or dashes)")
            % {"id": repr(webinar_id)},
            "webinar_id",
        )
    return webinar_id


def one_webinar(node: dict) -> Q:
    """Rows (with an `event`) of the webinar the node names; any row when it names none."""
    if not node.get("webinar_id"):
        return Q()
    return Q(event__source=SOURCE, event__external_event_id=node["webinar_id"])


def webinar_schema(direction: str) -> dict:
    return fs.reference_id(
        direction,
        response={"type": "string", "pattern": fs.DIGITS},
        description="A Zoom webinar id; null: any webinar",
    )


def webinar_details(node: dict) -> list[str]:
    """The start of a description's conditions: the webinar, when the node names one."""
    return [_("webinar %(id)s") % {"id": node["webinar_id"]}] if node.get("webinar_id") else []


def with_details(head: str, details: list[str]) -> str:
    if not details:
        return head
    # Translators: a filter's name, then its conditions, e.g. "Attended a Zoom webinar: …".
    return _("%(filter)s: %(conditions)s") % {"filter": head, "conditions": ", ".join(details)}


def sub_comparison(node, key: str, kind: str, ctx: FilterContext, operators=None):
    """The node's comparison under `key` (e.g. `duration`), or None when it has none."""
    if node.get(key) is None:
        return None
    return clean_comparison(node[key], kind, ctx, prefix=key, operators=operators)


# Sub-comparisons each filter takes: key -> (kind, column on participations, operators).
ATTENDANCE_PARTS = {
    "webinar_name": ("text", "event__name", None),
    "duration": ("number", "duration_seconds", MEASURE_OPERATORS),
    "duration_percent": ("number", "attendance_percent", MEASURE_OPERATORS),
}
REGISTRATION_PARTS = {"webinar_name": ATTENDANCE_PARTS["webinar_name"]}
RECORDING_PARTS = {
    "topic": ("text", "data__webinar_name", None),
    "start_time": ("date", "occurred_at", None),
    "recording_url": ("text", "data__recording_url", None),
}
PARTS = {
    "zoom_webinar_attendance": ATTENDANCE_PARTS,
    "zoom_webinar_registration": REGISTRATION_PARTS,
    "zoom_recording_available": RECORDING_PARTS,
}


def clean(node, ctx: FilterContext) -> dict:
    kind = node["type"]
    parts = PARTS[kind]
    with_webinar = kind != "zoom_recording_available"
    expect_keys(node, set(parts) | {"negate"} | ({"webinar_id"} if with_webinar else set()))
    cleaned: dict = {"type": kind}
    if with_webinar:
        cleaned["webinar_id"] = webinar_id_clean(node)
    for key, (value_kind, _column, operators) in parts.items():
        comparison = sub_comparison(node, key, value_kind, ctx, operators)
        if comparison is not None:
            cleaned[key] = comparison_json(comparison)
    if kind == "zoom_webinar_attendance" and "duration_percent" in cleaned:
        values = cleaned["duration_percent"].get("value")
        values = values if isinstance(values, list) else [values]
        if any(v < 0 or v > 100 for v in values):
            raise FilterInvalid(_("a percent is between 0 and 100"), "duration_percent.value")
    cleaned["negate"] = clean_bool(node, "negate")
    return cleaned


def _where(node: dict, ctx: FilterContext) -> Q:
    condition = Q()
    for key, (value_kind, column, operators) in PARTS[node["type"]].items():
        comparison = sub_comparison(node, key, value_kind, ctx, operators)
        if comparison is not None:
            condition &= field_condition(column, comparison, value_kind, ctx)
    return condition


def condition(node: dict, ctx: FilterContext) -> Condition:
    kind = node["type"]
    if kind == "zoom_recording_available":
        ids = TimelineEvent.objects.filter(Q(kind=RECORDING_KIND) & _where(node, ctx))
        return Condition(ids=ids.values("contact_id"), negate=node.get("negate", False))
    states = STATES["event_attended" if kind == "zoom_webinar_attendance" else "event_registered"]
    where = Q(state__in=list(states), event__source=SOURCE) & _where(node, ctx) & one_webinar(node)
    ids = Participation.objects.filter(where)
    # One webinar's participations are few; a webinar name may match any number of webinars.
    return Condition(
        ids=ids.values("contact_id"),
        negate=node.get("negate", False),
        narrow=bool(node.get("webinar_id")),
    )


def describe(node: dict, ctx: FilterContext) -> str:
    kind = node["type"]
    head = {
        "zoom_webinar_attendance": (_("Attended a Zoom webinar"), _("Did not attend")),
        "zoom_webinar_registration": (_("Registered for a Zoom webinar"), _("Not registered")),
        "zoom_recording_available": (_("Zoom recording available"), _("No Zoom recording")),
    }[kind][1 if node.get("negate") else 0]
    labels = {
        "webinar_name": (_("webinar name"), "", 1),
        # Translators: the abbreviation of "minutes" after a number.
        "duration": (_("duration"), " " + pgettext("abbreviation of minutes", "min"), 60),
        "duration_percent": (_("duration"), "%", 1),
        "topic": (_("topic"), "", 1),
        "start_time": (_("start time"), "", 1),
        "recording_url": (_("recording URL"), "", 1),
    }
    details = webinar_details(node)
    for key in PARTS[kind]:
        if node.get(key):
            label, unit, scale = labels[key]
            details.append(describe_comparison(str(label), node[key], unit=unit, scale=scale))
    return with_details(head, details)


# Each part's comparison, as a component of `crm.filter_schema`.
PART_SCHEMAS = {
    "webinar_name": "TextComparison",
    "duration": "MeasureComparison",
    "duration_percent": "PercentComparison",
    "topic": "TextComparison",
    "start_time": "DateComparison",
    "recording_url": "TextComparison",
}


def schema(kind: str):
    def node_schema(direction: str) -> dict:
        properties = {}
        always = ["negate"]
        if kind != "zoom_recording_available":
            properties["webinar_id"] = webinar_schema(direction)
            always.insert(0, "webinar_id")
        for key in PARTS[kind]:
            properties[key] = fs.sub_comparison(PART_SCHEMAS[key], direction)
        properties["negate"] = fs.negate()
        return fs.node(kind, direction, properties, always=always)

    return node_schema


FILTER_TYPES = [
    FilterType(
        "zoom_webinar_attendance",
        gettext_lazy("Zoom webinar attendance"),
        "zoom",
        clean,
        condition,
        describe,
        schema("zoom_webinar_attendance"),
    ),
    FilterType(
        "zoom_webinar_registration",
        gettext_lazy("Zoom webinar registration"),
        "zoom",
        clean,
        condition,
        describe,
        schema("zoom_webinar_registration"),
    ),
    FilterType(
        "zoom_recording_available",
        gettext_lazy("Zoom recording available"),
        "zoom",
        clean,
        condition,
        describe,
        schema("zoom_recording_available"),
    ),
]


# ---- Rule B9: legacy-property filters → marketing-event filters ------------------------------

_WEBINAR_IN_URL = re.compile(r"/(?:j|w|s|webinar/register|webinar)/(\d{9,12})(?:\D|$)")


def _at_least_one(op: str, value) -> bool | None:
    """Does `count OP value` mean "at least one" (True), "none" (False), or neither (None)?"""
    if op == "is_known":
        return True
    if op == "is_unknown":
        return False
    if value is None or isinstance(value, list):
        return None
    number = Decimal(str(value))
    if (op == "gt" and 0 <= number < 1) or (op == "gte" and 0 < number <= 1):
        return True
    if op == "neq" and number == 0:
        return True
    if (
        (op == "eq" and number == 0)
        or (op == "lt" and 0 < number <= 1)
        or (op == "lte" and 0 <= number < 1)
    ):
        return False
    return None


def _convert_count(kind: str, what: str):
    def convert(node: dict, ctx: FilterContext) -> tuple[dict | None, str]:
        verdict = _at_least_one(node["operator"], node.get("value"))
        if verdict is None:
            return None, _(
                "No marketing-event filter counts %(what)s; this filter was kept as it is."
            ) % {"what": what}
        return {"type": kind, "webinar_id": None, "negate": not verdict}, ""

    return convert


def _convert_percent(node: dict, ctx: FilterContext) -> tuple[dict | None, str]:
    op, value = node["operator"], node.get("value")
    if op in ("is_known", "is_unknown"):
        return {
            "type": "zoom_webinar_attendance",
            "webinar_id": None,
            "negate": op == "is_unknown",
        }, ""
    if op not in ("gt", "gte", "lt", "lte", "between"):
        return None, _("No marketing-event filter matches this average; it was kept as it is.")
    return {
        "type": "zoom_webinar_attendance",
        "webinar_id": None,
        "duration_percent": {"operator": op, "value": value},
        "negate": False,
    }, _(
        "The average attendance percent became “attended a webinar with a duration percent "
        "%(op)s %(value)s”: a contact now matches on any one webinar, not on the average."
    ) % {"op": op, "value": value}


def _convert_last_url(node: dict, ctx: FilterContext) -> tuple[dict | None, str]:
    op, value = node["operator"], node.get("value")
    if op in ("is_known", "is_unknown"):
        return {
            "type": "zoom_webinar_registration",
            "webinar_id": None,
            "negate": op == "is_unknown",
        }, ""
    found = _WEBINAR_IN_URL.search(str(value or "")) if op in ("eq", "contains") else None
    if found is None:
        return None, _(
            "The webinar could not be told from this URL; this filter was kept as it is."
        )
    return {"type": "zoom_webinar_registration", "webinar_id": found.group(1), "negate": False}, _(
        "“Last registered webinar” became “registered for webinar %(id)s”: a contact also "
        "matches when a later registration was for another webinar."
    ) % {"id": found.group(1)}


def register_legacy_converters() -> None:
    from crm.contact_filters import register_property_converter

    from .legacy import P1, P2, P3, P4

    register_property_converter(P1, _convert_percent)
    register_property_converter(P2, _convert_last_url)
    register_property_converter(
        P3, _convert_count("zoom_webinar_registration", gettext_lazy("registrations"))
    )
    register_property_converter(
        P4, _convert_count("zoom_webinar_attendance", gettext_lazy("webinars attended"))
    )
