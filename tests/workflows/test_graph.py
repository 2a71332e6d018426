"""The steps graph (rules W9, W12), pure: validation, the older `actions` as a straight line,
reading order."""

import pytest
from django.utils import translation

from workflows.graph import (
    GraphInvalid,
    clean_graph,
    path_order,
    steps_from_actions,
    straight_line,
)

OUTCOMES = {"branch": ("yes", "no"), "delay": ("next",), "notify": ("next",)}


def clean(steps, start=None):
    with translation.override("en"):  # the messages are read in English here
        return clean_graph(
            steps,
            start,
            outcomes_of=OUTCOMES.get,
            clean_settings=lambda i, settings: settings,
        )


EXAMPLE = [
    {"id": "wait", "type": "delay", "seconds": 60, "next": "check"},
    {"id": "check", "type": "branch", "filters": {}, "yes": "tell", "no": None},
    {"id": "tell", "type": "notify", "next": None},
]


def test_a_valid_graph_is_kept_with_every_exit_spelled_out():
    steps, start = clean([{"id": "a", "type": "notify"}])
    assert (steps, start) == ([{"id": "a", "type": "notify", "next": None}], "a")
    assert clean(EXAMPLE, "wait") == (EXAMPLE, "wait")


@pytest.mark.parametrize(
    "steps, start, path, message",
    [
        ([{"id": "a b", "type": "notify"}], None, "steps[0].id", "a step id is 1 to 40"),
        ([{"id": "a", "type": "notify"}, {"id": "a", "type": "notify"}], None, "steps[1].id",
         "the id 'a' is used twice"),
        ([{"id": "a", "type": "notify", "next": "zz"}], None, "steps[0].next",
         "'zz' is not the id of a step"),
        ([{"id": "a", "type": "notify", "yes": "a"}], None, "steps[0].yes",
         "a notify step has no exit 'yes'"),
        ([{"id": "a", "type": "notify", "next": "a"}], None, "steps[0].next",
         "a step cannot lead to itself"),
        ([{"id": "a", "type": "notify", "next": "b"}, {"id": "b", "type": "delay", "next": "a"}],
         "a", "steps[1]", "leads back to a step before it"),
        ([{"id": "a", "type": "notify"}, {"id": "b", "type": "notify"}], "a", "steps[1]",
         "cannot be reached from the start"),
        ([{"id": "a", "type": "notify"}], "b", "start", "'b' is not the id of a step"),
        ([], "a", "start", "a workflow without steps has no start"),
        ("nope", None, "steps", "must be a list of steps"),
    ],
)  # fmt: skip
def test_bad_graphs_name_the_bad_part(steps, start, path, message):
    with pytest.raises(GraphInvalid) as caught:
        clean(steps, start)
    assert caught.value.path == path
    assert message in caught.value.message


def test_the_older_actions_are_a_straight_line():
    # rule W12
    steps, start = steps_from_actions([{"type": "notify", "message": "a"}, {"type": "delay"}])
    assert start == "s1"
    assert steps == [
        {"id": "s1", "type": "notify", "message": "a", "next": "s2"},
        {"id": "s2", "type": "delay", "next": None},
    ]
    assert straight_line(steps, start) == [{"type": "notify", "message": "a"}, {"type": "delay"}]
    assert straight_line(EXAMPLE, "wait") is None


def test_reading_order_is_depth_first_yes_before_no():
    steps = [
        {"id": "b", "type": "branch", "yes": "y", "no": "n"},
        {"id": "n", "type": "notify", "next": "end"},
        {"id": "y", "type": "notify", "next": "end"},
        {"id": "end", "type": "delay", "next": None},
    ]
    assert path_order(steps, "b") == ["b", "y", "end", "n"]
