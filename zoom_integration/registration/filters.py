"""Filters on registration answers and attribution (Filter JSON, rules E1, E4, E5):

- `{"type": "zoom_registration_answer", "webinar_id"?, "question": "Company size",
  "operator": OP, "value": V}`: a registration (of that webinar, or any Zoom webinar) whose
  answer to the question compares; `question` is Zoom's field name or the custom title. A
  multi-choice answer (a list) matches when one of its choices compares (`eq`/`in` on one
  choice, `contains` within one…); a text answer is compared whole.
- `{"type": "registration_source", "event_id"?, "field": "tracking_source|utm_source|…|referrer",
  "operator": OP, "value": V}`: a registration (for that marketing event, or any) whose source
  field compares; `tracking_source` compares the source's name.

Both read `RegistrationDetails` in the database (an EXISTS over contact ids, rule G4); text
comparisons ignore case."""

from __future__ import annotations

import json

from django.db.models import CharField, F, Func, Q, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Lower
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm import filter_schema as fs
from crm.contact_filters import (
    NEGATIVE,
    TEXT_OPERATORS,
    Comparison,
    Condition,
    FilterContext,
    FilterInvalid,
    FilterType,
    clean_comparison,
    clean_id,
    comparison_json,
    describe_comparison,
    expect_keys,
    field_condition,
)
from marketing_events.models import RegistrationDetails
from marketing_events.models_registration import UTM_FIELDS

SOURCE_FIELDS = ("tracking_source", *UTM_FIELDS, "referrer")


def _comparison(node, ctx):
    return clean_comparison(
        {"operator": node.get("operator"), "value": node.get("value")}, "text", ctx
    )


def clean(node, ctx: FilterContext) -> dict:
    kind = node["type"]
    if kind == "zoom_registration_answer":
        expect_keys(node, {"webinar_id", "question", "operator", "value"})
        webinar_id = clean_id(node.get("webinar_id"), "webinar_id", required=False)
        if webinar_id is not None and not webinar_id.isdigit():
            raise FilterInvalid(
                _("%(id)s is not a Zoom webinar id (digits only, no spaces or dashes)")
                % {"id": repr(webinar_id)},
                "webinar_id",
            )
        question = node.get("question")
        if not isinstance(question, str) or not question.strip() or len(question) > 300:
            raise FilterInvalid(_("question: a question of 1 to 300 characters"), "question")
        head = {"type": kind, "webinar_id": webinar_id, "question": question.strip()}
        values = node.get("value") if isinstance(node.get("value"), list) else [node.get("value")]
        if any(isinstance(v, str) and MARK in v for v in values):
            raise FilterInvalid(_("value: a control character an answer never holds"), "value")
    else:
        expect_keys(node, {"event_id", "field", "operator", "value"})
        field = node.get("field")
        if field not in SOURCE_FIELDS:
            raise FilterInvalid(
                _("field: one of %(fields)s") % {"fields": ", ".join(SOURCE_FIELDS)}, "field"
            )
        event_id = clean_id(node.get("event_id"), "event_id", required=False)
        if event_id is not None and not event_id.isdigit():
            raise FilterInvalid(
                _("%(id)s is not a marketing event id") % {"id": repr(event_id)}, "event_id"
            )
        head = {"type": kind, "event_id": int(event_id) if event_id else None, "field": field}
    return {**head, **comparison_json(_comparison(node, ctx))}


def _text(expression):
    # Compared lower-cased (`field_condition(lowered=True)`): text comparisons ignore case.
    return Lower(Cast(expression, output_field=CharField()))


# Frames every choice of an answer in the text the filter compares (a character no answer
# holds; a value that holds it is refused).
MARK = "\x1f"


class FramedAnswer(Func):
    """One answer's text, lower-cased, each choice framed by MARK: `["AI", "Cloud"]` →
    "␟ai␟cloud␟", `"11-100"` → "␟11-100␟"; NULL when the registration did not answer. A
    choice then compares with LIKE on the framed text (`␟v␟`: equal to one choice), with
    no set-returning function in the filter's WHERE."""

    output_field = TextField()

    def __init__(self, question: str):
        super().__init__(F("answers"))
        self.question = question

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"lower(CASE jsonb_typeof({column} -> %s) WHEN 'array' THEN chr(31) || "
            f"array_to_string(ARRAY(SELECT jsonb_array_elements_text({column} -> %s)), "
            f"chr(31)) || chr(31) ELSE chr(31) || ({column} ->> %s) || chr(31) END)"
        )
        key = self.question
        return sql, (*params, key, *params, key, *params, key)

    def as_sql(self, compiler, connection, **extra):  # SQLite
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"lower(CASE json_type({column}, %s) WHEN 'array' THEN char(31) || "
            f"(SELECT group_concat(value, char(31)) FROM json_each({column}, %s)) || "
            f"char(31) ELSE char(31) || json_extract({column}, %s) || char(31) END)"
        )
        path = "$." + json.dumps(self.question)  # a quoted key, whatever its characters
        return sql, (*params, path, *params, path, *params, path)


