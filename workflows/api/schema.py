"""The OpenAPI schema of a workflow's trigger and actions, per direction ("request": what the
services accept, "response": what they store and the API sends back)."""

import re

from crm import filter_schema as fs
from segments.tree import tree_schema_components

from ..actions import REGISTRY
from ..models import TriggerType


def trigger_schema_components(direction: str) -> tuple[dict, dict]:
    """`{"type": "manual"}` or `{"type": "filters", "filters": TREE}` with at least one filter
    (`services.clean_trigger`, which ignores other keys of a request's trigger)."""
    tree, components = tree_schema_components(direction, min_groups=1)
    variants = {
        TriggerType.MANUAL: ("ManualTrigger", {}),
        TriggerType.FILTERS: ("FiltersTrigger", {"filters": fs.ref(tree)}),
    }
    mapping = {}
    for trigger_type, (base, properties) in variants.items():
        name = fs.component_name(base, direction)
        components[name] = {
            "type": "object",
            "properties": {"type": {"type": "string", "enum": [trigger_type.value]}, **properties},
            "required": ["type", *properties],
            "additionalProperties": direction == fs.REQUEST,
        }
        mapping[trigger_type.value] = fs.ref(name)["$ref"]
    trigger = fs.component_name("WorkflowTrigger", direction)
    components[trigger] = {
        "oneOf": [{"$ref": target} for target in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }
    return fs.ref(trigger), components


def action_component_name(action_type: str) -> str:
    """`zoom.add_contact_to_webinar` → `ZoomAddContactToWebinarAction`."""
    words = re.split(r"[^0-9a-zA-Z]+", action_type)
    return "".join(word.capitalize() for word in words) + "Action"


def action_schema_components(direction: str) -> tuple[dict, dict]:
    """One action's configuration, `{"type", ...}`, from the action registry (the older
    `actions` list: a straight line, so every type but a branch)."""
    components, mapping = {}, {}
    for name, action_type in sorted(REGISTRY.items()):
        if action_type.outcomes != ("next",):
            continue  # a branch needs the steps form
        component = fs.component_name(action_component_name(name), direction)
        components[component] = (
            action_type.schema(direction) if action_type.schema else fs.generic_node(name)
        )
        mapping[name] = fs.ref(component)["$ref"]
    action = fs.component_name("WorkflowAction", direction)
    components[action] = {
        "oneOf": [{"$ref": target} for target in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }
    return fs.ref(action), components


STEP_ID_SCHEMA = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"}


def _exit_schema(direction: str) -> dict:
    return {**STEP_ID_SCHEMA, "nullable": True, "description": "The next step's id; null: end"}


def step_schema_components(direction: str) -> tuple[dict, dict]:
    """One step (rule W12): its type's settings (from the action registry) with `id` and its
    exits: `next`, or `yes` / `no` for a branch (its `filters` a Filter JSON tree)."""
    components, mapping = {}, {}
    for name, action_type in sorted(REGISTRY.items()):
        component = fs.component_name(action_component_name(name).removesuffix("Action") + "Step",
                                      direction)  # fmt: skip
        if action_type.outcomes == ("next",):
            base = action_type.schema(direction) if action_type.schema else fs.generic_node(name)
        else:
            tree, tree_components = tree_schema_components(direction, min_groups=1)
            components.update(tree_components)
            base = {
                "type": "object",
                "properties": {"type": {"type": "string", "enum": [name]},
                               "filters": fs.ref(tree)},
                "required": ["type", "filters"],
                "additionalProperties": False,
            }  # fmt: skip
        exits = {outcome: _exit_schema(direction) for outcome in action_type.outcomes}
        schema = {
            **base,
            "properties": {"id": STEP_ID_SCHEMA, **base.get("properties", {}), **exits},
            "required": ["id", *base.get("required", [])]
            + ([*action_type.outcomes] if direction != fs.REQUEST else []),
        }
        schema.pop("minProperties", None)
        schema.pop("maxProperties", None)
        components[component] = schema
        mapping[name] = fs.ref(component)["$ref"]
    typed = fs.component_name("WorkflowTypedStep", direction)
    components[typed] = {
        "oneOf": [{"$ref": target} for target in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }
    # A draft's step (`draft: true`) may still lack its settings or name a step not there yet.
    draft = fs.component_name("WorkflowDraftStep", direction)
    components[draft] = {
        "type": "object",
        "properties": {"id": STEP_ID_SCHEMA, "type": {"type": "string", "maxLength": 60}},
        "required": ["id", "type"],
        "additionalProperties": True,
        "description": "A step of a draft, saved as given; `problems` says what it lacks",
    }
    step = fs.component_name("WorkflowStep", direction)
    components[step] = {"anyOf": [fs.ref(typed), fs.ref(draft)]}
    return fs.ref(step), components
