"""Marketing-event filters of the Filter JSON (rule G2), registered into the CRM's filter
registry by this app:

- `{"type": "event_registered" | "event_cancelled" | "event_attended", "event_id": ID | null,
  "negate": false}` — a given event or any (`null`). "Registered" means registered and not
  cancelled; later attendance does not remove it. With `"count": {"operator": OP, "value": N}`
  (and no event) the number of events the contact is in that state for compares ("attended
  at least 3 events": `{"operator": "gte", "value": 3}`; 0 for someone with none).
- `{"type": "event_attendance_duration", "event_id": ID | null, "operator": OP,
  "value": SECONDS, "negate": false}` — attendees whose event-level duration compares;
  with `"total": true` (and no event) the seconds attended at all events together compare
  (0 for someone who never attended).

Each compiles to a set of contact ids read from participations (indexed by event and state);
a negated filter is "not in" the positive set (rule G4). Where the contacts' rollups answer a
filter exactly (any event; the number of events; the total) the set is read from them
instead: the narrow `ContactActivity` table and its partial indexes
(`marketing_events.activity`), unless the context turns rollups off."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
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
    comparison_json,
    describe_comparison,
    expect_keys,
    field_condition,
)

from .models import ContactActivity, MarketingEvent, Participation, ParticipationState

STATES = {
    "event_registered": (ParticipationState.REGISTERED, ParticipationState.ATTENDED),
    "event_cancelled": (ParticipationState.CANCELLED,),
    "event_attended": (ParticipationState.ATTENDED,),
}
DURATION_OPERATORS = tuple(op for op in NUMBER_OPERATORS if op not in NO_VALUE)
COUNT_OPERATORS = DURATION_OPERATORS


def clean_event_id(node, ctx: FilterContext) -> int | None:
    raw = node.get("event_id")
    if raw is None:
        return None
    text = str(raw).strip() if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    # ASCII digits, as many as an id has at most ("²" is a digit to isdigit(), not to int()).
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise FilterInvalid(
            _("event_id must be a marketing event id (a number) or null"), "event_id"
        )
    event_id = int(text)
    if ctx.check_references and not MarketingEvent.objects.filter(pk=event_id).exists():
        raise FilterInvalid(
            _("Marketing event %(id)s does not exist") % {"id": event_id}, "event_id"
        )
    return event_id


def _participations(node: dict, states) -> Q:
    condition = Q(state__in=list(states))
    if node.get("event_id") is not None:
        condition &= Q(event_id=node["event_id"])
    return condition


def _one_event(node: dict) -> bool:
    # One event's participations are read from the (event, state) index, whatever the size of
    # the database; "any event" may be millions of rows.
    return node.get("event_id") is not None


def _count_comparison(node, ctx: FilterContext):
    if node.get("count") is None:
        return None
    return clean_comparison(node["count"], "number", ctx, prefix="count", operators=COUNT_OPERATORS)


def _state_clean(node, ctx: FilterContext) -> dict:
    expect_keys(node, {"event_id", "negate", "count"})
    cleaned = {
        "type": node["type"],
        "event_id": clean_event_id(node, ctx),
        "negate": clean_bool(node, "negate"),
    }
    count = _count_comparison(node, ctx)
    if count is not None:
        if cleaned["event_id"] is not None:
            raise FilterInvalid(_("count counts every event: it takes no event_id"), "count")
        values = count.value if isinstance(count.value, tuple) else (count.value,)
        if any(v < 0 or v != v.to_integral() for v in values):
            raise FilterInvalid(_("a number of events is a whole number, 0 or more"), "count.value")
        cleaned["count"] = comparison_json(count)
    return cleaned


# The rollup counting the participations each state filter looks for (any event).
ROLLUPS = {
    "event_registered": "events_registered",
    "event_cancelled": "events_cancelled",
    "event_attended": "events_attended",
}


def _rollup_condition(field: str, comparison, negate: bool, ctx: FilterContext) -> Condition:
    """A rollup compares: the contacts whose row matches. A contact without a row has 0 and
    no row to match: when 0 matches, the set is that of the rows that do not match, negated
    (a row holding 0 is among neither)."""
    zero_matches = _holds(comparison.operator, comparison.value, 0)
    matches = field_condition(field, comparison, "number", ctx)
    where = ~matches if zero_matches else matches
    rows = ContactActivity.objects.filter(where)
    return Condition(ids=rows.values("contact_id"), negate=negate != zero_matches, keyed=where)


def _count_condition(node: dict, comparison, ctx: FilterContext) -> Condition:
    """The number of events in that state compares: the rollup counting them, or the participations
    counted per contact (someone without any has 0 and no row to count: when 0 matches, the
    set is that of the contacts with some whose number does not match, as for totals)."""
    negate = node.get("negate", False)
    if ctx.rollups:
        return _rollup_condition(ROLLUPS[node["type"]], comparison, negate, ctx)
    zero_matches = _holds(comparison.operator, comparison.value, 0)
    having = field_condition("events", comparison, "number", ctx)
    ids = (
        Participation.objects.filter(state__in=list(STATES[node["type"]]))
        .order_by()
        .values("contact_id")
        .annotate(events=Count("id"))
        .filter(~having if zero_matches else having)
        .values("contact_id")
    )
    return Condition(ids=ids, negate=negate != zero_matches)


def _state_condition(node: dict, ctx: FilterContext) -> Condition:
    count = _count_comparison(node, ctx)
    if count is not None:
        return _count_condition(node, count, ctx)
    if node.get("event_id") is None and ctx.rollups:
        # Any event: the contacts whose rollup counts one (a partial index of each).
        where = Q(**{f"{ROLLUPS[node['type']]}__gt": 0})
        rows = ContactActivity.objects.filter(where)
        return Condition(
            ids=rows.values("contact_id"), negate=node.get("negate", False), keyed=where
        )
    ids = Participation.objects.filter(_participations(node, STATES[node["type"]]))
    return Condition(
        ids=ids.values("contact_id"),
        negate=node.get("negate", False),
        narrow=_one_event(node),
        distinct=_one_event(node),  # one participation per contact and event
    )


def _event_label(node: dict) -> str:
    if node.get("event_id") is None:
        return str(_("any event"))
    name = MarketingEvent.objects.filter(pk=node["event_id"]).values_list("name", flat=True)
    if not name:
        return _("event %(id)s (deleted)") % {"id": node["event_id"]}
    # Translators: an event's name, quoted in a filter's summary.
    return _("“%(name)s”") % {"name": name[0]}


def _state_describe(node: dict, ctx: FilterContext) -> str:
    # Translators: %(event)s is an event's quoted name or "any event".
    sentence = {
        "event_registered": (_("Registered for %(event)s"), _("Not registered for %(event)s")),
        "event_cancelled": (
            _("Cancelled registration for %(event)s"),
            _("Did not cancel for %(event)s"),
        ),
        "event_attended": (_("Attended %(event)s"), _("Did not attend %(event)s")),
    }[node["type"]][1 if node.get("negate") else 0]
    text = sentence % {"event": _event_label(node)}
    if node.get("count"):
        # Translators: a filter's name, then how many events, e.g. "Attended any event:
        # number of events is at least 3".
        text = _("%(filter)s: %(conditions)s") % {
            "filter": text,
            "conditions": describe_comparison(str(_("number of events")), node["count"]),
        }
    return text


def _duration_clean(node, ctx: FilterContext) -> dict:
    expect_keys(node, {"event_id", "operator", "value", "negate", "total"})
    comparison = clean_comparison(node, "number", ctx, operators=DURATION_OPERATORS)
    cleaned = {
        "type": node["type"],
        "event_id": clean_event_id(node, ctx),
        **comparison_json(comparison),
        "negate": clean_bool(node, "negate"),
    }
    if clean_bool(node, "total"):
        if cleaned["event_id"] is not None:
            raise FilterInvalid(_("total adds up every event: it takes no event_id"), "total")
        cleaned["total"] = True
    return cleaned


def _holds(op: str, value, number) -> bool:
    """Whether `number` satisfies a clean numeric comparison."""
    if op == "between":
        return value[0] <= number <= value[1]
    if op in ("in", "not_in"):
        return (number in value) == (op == "in")
    return {
        "eq": number == value,
        "neq": number != value,
        "lt": number < value,
        "lte": number <= value,
        "gt": number > value,
        "gte": number >= value,
    }[op]


def _total_condition(node: dict, comparison, ctx: FilterContext) -> Condition:
    negate = node.get("negate", False)
    if ctx.rollups:
        return _rollup_condition("attended_seconds", comparison, negate, ctx)
    # From the participations: a contact who never attended has a total of 0, and no row to
    # sum, so when 0 matches the set is that of the attendees whose total does not match.
    zero_matches = _holds(comparison.operator, comparison.value, 0)
    having = field_condition("total", comparison, "number", ctx)
    ids = (
        Participation.objects.filter(state=ParticipationState.ATTENDED)
        .order_by()
        .values("contact_id")
        .annotate(total=Sum("duration_seconds"))
        .filter(~having if zero_matches else having)
        .values("contact_id")
    )
    return Condition(ids=ids, negate=negate != zero_matches)


def _duration_condition(node: dict, ctx: FilterContext) -> Condition:
    comparison = clean_comparison(node, "number", ctx, operators=DURATION_OPERATORS)
    if node.get("total"):
        return _total_condition(node, comparison, ctx)
    ids = Participation.objects.filter(
        _participations(node, STATES["event_attended"]),
        field_condition("duration_seconds", comparison, "number", ctx),
    )
    return Condition(
        ids=ids.values("contact_id"),
        negate=node.get("negate", False),
        narrow=_one_event(node),
        distinct=_one_event(node),  # one participation per contact and event
    )


def _duration_describe(node: dict, ctx: FilterContext) -> str:
    label = (
        _("Total attendance duration at all events")
        if node.get("total")
        else _("Attendance duration at %(event)s") % {"event": _event_label(node)}
    )
    text = describe_comparison(
        label,
        node,
        # Translators: the abbreviation of "minutes" after a number.
        unit=" " + pgettext("abbreviation of minutes", "min"),
        scale=60,
    )
    return _("Not: %(text)s") % {"text": text} if node.get("negate") else text


def _event_id(direction: str) -> dict:
    return fs.reference_id(
        direction,
        response={"type": "integer"},
        description="A marketing event's id; null: any event",
    )


def _state_schema(type_name: str):
    def schema(direction: str) -> dict:
        properties = {
            "event_id": _event_id(direction),
            "negate": fs.negate(),
            "count": {
                "allOf": [fs.ref("MeasureComparison", direction)],
                **({"nullable": True} if direction == fs.REQUEST else {}),
                "description": "With event_id null: the number of events the contact is in "
                "this state for compares (whole numbers, 0 or more)",
            },
        }
        return fs.node(type_name, direction, properties, always=["event_id", "negate"])

    return schema


def _duration_schema(direction: str) -> dict:
    properties = {
        "event_id": _event_id(direction),
        "operator": fs.operator_enum(DURATION_OPERATORS),
        "value": fs.comparison_value(fs.number_item(direction), DURATION_OPERATORS, direction),
        "negate": fs.negate(),
        "total": {
            "type": "boolean",
            "description": "true: the seconds attended at all events together (event_id null)",
        },
    }
    return fs.node(
        "event_attendance_duration",
        direction,
        properties,
        required=["operator", "value"],
        always=["event_id", "negate"],
    )


FILTER_TYPES = [
    FilterType(
        "event_registered",
        gettext_lazy("Registered for event"),
        "marketing_events",
        _state_clean,
        _state_condition,
        _state_describe,
        _state_schema("event_registered"),
    ),
    FilterType(
        "event_cancelled",
        gettext_lazy("Cancelled registration"),
        "marketing_events",
        _state_clean,
        _state_condition,
        _state_describe,
        _state_schema("event_cancelled"),
    ),
    FilterType(
        "event_attended",
        gettext_lazy("Attended event"),
        "marketing_events",
        _state_clean,
        _state_condition,
        _state_describe,
        _state_schema("event_attended"),
    ),
    FilterType(
        "event_attendance_duration",
        gettext_lazy("Attendance duration"),
        "marketing_events",
        _duration_clean,
        _duration_condition,
        _duration_describe,
        _duration_schema,
    ),
]
