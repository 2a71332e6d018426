"""The Filter JSON tree (rule G1; grammar in DESIGN.md "Filter JSON"): an OR of groups, each an
AND of filters. `clean_tree` validates a tree against the filter registry and returns it
normalized; errors name the bad node as `or[i].and[j]` (and the key inside it)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext

from crm import filter_schema as fs
from crm.contact_filters import REGISTRY, FilterContext, FilterInvalid, shown

MAX_GROUPS = 25
MAX_FILTERS_PER_GROUP = 25
MAX_FILTERS = 100  # in the whole tree (each filter is a sub-query of one SQL statement)


@dataclass(frozen=True)
class TreeError:
    path: str
    message: str

    def as_dict(self) -> dict:
        return {"path": self.path, "message": self.message}


class TreeInvalid(ValueError):
    def __init__(self, errors: list[TreeError]):
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors


def clean_tree(data: Any, ctx: FilterContext) -> dict:
    """Validates the whole tree and returns it normalized; raises `TreeInvalid` with every
    bad node. `{"or": []}` is valid and matches no one; an empty AND group is refused."""
    errors: list[TreeError] = []
    if not isinstance(data, Mapping) or set(data) != {"or"}:
        raise TreeInvalid(
            [TreeError("", gettext('The filter tree is {"or": [{"and": [FILTER, …]}, …]}'))]
        )
    groups = data["or"]
    if not isinstance(groups, list):
        raise TreeInvalid([TreeError("or", gettext("must be a list of groups"))])
    if len(groups) > MAX_GROUPS:
        raise TreeInvalid(
            [
                TreeError(
                    "or", gettext("at most %(max)s OR groups are allowed") % {"max": MAX_GROUPS}
                )
            ]
        )
    total = sum(
        len(group["and"])
        for group in groups
        if isinstance(group, Mapping) and isinstance(group.get("and"), list)
    )
    if total > MAX_FILTERS:
        raise TreeInvalid(
            [
                TreeError(
                    "or",
                    gettext("at most %(max)s filters are allowed in all; got %(n)s")
                    % {"max": MAX_FILTERS, "n": total},
                )
            ]
        )
    cleaned_groups = []
    for i, group in enumerate(groups):
        where = f"or[{i}]"
        if not isinstance(group, Mapping) or set(group) != {"and"}:
            errors.append(TreeError(where, gettext('a group is {"and": [FILTER, …]}')))
            continue
        filters = group["and"]
        if not isinstance(filters, list):
            errors.append(TreeError(f"{where}.and", gettext("must be a list of filters")))
            continue
        if not filters:
            errors.append(TreeError(f"{where}.and", gettext("a group needs at least one filter")))
            continue
        if len(filters) > MAX_FILTERS_PER_GROUP:
            errors.append(
                TreeError(
                    f"{where}.and",
                    gettext("at most %(max)s filters per group") % {"max": MAX_FILTERS_PER_GROUP},
                )
            )
            continue
        cleaned = []
        for j, node in enumerate(filters):
            path = f"{where}.and[{j}]"
            try:
                cleaned.append(clean_filter(node, ctx))
            except FilterInvalid as exc:
                errors.append(TreeError(f"{path}.{exc.field}" if exc.field else path, exc.message))
        cleaned_groups.append({"and": cleaned})
    if errors:
        raise TreeInvalid(errors)
    return {"or": cleaned_groups}


def clean_filter(node: Any, ctx: FilterContext) -> dict:
    if not isinstance(node, Mapping):
        raise FilterInvalid(gettext("a filter is an object with a type"))
    kind = node.get("type")
    filter_type = REGISTRY.get(kind) if isinstance(kind, str) else None
    if filter_type is None:
        known = ", ".join(sorted(REGISTRY))
        what = shown(kind) if isinstance(kind, str) else repr(kind)[:40]
        raise FilterInvalid(
            gettext("Unknown filter type %(type)s; use one of %(types)s")
            % {"type": what, "types": known},
            "type",
        )
    return filter_type.clean(node, ctx)


def iter_filters(tree: Mapping) -> Iterator[tuple[str, dict]]:
    """(path, node) of every filter of a clean tree."""
    for i, group in enumerate(tree.get("or") or []):
        for j, node in enumerate(group.get("and") or []):
            yield f"or[{i}].and[{j}]", node


def describe_tree(tree: Mapping, ctx: FilterContext) -> list[list[str]]:
    """Human-readable filters, group by group (for lists and pages)."""
    out = []
    for group in tree.get("or") or []:
        out.append(
            [
                REGISTRY[node["type"]].describe(node, ctx)
                if node.get("type") in REGISTRY
                else str(node.get("type"))
                for node in group.get("and") or []
            ]
        )
    return out


def filter_component_name(type_name: str) -> str:
    """`zoom_webinar_attendance` → `ZoomWebinarAttendanceFilter`."""
    return "".join(part.capitalize() for part in type_name.split("_")) + "Filter"


def tree_schema_components(direction: str, *, min_groups: int = 0) -> tuple[str, dict]:
    """The OpenAPI schema of a filter tree, as (the tree's component name, every component it
    uses), for `direction` (`crm.filter_schema.REQUEST` or `RESPONSE`). Built from the filter
    registry, so a filter type registered by any app is part of it. `min_groups=1`: a tree that
    must have a filter (a workflow's trigger)."""
    components = dict(fs.shared_components(direction))
    mapping = {}
    for name, filter_type in sorted(REGISTRY.items()):
        component = fs.component_name(filter_component_name(name), direction)
        schema = filter_type.schema(direction) if filter_type.schema else fs.generic_node(name)
        components[component] = schema
        mapping[name] = fs.ref(component)["$ref"]
    filter_name = fs.component_name("Filter", direction)
    components[filter_name] = {
        "oneOf": [{"$ref": target} for target in mapping.values()],
        "discriminator": {"propertyName": "type", "mapping": mapping},
    }
    group_name = fs.component_name("FilterGroup", direction)
    components[group_name] = {
        "type": "object",
        "description": "Contacts that match every filter",
        "properties": {
            "and": {
                "type": "array",
                "items": fs.ref(filter_name),
                "minItems": 1,
                "maxItems": MAX_FILTERS_PER_GROUP,
            }
        },
        "required": ["and"],
        "additionalProperties": False,
    }
    tree_name = fs.component_name("NonEmptyFilterTree" if min_groups else "FilterTree", direction)
    groups = {"type": "array", "items": fs.ref(group_name), "maxItems": MAX_GROUPS}
    if min_groups:
        groups["minItems"] = min_groups
    components[tree_name] = {
        "type": "object",
        "description": "Contacts that match any group"
        + ("" if min_groups else '; {"or": []} matches no one'),
        "properties": {"or": groups},
        "required": ["or"],
        "additionalProperties": False,
    }
    return tree_name, components
