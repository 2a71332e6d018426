"""`branch` (rule W9): a filter tree (the segments' Filter JSON) evaluated on the contact when
it gets there, in the database like a segment (rule G4); the contact goes on by `yes` when it
matches, by `no` otherwise."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from crm.contact_filters import FilterContext
from crm.errors import ValidationFailed
from crm.stored_text import stored_text
from segments.compiler import matching_contacts
from segments.services import clean_filters

from ..actions import ActionInvalid, ActionResult, ActionType
from .common import only_keys

TYPE = "branch"


def clean(config: dict) -> dict:
    only_keys(config, {"filters"})
    try:
        filters = clean_filters(config.get("filters"))
    except ValidationFailed as exc:
        first = (exc.errors or [{}])[0]
        path = first.get("path") or ""
        raise ActionInvalid(
            first.get("message") or exc.message, f"filters.{path}" if path else "filters"
        )
    if not filters["or"]:
        raise ActionInvalid(_("a branch needs at least one filter"), "filters")
    return {"filters": filters}


def run(ctx) -> ActionResult:
    filters_ctx = FilterContext.build(check_references=False)
    matches = matching_contacts(ctx.config["filters"], filters_ctx).filter(pk=ctx.contact.pk)
    if matches.exists():
        return ActionResult.branch(
            "yes", stored_text(gettext_noop("The contact matches the conditions: yes"))
        )
    return ActionResult.branch(
        "no", stored_text(gettext_noop("The contact does not match the conditions: no"))
    )


def describe(config: dict) -> str:
    from segments.tree import describe_tree

    groups = describe_tree(config.get("filters") or {"or": []},
                           FilterContext.build(check_references=False))  # fmt: skip
    # Translators: "If <conditions>", groups of conditions joined with " or "
    return _("If %(conditions)s") % {
        "conditions": _(" or ").join(_(" and ").join(map(str, group)) for group in groups)
    }


def schema(direction: str) -> dict:
    """The settings alone; the API's step schema refers to the Filter JSON's components for
    `filters` (`workflows.api.schema.step_schema_components`)."""
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": [TYPE]},
            "filters": {"type": "object", "description": "A Filter JSON tree"},
        },
        "required": ["type", "filters"],
        "additionalProperties": False,
    }


def action_types():
    return [
        ActionType(
            type=TYPE,
            label=gettext_lazy("If/then branch"),
            clean=clean,
            run=run,
            describe=describe,
            schema=schema,
            outcomes=("yes", "no"),
            fields=(
                {
                    "name": "filters",
                    "kind": "filters",
                    "label": gettext_lazy("Conditions"),
                    "required": True,
                },
            ),  # fmt: skip
        )
    ]
