"""Engagement filters (rules E6-E8, DESIGN "Filter JSON"): compiled in the database, compared
with an oracle in plain Python over the same facts, under both compiler strategies; invalid
nodes are refused with the node named; a workflow trigger accepts them."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db import connection

from crm.contact_filters import FilterContext
from crm.models import Contact
from marketing_events.models import EventOccurrence, MarketingEvent, Participation
from segments.compiler import matching_contacts
from segments.tree import TreeInvalid, clean_tree
from zoom_integration.engagement.models import EngagementAnswer, ParticipationEngagement

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
STRATEGIES = ["exists", "sets"]
WEBINARS = ["81000000001", "81000000002", "81000000003"]
POLL_ANSWERS = ["This quarter", "Next quarter", "Just researching", "Pro;Enterprise"]


class World:
    """Contacts with participations in three webinars, random answers, views and scores."""

    def __init__(self) -> None:
        rng = random.Random(7)
        self.contacts = [
            Contact.objects.create(email=f"p{n}@example.com", first_name=f"P{n}") for n in range(40)
        ]
        self.answers: list[tuple[int, str, str, str, str]] = []  # contact, webinar, kind, q, a
        self.engagement: dict[tuple[int, str], tuple[int, int]] = {}  # → (seconds, score)
        for wid in WEBINARS:
            event = MarketingEvent.objects.create(
                source="zoom", external_account_id="a", external_event_id=wid, name=wid
            )
            occurrence = EventOccurrence.objects.create(event=event, external_id=f"u{wid}")
            for contact in rng.sample(self.contacts, 25):
                participation = Participation.objects.create(
                    contact=contact, event=event, state="ATTENDED"
                )
                rows = []
                if rng.random() < 0.6:
                    answer = rng.choice(POLL_ANSWERS)
                    rows.append(("poll", "When do you plan to buy?", answer))
                if rng.random() < 0.3:
                    rows.append(("question", "Is SSO included?", ""))
                if rng.random() < 0.4:
                    rows.append(("survey", "How useful?", rng.choice(["1", "3", "5"])))
                for kind, question, answer in rows:
                    EngagementAnswer.objects.create(
                        event=event,
                        occurrence=occurrence,
                        participation=participation,
                        kind=kind,
                        question=question,
                        answer=answer,
                    )
                    self.answers.append((contact.pk, wid, kind, question, answer))
                seconds = rng.choice([0, 0, 300, 1800, 4000])
                score = rng.randint(0, 100)
                ParticipationEngagement.objects.create(
                    participation=participation,
                    contact_id=contact.pk,
                    event=event,
                    recording_seconds=seconds,
                    score=score,
                    parts={},
                )
                self.engagement[(contact.pk, wid)] = (seconds, score)
            # An anonymous answer: counted for the event, matches no contact.
            EngagementAnswer.objects.create(
                event=event,
                occurrence=occurrence,
                kind="poll",
                question="When do you plan to buy?",
                answer="This quarter",
            )
        for contact in self.contacts:  # the contact property (rule E8), for some
            scores = [s for (c, _w), (_s, s) in self.engagement.items() if c == contact.pk]
            if scores:
                contact.properties = {
                    "zoom_engagement_score": str(round(sum(scores) / len(scores)))
                }
                contact.save(update_fields=["properties"])
        self.ids = {c.pk for c in self.contacts}


@pytest.fixture
def world(db):
    return World()


def evaluate(node, strategy):
    if strategy == "sets" and connection.vendor != "postgresql":
        pytest.skip("the set-operation shape is PostgreSQL's")
    ctx = FilterContext.build(now=NOW)
    tree = clean_tree({"or": [{"and": [node]}]}, ctx)
    return set(matching_contacts(tree, ctx, strategy=strategy).values_list("pk", flat=True))


def _text(value: str, op: str, arg) -> bool:
    value = value.lower()
    if op in ("eq", "in"):
        wanted = [a.lower() for a in (arg if op == "in" else [arg])]
        return value in wanted or any(c.strip() in wanted for c in value.split(";"))
    if op == "contains":
        return arg.lower() in value
    if op == "starts_with":
        return value.startswith(arg.lower())
    raise AssertionError(op)


def _number(value, op: str, arg) -> bool:
    return {
        "eq": lambda: value == arg,
        "gt": lambda: value > arg,
        "gte": lambda: value >= arg,
        "lt": lambda: value < arg,
        "lte": lambda: value <= arg,
        "between": lambda: arg[0] <= value <= arg[1],
    }[op]()


def _keep(ids: set[int], negate: bool, everyone: set[int]) -> set[int]:
    return everyone - ids if negate else ids


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("kind", ["zoom_poll_answer", "zoom_survey_answer"])
@pytest.mark.parametrize("webinar", [None, WEBINARS[1]])
@pytest.mark.parametrize("negate", [False, True])
@pytest.mark.parametrize(
    ("op", "arg"),
    [
        ("eq", "this quarter"),
        ("eq", "Enterprise"),
        ("in", ["5", "Next quarter"]),
        ("contains", "quar"),
    ],
)
def test_answer_filters_match_their_oracle(world, strategy, kind, webinar, negate, op, arg):
    # rule E6; eq/in also match one element of a multi-choice answer
    node = {"type": kind, "webinar_id": webinar, "answer": {"operator": op, "value": arg}}
    node["negate"] = negate
    answer_kind = "poll" if kind == "zoom_poll_answer" else "survey"
    ids = {
        c
        for c, w, k, _q, a in world.answers
        if k == answer_kind and (webinar is None or w == webinar) and _text(a, op, arg)
    }
    assert evaluate(node, strategy) == _keep(ids, negate, world.ids)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_question_and_answer_hold_for_the_same_answer(world, strategy):
    node = {
        "type": "zoom_poll_answer",
        "question": {"operator": "starts_with", "value": "when do"},
        "answer": {"operator": "eq", "value": "Just researching"},
    }
    ids = {c for c, _w, k, q, a in world.answers if k == "poll" and a == "Just researching"}
    assert evaluate(node, strategy) == ids and ids


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("webinar", [None, WEBINARS[0]])
@pytest.mark.parametrize("negate", [False, True])
def test_asked_question(world, strategy, webinar, negate):
    node = {"type": "zoom_asked_question", "webinar_id": webinar, "negate": negate}
    ids = {c for c, w, k, _q, _a in world.answers if k == "question" and webinar in (None, w)}
    assert evaluate(node, strategy) == _keep(ids, negate, world.ids)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("webinar", [None, WEBINARS[2]])
@pytest.mark.parametrize("negate", [False, True])
@pytest.mark.parametrize("duration", [None, {"operator": "gte", "value": 1800}])
def test_recording_viewed(world, strategy, webinar, negate, duration):
    # rule E7
    node = {"type": "zoom_recording_viewed", "webinar_id": webinar, "negate": negate}
    if duration:
        node["duration"] = duration
    ids = {
        c
        for (c, w), (seconds, _score) in world.engagement.items()
        if seconds > 0
        and webinar in (None, w)
        and (duration is None or _number(seconds, duration["operator"], duration["value"]))
    }
    assert evaluate(node, strategy) == _keep(ids, negate, world.ids)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("webinar", [None, WEBINARS[0]])
@pytest.mark.parametrize(
    ("op", "arg"), [("gte", 60), ("lt", 30), ("between", [40, 70]), ("eq", 50)]
)
def test_engagement_score(world, strategy, webinar, op, arg):
    # rule E8: one webinar's score, or the contact property without a webinar
    node = {"type": "zoom_engagement_score", "webinar_id": webinar, "operator": op, "value": arg}
    if webinar:
        ids = {
            c
            for (c, w), (_s, score) in world.engagement.items()
            if w == webinar and _number(score, op, arg)
        }
    else:
        ids = {
            c.pk
            for c in Contact.objects.all()
            if "zoom_engagement_score" in c.properties
            and _number(int(c.properties["zoom_engagement_score"]), op, arg)
        }
    assert evaluate(node, strategy) == ids


def test_anonymous_answers_match_no_one(world):
    node = {"type": "zoom_poll_answer", "answer": {"operator": "eq", "value": "This quarter"}}
    ids = evaluate(node, "exists")
    assert None not in ids
    assert EngagementAnswer.objects.filter(participation__isnull=True).count() == 3


@pytest.mark.parametrize(
    ("node", "path"),
    [
        ({"type": "zoom_poll_answer", "webinar_id": "81-000"}, "webinar_id"),
        ({"type": "zoom_poll_answer", "answer": {"operator": "gt", "value": "x"}}, "answer"),
        ({"type": "zoom_asked_question", "question": {"operator": "eq", "value": "x"}}, ""),
        ({"type": "zoom_engagement_score", "operator": "gt", "value": 101}, "value"),
        ({"type": "zoom_engagement_score", "operator": "gt"}, "value"),
        ({"type": "zoom_recording_viewed", "duration": {"operator": "gt", "value": "a"}}, ""),
    ],
)
def test_bad_nodes_are_refused_naming_the_node(node, path):
    with pytest.raises(TreeInvalid) as error:
        clean_tree({"or": [{"and": [node]}]}, FilterContext.build(now=NOW))
    assert "or[0].and[0]" in str(error.value.path if hasattr(error.value, "path") else error.value)
