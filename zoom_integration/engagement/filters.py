"""Engagement filters of the Filter JSON (rules E6-E8), registered into the CRM's filter
registry, each compiled to a set of contact ids read from an indexed table:

- `{"type": "zoom_poll_answer" | "zoom_survey_answer", "webinar_id"?, "question":
  {"operator", "value"}?, "answer": {…}?, "negate": false}`: one answer of one person holds
  both conditions; `eq`/`neq`/`in` compare the whole answer or any element of a multi-choice
  one (Zoom separates them with ";"); text operators ignore case.
- `{"type": "zoom_asked_question", "webinar_id"?, "negate": false}`
- `{"type": "zoom_recording_viewed", "webinar_id"?, "duration": {…}? (seconds), "negate"}`
- `{"type": "zoom_engagement_score", "webinar_id"?, "operator", "value"}`: one webinar's
  participation score, or without a webinar the contact property `zoom_engagement_score`.

Anonymous answers belong to no one and match no contact."""

from __future__ import annotations

import re

from django.db.models import F, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from crm import filter_schema as fs
from crm.contact_filters import (
    NEGATIVE,
    NUMBER_OPERATORS,
    REGISTRY,
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

from ..filters import (
    MEASURE_OPERATORS,
    one_webinar,
    sub_comparison,
    webinar_details,
    webinar_id_clean,
    webinar_schema,
    with_details,
)
from .kinds import POLL, QUESTION, SURVEY
from .models import EngagementAnswer, ParticipationEngagement
from .services import CONTACT_PROPERTY

ANSWER_KIND = {"zoom_poll_answer": POLL, "zoom_survey_answer": SURVEY}
SCORE_OPERATORS = tuple(op for op in NUMBER_OPERATORS)


def _answer_q(comparison, ctx: FilterContext) -> Q:
    """`eq`/`in` (and their negatives) match the whole answer or one of its `;`-separated
    choices; other operators compare the whole text (field_condition)."""
    op = comparison.operator
    positive_op = NEGATIVE.get(op, op)
    if positive_op not in ("eq", "in"):
        return field_condition("answer", comparison, "text", ctx)
    values = comparison.value if positive_op == "in" else [comparison.value]
    positive = Q()
    for value in values:
        text = str(value)
        positive |= Q(answer__iexact=text) | Q(
            answer__iregex=r"(^|;)\s*" + re.escape(text) + r"\s*(;|$)"
        )
    return ~positive if op in NEGATIVE else positive


# -- answers (polls, surveys) and questions -------------------------------------------------


def answer_clean(node, ctx: FilterContext) -> dict:
    kind = node["type"]
    keys = {"webinar_id", "negate"} | ({"question", "answer"} if kind in ANSWER_KIND else set())
    expect_keys(node, keys)
    cleaned: dict = {"type": kind, "webinar_id": webinar_id_clean(node)}
    if kind in ANSWER_KIND:
        for key in ("question", "answer"):
            comparison = sub_comparison(node, key, "text", ctx)
            if comparison is not None:
                cleaned[key] = comparison_json(comparison)
    cleaned["negate"] = clean_bool(node, "negate")
    return cleaned


def answer_condition(node: dict, ctx: FilterContext) -> Condition:
    kind = node["type"]
    where = Q(kind=ANSWER_KIND.get(kind, QUESTION), participation__isnull=False) & one_webinar(node)
    question = sub_comparison(node, "question", "text", ctx)
    if question is not None:
        where &= field_condition("question", question, "text", ctx)
    answer = sub_comparison(node, "answer", "text", ctx)
    if answer is not None:
        where &= _answer_q(answer, ctx)
    # The compiler reads a set as `contact_id` values (EXISTS or IN on it).
    ids = (
        EngagementAnswer.objects.filter(where)
        .annotate(contact_id=F("participation__contact_id"))
        .values("contact_id")
    )
    return Condition(ids=ids, negate=node.get("negate", False), narrow=bool(node.get("webinar_id")))


def answer_describe(node: dict, ctx: FilterContext) -> str:
    head = {
        "zoom_poll_answer": (_("Answered a Zoom webinar poll"), _("Did not answer a poll")),
        "zoom_survey_answer": (_("Answered a Zoom webinar survey"), _("Did not answer a survey")),
        "zoom_asked_question": (
            _("Asked a question in a Zoom webinar"),
            _("Did not ask a question"),
        ),
    }[node["type"]][1 if node.get("negate") else 0]
    details = webinar_details(node)
    if node.get("question"):
        details.append(describe_comparison(_("question"), node["question"]))
    if node.get("answer"):
        details.append(describe_comparison(_("answer"), node["answer"]))
    return with_details(head, details)


# -- recording viewed ------------------------------------------------------------------------


def viewed_clean(node, ctx: FilterContext) -> dict:
    expect_keys(node, {"webinar_id", "duration", "negate"})
    cleaned: dict = {"type": node["type"], "webinar_id": webinar_id_clean(node)}
    duration = sub_comparison(node, "duration", "number", ctx, MEASURE_OPERATORS)
    if duration is not None:
        cleaned["duration"] = comparison_json(duration)
    cleaned["negate"] = clean_bool(node, "negate")
    return cleaned


def viewed_condition(node: dict, ctx: FilterContext) -> Condition:
    where = Q(recording_seconds__gt=0) & one_webinar(node)
    duration = sub_comparison(node, "duration", "number", ctx, MEASURE_OPERATORS)
    if duration is not None:
        where &= field_condition("recording_seconds", duration, "number", ctx)
    ids = ParticipationEngagement.objects.filter(where).values("contact_id")
    return Condition(ids=ids, negate=node.get("negate", False), narrow=bool(node.get("webinar_id")))


def viewed_describe(node: dict, ctx: FilterContext) -> str:
    head = (
        _("Did not watch a Zoom recording")
        if node.get("negate")
        else _("Watched a Zoom webinar recording")
    )
    details = webinar_details(node)
    if node.get("duration"):
        details.append(
            describe_comparison(
                _("time watched"),
                node["duration"],
                unit=" " + pgettext("abbreviation of minutes", "min"),
                scale=60,
            )
        )
    return with_details(head, details)


# -- engagement score ------------------------------------------------------------------------


def _property_node(node: dict) -> dict:
    out = {"type": "property", "property": CONTACT_PROPERTY, "operator": node["operator"]}
    if "value" in node:
        out["value"] = node["value"]
    return out


def score_clean(node, ctx: FilterContext) -> dict:
    expect_keys(node, {"webinar_id", "operator", "value"})
    comparison = clean_comparison(node, "number", ctx, operators=SCORE_OPERATORS)
    values = comparison.value if isinstance(comparison.value, list | tuple) else [comparison.value]
    if any(v is not None and not 0 <= v <= 100 for v in values):
        raise FilterInvalid(_("a score is between 0 and 100"), "value")
    return {
        "type": node["type"],
        "webinar_id": webinar_id_clean(node),
        **comparison_json(comparison),
    }


def score_condition(node: dict, ctx: FilterContext) -> Condition:
    if not node.get("webinar_id"):
        # Rule E8: without a webinar, the contact property (the mean over the last 10).
        return REGISTRY["property"].condition(_property_node(node), ctx)
    comparison = clean_comparison(node, "number", ctx, operators=SCORE_OPERATORS)
    ids = ParticipationEngagement.objects.filter(
        one_webinar(node), field_condition("score", comparison, "number", ctx)
    ).values("contact_id")
    return Condition(ids=ids, narrow=True)


def score_describe(node: dict, ctx: FilterContext) -> str:
    label = (
        _("Engagement score at webinar %(id)s") % {"id": node["webinar_id"]}
        if node.get("webinar_id")
        else _("Zoom engagement score")
    )
    return describe_comparison(label, node)


# -- schemas ---------------------------------------------------------------------------------


def _answer_schema(kind: str):
    def schema(direction: str) -> dict:
        properties = {"webinar_id": webinar_schema(direction)}
        if kind in ANSWER_KIND:
            properties["question"] = fs.sub_comparison("TextComparison", direction)
            properties["answer"] = fs.sub_comparison("TextComparison", direction)
        properties["negate"] = fs.negate()
        return fs.node(kind, direction, properties, always=["webinar_id", "negate"])

    return schema


def _viewed_schema(direction: str) -> dict:
    properties = {
        "webinar_id": webinar_schema(direction),
        "duration": fs.sub_comparison("MeasureComparison", direction),
        "negate": fs.negate(),
    }
    return fs.node("zoom_recording_viewed", direction, properties, always=["webinar_id", "negate"])


def _score_schema(direction: str) -> dict:
    properties = {
        "webinar_id": webinar_schema(direction),
        "operator": fs.operator_enum(SCORE_OPERATORS),
        "value": fs.comparison_value(
            fs.number_item(direction, minimum=0, maximum=100), SCORE_OPERATORS, direction
        ),
    }
    return fs.node(
        "zoom_engagement_score",
        direction,
        properties,
        required=["operator"],
        always=["webinar_id"],
    )


FILTER_TYPES = [
    FilterType(
        "zoom_poll_answer",
        gettext_lazy("Zoom poll answer"),
        "zoom",
        answer_clean,
        answer_condition,
        answer_describe,
        _answer_schema("zoom_poll_answer"),
    ),
    FilterType(
        "zoom_survey_answer",
        gettext_lazy("Zoom survey answer"),
        "zoom",
        answer_clean,
        answer_condition,
        answer_describe,
        _answer_schema("zoom_survey_answer"),
    ),
    FilterType(
        "zoom_asked_question",
        gettext_lazy("Asked a question in a Zoom webinar"),
        "zoom",
        answer_clean,
        answer_condition,
        answer_describe,
        _answer_schema("zoom_asked_question"),
    ),
    FilterType(
        "zoom_recording_viewed",
        gettext_lazy("Watched a Zoom webinar recording"),
        "zoom",
        viewed_clean,
        viewed_condition,
        viewed_describe,
        _viewed_schema,
    ),
    FilterType(
        "zoom_engagement_score",
        gettext_lazy("Zoom engagement score"),
        "zoom",
        score_clean,
        score_condition,
        score_describe,
        _score_schema,
    ),
]
