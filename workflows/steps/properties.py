"""`set_property` (rule W9): set a contact property to a value, to a copy of another property,
or clear it, through the contact service (the same checks as the API's)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from crm.errors import ApplicationError
from crm.hubspot.serializers import property_value
from crm.properties import PropertyValueError, all_property_specs, clean_value, spec_label
from crm.services.contacts import contact_update
from crm.stored_text import stored_text

from ..actions import ActionInvalid, ActionResult, ActionType
from .common import object_schema, only_keys

TYPE = "set_property"
# Who a contact is: a workflow does not change these.
UNSETTABLE = {"email", "hs_additional_emails"}


def _writable(name, key: str):
    spec = all_property_specs().get(name) if isinstance(name, str) else None
    if spec is None:
        raise ActionInvalid(
            _("Contact property %(name)s does not exist") % {"name": repr(name)}, key
        )
    if key == "property" and (spec.read_only or spec.name in UNSETTABLE):
        raise ActionInvalid(_("A workflow cannot set %(name)s") % {"name": spec_label(spec)}, key)
    return spec


def clean(config: dict) -> dict:
    only_keys(config, {"property", "value", "copy_from", "clear"})
    spec = _writable(config.get("property"), "property")
    clear = config.get("clear") in (True, "true")
    sources = [key for key in ("value", "copy_from") if config.get(key) is not None] + (
        ["clear"] if clear else []
    )
    if config.get("clear") not in (None, False, True, "true", "false"):
        raise ActionInvalid(_("must be true or false"), "clear")
    if len(sources) != 1:
        raise ActionInvalid(_("Give one of: a value, a property to copy, or clear"), "value")
    if clear:
        return {"property": spec.name, "clear": True}
    if sources == ["copy_from"]:
        source = _writable(config["copy_from"], "copy_from")
        return {"property": spec.name, "copy_from": source.name}
    raw = config["value"]
    if isinstance(raw, (dict, list)):
        raise ActionInvalid(_("a value is text, a number or true/false"), "value")
    try:
        value = clean_value(spec, raw)
    except PropertyValueError as exc:
        raise ActionInvalid(str(exc), "value")
    if value == "":
        raise ActionInvalid(_("Give a value, or choose to clear the property"), "value")
    return {"property": spec.name, "value": value}


def run(ctx) -> ActionResult:
    config = ctx.config
    name = config["property"]
    if config.get("clear"):
        value = ""
    elif "copy_from" in config:
        spec = all_property_specs().get(config["copy_from"])
        if spec is None:
            return ActionResult.failed(
                stored_text(
                    gettext_noop("The contact property %(name)s no longer exists"),
                    name=repr(config["copy_from"]),
                )
            )
        value = property_value(ctx.contact, spec) or ""
    else:
        value = config["value"]
    try:
        contact_update(contact=ctx.contact, properties={name: value})
    except ApplicationError as exc:
        return ActionResult.failed(
            stored_text(
                gettext_noop("%(property)s was not changed: %(error)s"),
                property=name,
                error=exc.message,
            )
        )
    if value == "":
        cleared = stored_text(gettext_noop("%(property)s cleared"), property=name)
        return ActionResult.succeeded(cleared, property=name, value=None)
    return ActionResult.succeeded(
        stored_text(gettext_noop("%(property)s set to %(value)s"), property=name, value=value),
        property=name,
        value=value,
    )


def describe(config: dict) -> str:
    spec = all_property_specs().get(config.get("property"))
    label = spec_label(spec) if spec else config.get("property")
    if config.get("clear"):
        return _("Clear “%(property)s”") % {"property": label}
    if "copy_from" in config:
        source = all_property_specs().get(config["copy_from"])
        return _("Copy “%(source)s” into “%(property)s”") % {
            "source": spec_label(source) if source else config["copy_from"],
            "property": label,
        }
    return _("Set “%(property)s” to %(value)s") % {"property": label, "value": config.get("value")}


def schema(direction: str) -> dict:
    return object_schema(
        TYPE,
        {
            "property": {"type": "string", "minLength": 1},
            "value": {"type": "string"}
            if direction != "request"
            else {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
            "copy_from": {"type": "string"},
            "clear": {"type": "boolean"},
        },
        direction=direction,
        required=("property",),
    )


FIELDS = (
    {"name": "property", "kind": "property", "label": gettext_lazy("Property"), "required": True,
     "writable": True},
    {"name": "mode", "kind": "mode", "label": gettext_lazy("Set it to"), "virtual": True,
     "choices": [["value", gettext_lazy("A value")],
                 ["copy_from", gettext_lazy("A copy of another property")],
                 ["clear", gettext_lazy("Nothing (clear it)")]]},
    {"name": "value", "kind": "text", "label": gettext_lazy("Value"), "required": True,
     "when": "value"},
    {"name": "copy_from", "kind": "property", "label": gettext_lazy("Copy from"),
     "required": True, "when": "copy_from"},
    {"name": "clear", "kind": "flag", "when": "clear"},
)  # fmt: skip


def action_types():
    return [
        ActionType(
            type=TYPE,
            label=gettext_lazy("Set a contact property"),
            clean=clean,
            run=run,
            describe=describe,
            schema=schema,
            fields=FIELDS,
        )
    ]
