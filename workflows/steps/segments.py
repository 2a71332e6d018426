"""`segment.add` / `segment.remove` (rule W9): put the contact in a static segment or take it
out (idempotent: a member added twice is one member)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from crm.errors import ApplicationError
from crm.stored_text import stored_text
from segments.models import Segment, SegmentKind
from segments.services import segment_members_add, segment_members_remove

from ..actions import ActionInvalid, ActionResult, ActionType
from .common import id_schema, object_schema, only_keys

ADD, REMOVE = "segment.add", "segment.remove"


def clean(config: dict) -> dict:
    only_keys(config, {"segment_id"})
    raw = config.get("segment_id")
    text = str(raw).strip() if isinstance(raw, (int, str)) and not isinstance(raw, bool) else ""
    if not text.isdigit() or len(text) > 18:
        raise ActionInvalid(_("Choose a static segment"), "segment_id")
    segment = Segment.objects.filter(pk=int(text)).first()
    if segment is None:
        raise ActionInvalid(_("Segment %(id)s does not exist") % {"id": text}, "segment_id")
    if segment.kind != SegmentKind.STATIC:
        raise ActionInvalid(
            _(
                "“%(name)s” is an active segment: its members follow its filters; choose a "
                "static one"
            )
            % {"name": segment.name},
            "segment_id",
        )
    return {"segment_id": segment.pk}


def _run(ctx, add: bool) -> ActionResult:
    segment = Segment.objects.filter(pk=ctx.config["segment_id"]).first()
    if segment is None:
        return ActionResult.failed(
            stored_text(
                gettext_noop("Segment %(id)s no longer exists"), id=ctx.config["segment_id"]
            )
        )
    try:
        if add:
            segment_members_add(segment=segment, contact_ids=[ctx.contact.pk])
        else:
            segment_members_remove(segment=segment, contact_ids=[ctx.contact.pk])
    except ApplicationError as exc:
        return ActionResult.failed(exc.message)
    message = (
        gettext_noop("Added to segment “%(segment)s”")
        if add
        else gettext_noop("Removed from segment “%(segment)s”")
    )
    return ActionResult.succeeded(stored_text(message, segment=segment.name), segment_id=segment.pk)


def _describe(add: bool):
    def describe(config: dict) -> str:
        segment = Segment.objects.filter(pk=config.get("segment_id")).first()
        name = segment.name if segment else f"#{config.get('segment_id')}"
        text = _("Add to segment “%(segment)s”") if add else _("Remove from segment “%(segment)s”")
        return text % {"segment": name}

    return describe


def _schema(type_name: str):
    def schema(direction: str) -> dict:
        return object_schema(
            type_name,
            {"segment_id": id_schema(direction, "A static segment's id")},
            direction=direction,
            required=("segment_id",),
        )

    return schema


FIELDS = ({"name": "segment_id", "kind": "segment", "label": gettext_lazy("Static segment"),
           "required": True},)  # fmt: skip


def action_types():
    return [
        ActionType(type=ADD, label=gettext_lazy("Add to a static segment"), clean=clean,
                   run=lambda ctx: _run(ctx, True), describe=_describe(True),
                   schema=_schema(ADD), fields=FIELDS),
        ActionType(type=REMOVE, label=gettext_lazy("Remove from a static segment"), clean=clean,
                   run=lambda ctx: _run(ctx, False), describe=_describe(False),
                   schema=_schema(REMOVE), fields=FIELDS),
    ]  # fmt: skip
