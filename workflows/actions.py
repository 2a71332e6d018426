"""The action registry (rules W1, W9): the only way step types are known. `workflows` imports
no integration: apps register their step types here from `AppConfig.ready()` (workflows its
own: `delay`, `branch`, `set_property`, `segment.add`, `segment.remove`, `notify`, `webhook`;
the Zoom integration `zoom.add_contact_to_webinar` and `zoom.cancel_registration`).

An action type:
- `clean(config)` validates an action's configuration when a workflow is saved and returns it
  normalized, or raises `ActionInvalid` naming the field;
- `run(ctx)` performs it for one contact and returns an `ActionResult`
  (succeeded / failed / skipped, an untranslated message, an output), or raises `ActionRetry`
  for a transient failure (429, 5xx, timeouts): the runner retries with back-off. `run` must be
  idempotent: it may be called again after a crash or a retry (`ctx.attempt` > 1); a side
  effect outside the CRM carries `ctx.idempotency_key`, one per enrollment and step (W10).
- `outcomes`: the exits of a step: `("next",)`, or `("yes", "no")` for a branch, whose result
  names the one taken (`ActionResult.path`).
- A step that waits (a delay) answers `ActionResult.waiting(until)`: the enrollment waits as
  a row with that due time, taken by the engine's scan when due (no long Celery ETA).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class ActionInvalid(ValueError):
    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


class ActionRetry(Exception):
    """A transient failure: try again after `delay` seconds (None: the runner's back-off).
    `message` is a stored text (`crm.stored_text`) or a plain string, as for `ActionResult`."""

    def __init__(self, message: str | dict, *, delay: float | None = None):
        super().__init__(message)
        self.message = message
        self.delay = delay


@dataclass(frozen=True)
class ActionResult:
    """`message` is read later, by people in their language and by API clients in English: a
    stored text (`crm.stored_text.stored_text`, its id marked with `gettext_noop`), or a plain
    string kept as it is (rule L1)."""

    status: str  # "succeeded" | "failed" | "skipped" | "waiting"
    message: str | dict = ""
    output: dict = field(default_factory=dict)
    path: str = "next"  # the outcome followed (a branch: "yes" or "no")
    wait_until: dt.datetime | None = None

    @classmethod
    def succeeded(cls, message: str | dict = "", **output) -> ActionResult:
        return cls("succeeded", message, output)

    @classmethod
    def branch(cls, path: str, message: str | dict = "", **output) -> ActionResult:
        return cls("succeeded", message, {**output, "path": path}, path=path)

    @classmethod
    def waiting(cls, until: dt.datetime, message: str | dict = "") -> ActionResult:
        return cls("waiting", message, {"until": until.isoformat()}, wait_until=until)

    @classmethod
    def failed(cls, message: str | dict, **output) -> ActionResult:
        return cls("failed", message, output)

    @classmethod
    def skipped(cls, message: str | dict) -> ActionResult:
        return cls("skipped", message, {})


@dataclass(frozen=True)
class ActionContext:
    config: dict
    contact: Any  # crm.models.Contact
    workflow: Any  # workflows.models.Workflow
    enrollment: Any  # workflows.models.Enrollment
    attempt: int  # 1 on the first try
    step_id: str = ""
    # The same on every try of one step of one enrollment (rule W10).
    idempotency_key: str = ""
    # When the enrollment reached this step (a delay counts from it).
    arrived_at: dt.datetime | None = None


@dataclass(frozen=True)
class ActionType:
    type: str
    label: str
    clean: Callable[[dict], dict]
    run: Callable[[ActionContext], ActionResult]
    describe: Callable[[dict], str] = field(default=lambda config: config.get("type", ""))
    # What the editor may offer for this action (e.g. the webinars it can register to):
    # {"connected": bool, "webinars": [{"id", "topic", "start_time", "upcoming"}]}.
    choices: Callable[[], dict] | None = None
    # The OpenAPI schema of its configuration, `type` included, per direction: "request" = what
    # `clean` accepts, "response" = what it returns (stored and sent back by the API).
    schema: Callable[[str], dict] | None = None
    outcomes: tuple[str, ...] = ("next",)
    # The editor's side panel: the settings' fields (see static/workflows/editor.js).
    fields: tuple = ()


REGISTRY: dict[str, ActionType] = {}


def register_action(action_type: ActionType) -> None:
    REGISTRY[action_type.type] = action_type


# Where a `delay` relative to a webinar learns its times before any sync made its marketing
# event: integrations register `times(webinar_id) -> (start, end) | None` (the Zoom integration
# answers from the webinars it listed for the primary brand's connection).
WEBINAR_TIMES: list[Callable[[str], tuple | None]] = []


def register_webinar_times(times: Callable[[str], tuple | None]) -> None:
    if times not in WEBINAR_TIMES:
        WEBINAR_TIMES.append(times)


def webinar_times(webinar_id: str) -> tuple | None:
    for times in WEBINAR_TIMES:
        found = times(webinar_id)
        if found is not None:
            return found
    return None


def editor_action() -> ActionType | None:
    """The action the editor's rows configure: the registered one that offers its choices to
    pick from (the Zoom integration's webinars), or None while no app has registered one."""
    return next((action for action in REGISTRY.values() if action.choices is not None), None)


def editor_action_type() -> str:
    action = editor_action()
    return action.type if action is not None else ""
