"""The workflow editor's fields, read from a POST and written back on a re-render (rule W1 UI).

The editor posts plain fields (name, trigger kind, the builder's Filter JSON, re-enrollment and
one group of fields per action); this module turns them into the `trigger` and `actions` the
services take, and spreads a `ValidationFailed`'s errors (paths such as `name`,
`actions[0].webinar_id`, `trigger.filters.or[0].and[1]`) back onto the fields they name.
Presentation only: every rule is checked by `workflows.services`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .graph import straight_line
from .models import TriggerType, Workflow

ZOOM_ACTION = "zoom.add_contact_to_webinar"  # registered by the Zoom integration
SOURCE_WEBINAR, SOURCE_PROPERTY = "webinar", "property"
_ROW_KEY = re.compile(r"^action-(\d+)-source$")
_ACTION_PATH = re.compile(r"^actions\[(\d+)\](?:\.(\w+))?")
_FILTERS_PREFIX = "trigger.filters."
# Errors on one filter are shown on its row by the builder; the others (too many filters in
# all, an empty group) under the trigger.
_FILTER_NODE = re.compile(r"^or\[\d+\]\.and\[\d+\]")
# Errors on these configuration keys are shown in the pane the row shows (a row posts only
# the key of its chosen source, so an error on either is about the field on screen).
_SOURCE_KEYS = {"webinar_id", "webinar_id_property"}


@dataclass
class ActionRow:
    source: str = SOURCE_WEBINAR
    webinar_id: str = ""
    prop: str = ""
    type: str = ZOOM_ACTION
    errors: dict[str, list[str]] = field(default_factory=dict)  # "webinar" | "property" | "row"

    def config(self) -> dict:
        if self.source == SOURCE_PROPERTY:
            return {"type": self.type, "webinar_id_property": self.prop}
        return {"type": self.type, "webinar_id": self.webinar_id}


@dataclass
class EditorState:
    name: str = ""
    trigger_type: str = TriggerType.MANUAL
    filters: object = field(default_factory=lambda: {"or": [{"and": []}]})
    reenrollment: bool = False
    actions: list[ActionRow] = field(default_factory=lambda: [ActionRow()])
    errors: dict[str, list[str]] = field(default_factory=dict)  # "name" | "trigger" | ...
    filter_errors: list[dict] = field(default_factory=list)  # for the builder, paths `or[i]…`
    filters_unreadable: bool = False

    @property
    def filters_json(self) -> str:
        return json.dumps(self.filters)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors or self.filter_errors or any(row.errors for row in self.actions))

    def trigger(self) -> dict:
        if self.trigger_type == TriggerType.FILTERS:
            return {"type": TriggerType.FILTERS.value, "filters": self.filters}
        return {"type": TriggerType.MANUAL.value}

    def action_configs(self) -> list[dict]:
        return [row.config() for row in self.actions]

    def add_errors(self, errors: list[dict]) -> None:
        """Puts each service error next to the field its path names; the rest go on top."""
        for error in errors:
            path = error.get("path") or error.get("name") or ""
            message = error.get("message") or ""
            match = _ACTION_PATH.match(path)
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
            elif match and int(match.group(1)) < len(self.actions):
                row = self.actions[int(match.group(1))]
                where = row.source if match.group(2) in _SOURCE_KEYS else "row"
                row.errors.setdefault(where, []).append(message)
            elif path.startswith("actions"):
                self.errors.setdefault("actions", []).append(message)
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
    indices = sorted(int(m.group(1)) for key in data if (m := _ROW_KEY.match(key)))
    state.actions = [_row_from_post(data, i) for i in indices]
    return state


def _row_from_post(data, i: int) -> ActionRow:
    prefix = f"action-{i}-"
    source = data.get(prefix + "source")
    typed = data.get(prefix + "webinar_id", "").strip()
    return ActionRow(
        source=SOURCE_PROPERTY if source == SOURCE_PROPERTY else SOURCE_WEBINAR,
        # A typed id wins over the picker: the picker fills the box when JavaScript runs.
        webinar_id=typed or data.get(prefix + "webinar_pick", "").strip(),
        prop=data.get(prefix + "property", "").strip(),
        type=data.get(prefix + "type") or ZOOM_ACTION,
    )


def editor_from_workflow(workflow: Workflow) -> EditorState:
    rows = [
        ActionRow(
            source=SOURCE_PROPERTY if config.get("webinar_id_property") else SOURCE_WEBINAR,
            webinar_id=str(config.get("webinar_id") or ""),
            prop=config.get("webinar_id_property") or "",
            type=config.get("type") or ZOOM_ACTION,
        )
        for config in straight_line(workflow.steps, workflow.start) or []
    ]
    return EditorState(
        name=workflow.name,
        trigger_type=workflow.trigger_type,
        filters=workflow.filters
        if workflow.trigger_type == TriggerType.FILTERS
        else {"or": [{"and": []}]},
        reenrollment=workflow.reenrollment,
        actions=rows or [ActionRow()],
    )
