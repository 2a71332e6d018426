"""The workflow editor's fields, read from a POST and written back on a re-render (rules W1,
W9, W12 UI).

The editor posts plain fields (name, trigger kind, the segment builder's Filter JSON,
re-enrollment) and the steps graph as one JSON field, `graph` (`{"steps", "start"}`, kept by
static/workflows/flow.js). This module turns them into what the services take and spreads a
`ValidationFailed`'s errors (paths such as `name`, `steps[2].webinar_id`,
`trigger.filters.or[0].and[1]`) back onto the fields and steps they name. Presentation only:
every rule is checked by `workflows.services`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .models import TriggerType, Workflow

_STEP_PATH = re.compile(r"^steps\[(\d+)\](?:\.(\w+))?")
_FILTERS_PREFIX = "trigger.filters."
# Errors on one filter are shown on its row by the builder; the others (too many filters in
# all, an empty group) under the trigger.
_FILTER_NODE = re.compile(r"^or\[\d+\]\.and\[\d+\]")


@dataclass
class EditorState:
    name: str = ""
    trigger_type: str = TriggerType.MANUAL
    filters: object = field(default_factory=lambda: {"or": [{"and": []}]})
    reenrollment: bool = False
    steps: list = field(default_factory=list)
    start: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)  # "name" | "trigger" | "steps"
    filter_errors: list[dict] = field(default_factory=list)  # for the builder, paths `or[i]…`
    # {step id: {setting or "": [messages]}}, for the flow's side panel.
    step_errors: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    filters_unreadable: bool = False
    graph_unreadable: bool = False

    @property
    def filters_json(self) -> str:
        return json.dumps(self.filters)

    @property
    def graph(self) -> dict:
        return {"steps": self.steps, "start": self.start or None}

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.filter_errors or self.step_errors)

    def trigger(self) -> dict:
        if self.trigger_type == TriggerType.FILTERS:
            return {"type": TriggerType.FILTERS.value, "filters": self.filters}
        return {"type": TriggerType.MANUAL.value}

    def add_errors(self, errors: list[dict]) -> None:
        """Puts each service error next to the field or step its path names; the rest on top."""
        for error in errors:
            path = error.get("path") or error.get("name") or ""
            message = error.get("message") or ""
            match = _STEP_PATH.match(path)
            if path == "name":
                self.errors.setdefault("name", []).append(message)
            elif path.startswith(_FILTERS_PREFIX) and _FILTER_NODE.match(
                path.removeprefix(_FILTERS_PREFIX)
            ):
                self.filter_errors.append(
                    {"path": path.removeprefix(_FILTERS_PREFIX), "message": message}
                )
            elif path.startswith("trigger"):
                self.errors.setdefault("trigger", []).append(message)
            elif match and int(match.group(1)) < len(self.steps):
                step = self.steps[int(match.group(1))]
                step_id = step.get("id") if isinstance(step, dict) else None
                if isinstance(step_id, str):
                    where = self.step_errors.setdefault(step_id, {})
                    where.setdefault(match.group(2) or "", []).append(message)
                else:
                    self.errors.setdefault("steps", []).append(message)
            elif path.startswith(("steps", "start")):
                self.errors.setdefault("steps", []).append(message)
            else:
                self.errors.setdefault("form", []).append(message)


def editor_from_post(data) -> EditorState:
    state = EditorState(
        name=data.get("name", ""),
        trigger_type=(
            TriggerType.FILTERS
            if data.get("trigger_type") == TriggerType.FILTERS
            else TriggerType.MANUAL
        ),
        reenrollment=bool(data.get("reenrollment")),
    )
    try:
        state.filters = json.loads(data.get("filters") or '{"or": []}')
    except ValueError:
        state.filters, state.filters_unreadable = {"or": []}, True
    try:
        graph = json.loads(data.get("graph") or "{}")
    except ValueError:
        graph, state.graph_unreadable = {}, True
    if not isinstance(graph, dict) or not isinstance(graph.get("steps", []), list):
        graph, state.graph_unreadable = {}, True
    state.steps = graph.get("steps") or []
    start = graph.get("start")
    state.start = start if isinstance(start, str) else ""
    return state


def editor_from_workflow(workflow: Workflow) -> EditorState:
    return EditorState(
        name=workflow.name,
        trigger_type=workflow.trigger_type,
        filters=workflow.filters
        if workflow.trigger_type == TriggerType.FILTERS
        else {"or": [{"and": []}]},
        reenrollment=workflow.reenrollment,
        steps=workflow.steps,
        start=workflow.start,
    )
