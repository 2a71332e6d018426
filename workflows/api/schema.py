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
    """One action's configuration, `{"type", ...}`, from the action registry."""
    components, mapping = {}, {}
    for name, action_type in sorted(REGISTRY.items()):
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