def _framed_condition(comparison: Comparison) -> Q:
    """`field_condition`'s meaning on a framed answer ("compared"): a choice equal to / among
    / containing / starting / ending with the value; negative operators match a registration
    none of whose choices does, or that did not answer."""
    op = comparison.operator
    positive_op = NEGATIVE.get(op, op)
    if positive_op == "is_known":
        known = Q(compared__isnull=False) & ~Q(compared=MARK + MARK)
        return ~known | Q(compared__isnull=True) if op in NEGATIVE else known
    values = comparison.value if positive_op == "in" else [comparison.value]
    frame = {
        "eq": (MARK, MARK),
        "in": (MARK, MARK),
        "contains": ("", ""),
        "starts_with": (MARK, ""),
        "ends_with": ("", MARK),
    }[positive_op]
    positive = Q()
    for value in values:
        positive |= Q(compared__contains=frame[0] + str(value).lower() + frame[1])
    if op in NEGATIVE:
        return ~positive | Q(compared__isnull=True)
    return positive


def condition(node: dict, ctx: FilterContext) -> Condition:
    rows = RegistrationDetails.objects.all()
    comparison = _comparison(node, ctx)
    if node["type"] == "zoom_registration_answer":
        rows = rows.annotate(compared=FramedAnswer(node["question"])).filter(
            participation__event__source="zoom"
        )
        if node.get("webinar_id"):
            rows = rows.filter(participation__event__external_event_id=node["webinar_id"])
        where = _framed_condition(comparison)
        ids = rows.filter(where).annotate(contact_id=F("participation__contact_id"))
        return Condition(ids=ids.values("contact_id"), narrow=bool(node.get("webinar_id")))
    field = node["field"]
    if field == "tracking_source":
        column = Lower("source_name")
    elif field == "referrer":
        column = Lower("referrer")
    else:
        column = _text(KT(f"utm__{field}"))
    rows = rows.annotate(compared=column)
    if node.get("event_id"):
        rows = rows.filter(event_id=node["event_id"])
    where = field_condition("compared", comparison, "text", ctx, lowered=True)
    ids = rows.filter(where).annotate(contact_id=F("participation__contact_id"))
    return Condition(ids=ids.values("contact_id"), narrow=bool(node.get("event_id")))


def describe(node: dict, ctx: FilterContext) -> str:
    if node["type"] == "zoom_registration_answer":
        head = _("Zoom registration answer")
        label = node["question"]
        if node.get("webinar_id"):
            label = _("%(question)s (webinar %(id)s)") % {
                "question": label,
                "id": node["webinar_id"],
            }
    else:
        head = _("Registration source")
        label = node["field"]
    return _("%(filter)s: %(conditions)s") % {
        "filter": head,
        "conditions": describe_comparison(str(label), node),
    }


def _schema(kind: str):
    def node_schema(direction: str) -> dict:
        properties: dict = {}
        if kind == "zoom_registration_answer":
            properties["webinar_id"] = fs.reference_id(
                direction,
                response={"type": "string", "pattern": fs.DIGITS},
                description="A Zoom webinar id; null: any webinar",
            )
            properties["question"] = {
                "type": "string",
                "minLength": 1,
                "maxLength": 300,
                "description": "Zoom's field name, or the custom question's title",
            }
            required = ["question", "operator"]
        else:
            properties["event_id"] = fs.reference_id(
                direction,
                response={"type": "integer"},
                description="A marketing event id; null: any event",
            )
            properties["field"] = {"type": "string", "enum": list(SOURCE_FIELDS)}
            required = ["field", "operator"]
        properties["operator"] = fs.operator_enum(TEXT_OPERATORS)
        properties["value"] = fs.comparison_value(
            fs.text_item(direction), TEXT_OPERATORS, direction
        )
        return fs.node(kind, direction, properties, required=required)

    return node_schema


def _answer_pickers() -> dict[str, str]:
    return {"questions": reverse("zoom_integration:pick_questions")}


def _source_pickers() -> dict[str, str]:
    return {"values": reverse("zoom_integration:pick_sources")}


FILTER_TYPES = [
    FilterType(
        "zoom_registration_answer",
        gettext_lazy("Zoom registration answer"),
        "zoom",
        clean,
        condition,
        describe,
        _schema("zoom_registration_answer"),
        pickers=_answer_pickers,
    ),
    FilterType(
        "registration_source",
        gettext_lazy("Registration source"),
        "zoom",
        clean,
        condition,
        describe,
        _schema("registration_source"),
        pickers=_source_pickers,
    ),
]
