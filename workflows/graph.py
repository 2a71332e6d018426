"""A workflow's steps as a graph (rules W9, W12), pure: no database, no registry lookups of
its own (the caller passes how each step's settings are cleaned).

A step is `{"id", "type", …settings, "next": ID|null}`, or for a branch `{"id", "type":
"branch", "filters", "yes": ID|null, "no": ID|null}`; `start` names the first step. A graph is
valid when every id is unique and well-formed, every exit names a step or is null (the end),
every step is reachable from `start` and no path comes back to a step it left (no loops: an
enrollment reaches each step at most once, which is what makes one execution row per
(enrollment, step) enough)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from django.utils.translation import gettext as _

STEP_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_STEPS = 50
EXITS = ("next", "yes", "no")


class GraphInvalid(ValueError):
    """`path` names the bad part (`steps[2].next`, `start`), `message` says why."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def steps_from_actions(actions: Iterable[Mapping]) -> tuple[list[dict], str]:
    """The older `actions` list read as a straight line of steps `s1 → s2 → …` (rule W12)."""
    steps = []
    actions = list(actions)
    for i, config in enumerate(actions):
        step = {"id": f"s{i + 1}", **{k: v for k, v in config.items() if k not in EXITS}}
        step["next"] = f"s{i + 2}" if i + 1 < len(actions) else None
        steps.append(step)
    return steps, ("s1" if steps else "")


def exits_of(step: Mapping, outcomes: tuple[str, ...]) -> dict[str, str | None]:
    return {outcome: step.get(outcome) for outcome in outcomes}


def settings_of(step: Mapping) -> dict:
    """The step's own settings, as its type's `clean` takes them (`type` included)."""
    return {k: v for k, v in step.items() if k != "id" and k not in EXITS}


def clean_graph(
    steps,
    start,
    *,
    outcomes_of: Callable[[str], tuple[str, ...] | None],
    clean_settings: Callable[[int, dict], dict],
) -> tuple[list[dict], str]:
    """Checks the graph and returns it normalized: each step `{"id", …cleaned settings, exits}`
    in the order given. `outcomes_of(type)` gives a type's exits (None: unknown type);
    `clean_settings(i, settings)` cleans one step's settings or raises."""
    ids = check_ids(steps)
    cleaned = []
    for i, step in enumerate(steps):
        outcomes = outcomes_of(step.get("type"))
        if outcomes is None:
            # The type's own error (unknown type) comes from clean_settings.
            clean_settings(i, settings_of(step))
            raise GraphInvalid(f"steps[{i}].type", _("unknown step type"))
        for key in EXITS:
            if key in step and key not in outcomes:
                raise GraphInvalid(
                    f"steps[{i}].{key}",
                    _("a %(type)s step has no exit %(key)s; its exits: %(exits)s")
                    % {"type": step["type"], "key": repr(key), "exits": ", ".join(outcomes)},
                )
        exits = {}
        for outcome in outcomes:
            target = step.get(outcome)
            if target is not None and (not isinstance(target, str) or target not in ids):
                raise GraphInvalid(
                    f"steps[{i}].{outcome}",
                    _("%(target)s is not the id of a step") % {"target": repr(target)},
                )
            if target == step["id"]:
                raise GraphInvalid(f"steps[{i}].{outcome}", _("a step cannot lead to itself"))
            exits[outcome] = target
        settings = clean_settings(i, settings_of(step))
        cleaned.append({"id": step["id"], **settings, **exits})
    if not cleaned:
        if start not in (None, ""):
            raise GraphInvalid("start", _("a workflow without steps has no start"))
        return [], ""
    if start is None or start == "":
        start = cleaned[0]["id"]
    if not isinstance(start, str) or start not in ids:
        raise GraphInvalid(
            "start", _("%(target)s is not the id of a step") % {"target": repr(start)}
        )
    _check_reachable_without_loops(cleaned, ids, start)
    return cleaned, start


def check_ids(steps) -> dict[str, int]:
    """What any saved graph needs, a draft's too: a list of at most MAX_STEPS objects with
    unique, well-formed ids. Returns {id: index}."""
    if not isinstance(steps, list):
        raise GraphInvalid("steps", _("must be a list of steps"))
    if len(steps) > MAX_STEPS:
        raise GraphInvalid("steps", _("at most %(max)s steps") % {"max": MAX_STEPS})
    ids: dict[str, int] = {}
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            raise GraphInvalid(f"steps[{i}]", _("a step is an object with an id and a type"))
        step_id = step.get("id")
        if not isinstance(step_id, str) or not STEP_ID.match(step_id):
            raise GraphInvalid(
                f"steps[{i}].id",
                _("a step id is 1 to 40 letters, digits, '-' or '_'"),
            )
        if step_id in ids:
            raise GraphInvalid(
                f"steps[{i}].id", _("the id %(id)s is used twice") % {"id": repr(step_id)}
            )
        ids[step_id] = i
    return ids


def _check_reachable_without_loops(steps: list[dict], ids: dict[str, int], start: str) -> None:
    by_id = {step["id"]: step for step in steps}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(step_id: str) -> None:
        # Iterative depth-first search (50 steps at most, but no recursion limit to think of).
        stack = [(step_id, iter(_targets(by_id[step_id])))]
        state[step_id] = 1
        while stack:
            current, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                state[current] = 2
                stack.pop()
                continue
            if state.get(target) == 1:
                raise GraphInvalid(
                    f"steps[{ids[current]}]",
                    _("the step %(id)s leads back to a step before it: loops are not allowed")
                    % {"id": repr(current)},
                )
            if target not in state:
                state[target] = 1
                stack.append((target, iter(_targets(by_id[target]))))

    visit(start)
    for step in steps:
        if step["id"] not in state:
            raise GraphInvalid(
                f"steps[{ids[step['id']]}]",
                _("the step %(id)s cannot be reached from the start") % {"id": repr(step["id"])},
            )


def _targets(step: Mapping) -> list[str]:
    return [step[key] for key in EXITS if step.get(key)]


def following(step: Mapping, path: str = "next") -> str | None:
    """The step after `step` when it ended by the exit `path`."""
    return step.get(path) if path in EXITS else None


def path_order(steps: list[dict], start: str) -> list[str]:
    """Step ids in reading order: depth-first from `start`, `yes` before `no` (the editor and
    the log list steps this way)."""
    by_id = {step["id"]: step for step in steps}
    seen: list[str] = []
    stack = [start] if start in by_id else []
    while stack:
        step_id = stack.pop()
        if step_id in seen or step_id not in by_id:
            continue
        seen.append(step_id)
        stack.extend(reversed(_targets(by_id[step_id])))
    return seen


def straight_line(steps: list[dict], start: str) -> list[dict] | None:
    """The steps as the older `actions` list when the graph is a straight line (no branch),
    else None."""
    by_id = {step["id"]: step for step in steps}
    line, step_id = [], start
    while step_id:
        step = by_id.get(step_id) if isinstance(step_id, str) else None
        if step is None or len(line) > len(steps):  # a draft's dangling exit, or a loop
            return None
        if any(key in step for key in ("yes", "no")):
            return None
        line.append(settings_of(step))
        step_id = step.get("next")
    return line if len(line) == len(steps) else None
