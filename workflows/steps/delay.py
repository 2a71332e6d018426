"""`delay` (rules W9, W10): wait a duration, until a date property of the contact, or relative
to a webinar's start or end. The step answers the moment it waits for; the engine keeps the
enrollment as a row with that due time and its scan takes it when due (`workflows.engine`).

    {"seconds": 3600}
    {"until_property": "renewal_date"}
    {"webinar_id": "81234567890", "relative_to": "end", "offset_seconds": 86400}

The due time is reckoned when the contact reaches the step (a webinar moved later does not move
a wait already counting). A moment already past — a date property in the past, a webinar that
ended long ago — lets the contact through at once; an empty date property too (the log says so).
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from crm.filter_schema import REQUEST
from crm.hubspot.serializers import property_value
from crm.properties import PropertyType, all_property_specs, parse_datetime_value, spec_label
from crm.stored_text import stored_text
from marketing_events.models import MarketingEvent

from ..actions import ActionInvalid, ActionResult, ActionType, webinar_times
from .common import given, object_schema, only_keys, whole_number

TYPE = "delay"
MAX_SECONDS = 366 * 86400
WEBINAR_ID = re.compile(r"\d{9,12}")
DATE_TYPES = (PropertyType.DATE, PropertyType.DATETIME)


def clean(config: dict) -> dict:
    only_keys(config, {"seconds", "until_property", "webinar_id", "relative_to", "offset_seconds"})
    modes = [key for key in ("seconds", "until_property", "webinar_id") if given(config, key)]
    if len(modes) != 1:
        raise ActionInvalid(
            _("Give one of: a duration in seconds, a date property, or a webinar"), "seconds"
        )
    mode = modes[0]
    if mode != "webinar_id":
        extra = [key for key in ("relative_to", "offset_seconds") if given(config, key)]
        if extra:
            raise ActionInvalid(_("only a delay relative to a webinar takes this"), extra[0])
    if mode == "seconds":
        return {"seconds": whole_number(config, "seconds", low=1, high=MAX_SECONDS)}
    if mode == "until_property":
        name = config["until_property"]
        spec = all_property_specs().get(name) if isinstance(name, str) else None
        if spec is None:
            raise ActionInvalid(
                _("Contact property %(name)s does not exist") % {"name": repr(name)},
                "until_property",
            )
        if spec.type not in DATE_TYPES:
            raise ActionInvalid(
                _("%(name)s is not a date property") % {"name": spec_label(spec)},
                "until_property",
            )
        return {"until_property": name}
    webinar_id = config["webinar_id"]
    if isinstance(webinar_id, bool) or not WEBINAR_ID.fullmatch(str(webinar_id)):
        raise ActionInvalid(
            _(
                "%(value)s is not a Zoom webinar id: type its 9 to 12 digits without spaces "
                "or dashes (e.g. 81234567890)"
            )
            % {"value": repr(str(webinar_id))},
            "webinar_id",
        )
    relative_to = config.get("relative_to") or "end"
    if relative_to not in ("start", "end"):
        raise ActionInvalid(_("must be start or end"), "relative_to")
    offset = (
        whole_number(config, "offset_seconds", low=-MAX_SECONDS, high=MAX_SECONDS)
        if given(config, "offset_seconds")
        else 0
    )
    return {"webinar_id": str(webinar_id), "relative_to": relative_to, "offset_seconds": offset}


def due_time(config: dict, contact, arrived_at: dt.datetime) -> tuple[dt.datetime | None, dict]:
    """When the wait ends (None: no wait), and why (a stored text for the log)."""
    if "seconds" in config:
        return arrived_at + dt.timedelta(seconds=config["seconds"]), {}
    if "until_property" in config:
        spec = all_property_specs().get(config["until_property"])
        if spec is None:
            return None, stored_text(
                gettext_noop("The contact property %(name)s no longer exists: no wait"),
                name=repr(config["until_property"]),
            )
        moment = parse_datetime_value(property_value(contact, spec) or "")
        if moment is None:
            return None, stored_text(
                gettext_noop("The contact's “%(property)s” is empty: no wait"),
                property=spec.label,
            )
        return moment, {}
    event = (
        MarketingEvent.objects.filter(source="zoom", external_event_id=config["webinar_id"])
        .only("starts_at", "ends_at")
        .first()
    )
    base = None
    if event is not None:
        base = event.starts_at if config["relative_to"] == "start" else event.ends_at
    if base is None:
        # Not synced yet (no marketing event): the times the integration listed, if any.
        times = webinar_times(config["webinar_id"])
        if times is not None:
            base = times[0] if config["relative_to"] == "start" else times[1]
    if base is None:
        raise LookupError(config["webinar_id"])
    return base + dt.timedelta(seconds=config["offset_seconds"]), {}


def run(ctx) -> ActionResult:
    arrived_at = ctx.arrived_at or timezone.now()
    try:
        until, note = due_time(ctx.config, ctx.contact, arrived_at)
    except LookupError:
        return ActionResult.failed(
            stored_text(
                gettext_noop(
                    "Webinar %(webinar)s is not known to the CRM, or has no %(edge)s time: "
                    "sync its Zoom account first"
                ),
                webinar=ctx.config["webinar_id"],
                edge=ctx.config["relative_to"],
            )
        )
    if until is None:
        return ActionResult.succeeded(note)
    if until <= timezone.now():
        return ActionResult.succeeded(
            stored_text(gettext_noop("Due at %(due)s, already past: no wait"), due=_iso(until)),
            until=until.isoformat(),
        )
    return ActionResult.waiting(
        until, stored_text(gettext_noop("Waiting until %(due)s"), due=_iso(until))
    )


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def describe(config: dict) -> str:
    if "seconds" in config:
        return _("Wait %(duration)s") % {"duration": duration_text(config["seconds"])}
    if "until_property" in config:
        spec = all_property_specs().get(config["until_property"])
        label = spec_label(spec) if spec else config["until_property"]
        return _("Wait until the contact's “%(property)s”") % {"property": label}
    offset = config.get("offset_seconds", 0)
    edge = _("start") if config.get("relative_to") == "start" else _("end")
    if not offset:
        return _("Wait until webinar %(id)s's %(edge)s") % {
            "id": config["webinar_id"],
            "edge": edge,
        }
    text = (
        _("Wait until %(duration)s after webinar %(id)s's %(edge)s")
        if offset > 0
        else _("Wait until %(duration)s before webinar %(id)s's %(edge)s")
    )
    return text % {"duration": duration_text(abs(offset)), "id": config["webinar_id"], "edge": edge}


def duration_text(seconds: int) -> str:
    from django.utils.translation import ngettext

    if seconds % 86400 == 0:
        return ngettext("%(n)d day", "%(n)d days", seconds // 86400) % {"n": seconds // 86400}
    if seconds % 3600 == 0:
        return ngettext("%(n)d hour", "%(n)d hours", seconds // 3600) % {"n": seconds // 3600}
    if seconds % 60 == 0:
        return ngettext("%(n)d minute", "%(n)d minutes", seconds // 60) % {"n": seconds // 60}
    return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}


def schema(direction: str) -> dict:
    number = {"type": "integer"}
    if direction == REQUEST:
        number = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^-?[0-9]+$"}]}
    return object_schema(
        TYPE,
        {
            "seconds": {**number, "description": "Wait this long (1 s to 366 days)"},
            "until_property": {"type": "string", "description": "Wait until this date property"},
            "webinar_id": {"type": "string", "pattern": "^[0-9]{9,12}$"},
            "relative_to": {"type": "string", "enum": ["start", "end"]},
            "offset_seconds": {**number, "description": "Seconds after (negative: before)"},
        },
        direction=direction,
    )


FIELDS = (
    {"name": "mode", "kind": "mode", "label": gettext_lazy("Wait"), "virtual": True,
     "choices": [["seconds", gettext_lazy("For a duration")],
                 ["until_property", gettext_lazy("Until a date property")],
                 ["webinar_id", gettext_lazy("Relative to a webinar")]]},
    {"name": "seconds", "kind": "duration", "label": gettext_lazy("Duration"),
     "required": True, "when": "seconds"},
    {"name": "until_property", "kind": "property", "label": gettext_lazy("Date property"),
     "required": True, "when": "until_property", "property_types": ["date", "datetime"]},
    {"name": "webinar_id", "kind": "webinar", "label": gettext_lazy("Webinar"),
     "required": True, "when": "webinar_id"},
    {"name": "relative_to", "kind": "select", "label": gettext_lazy("Relative to"),
     "when": "webinar_id", "choices": [["end", gettext_lazy("its end")],
                                       ["start", gettext_lazy("its start")]]},
    {"name": "offset_seconds", "kind": "duration", "label": gettext_lazy("Offset"),
     "when": "webinar_id", "signed": True},
)  # fmt: skip


def action_types():
    return [
        ActionType(
            type=TYPE,
            label=gettext_lazy("Delay"),
            clean=clean,
            run=run,
            describe=describe,
            schema=schema,
            fields=FIELDS,
        )
    ]
