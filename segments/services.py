"""Writes of segments. Every function validates before it writes, so bad input changes nothing.

- Filters are validated and stored normalized (`segments.tree.clean_tree`); errors name the
  bad node (`or[0].and[1].operator`).
- A static segment starts as the snapshot of its filters; afterwards its members change only
  by `segment_members_add` / `segment_members_remove` (idempotent: adding a member twice or
  removing a non-member changes nothing).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.contact_filters import PROPERTY_CONVERTERS, FilterContext
from crm.errors import Conflict, NameTaken, ValidationFailed
from crm.ids import is_id_text
from crm.models import Contact, User

from .compiler import matching_contacts
from .models import Segment, SegmentKind, SegmentMember
from .tree import TreeInvalid, clean_tree, iter_filters

MAX_MEMBER_IDS = 1000


def clean_filters(filters, ctx: FilterContext | None = None) -> dict:
    """A valid, normalized tree, or `ValidationFailed` listing each bad node."""
    try:
        return clean_tree(filters, ctx or FilterContext.build())
    except TreeInvalid as exc:
        raise ValidationFailed(
            _("Invalid filters: %(errors)s") % {"errors": exc},
            errors=[{"name": e.path, "path": e.path, "message": e.message} for e in exc.errors],
        )


def _clean_name(name, *, exclude_id: int | None = None) -> str:
    text = (name or "").strip() if isinstance(name, str) else ""
    if not text:
        raise ValidationFailed(
            _("A segment needs a name"), errors=[{"name": "name", "message": _("required")}]
        )
    if len(text) > 200:
        raise ValidationFailed(
            _("A name has at most 200 characters"),
            errors=[{"name": "name", "message": _("too long")}],
        )
    taken = Segment.objects.filter(name__iexact=text).exclude(pk=exclude_id)
    if taken.exists():
        raise NameTaken(
            _name_taken(text),
            errors=[{"name": "name", "message": _("already taken")}],
        )
    return text


def _name_taken(name) -> str:
    return _("A segment named %(name)s already exists") % {"name": repr(name)}


def _snapshot_into(segment: Segment, filters: Mapping, ctx: FilterContext) -> int:
    """Inserts the contacts matching `filters` as members, in the database (one statement)."""
    try:
        selected, params = (
            matching_contacts(filters, ctx).values("id").order_by().query.sql_with_params()
        )
    except EmptyResultSet:  # {"or": []}: no one
        return 0
    table = connection.ops.quote_name(SegmentMember._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (segment_id, contact_id, added_at) "
            f"SELECT %s, matched.id, %s FROM ({selected}) AS matched WHERE TRUE "
            "ON CONFLICT (segment_id, contact_id) DO NOTHING",
            (segment.pk, timezone.now(), *params),
        )
        return cursor.rowcount


def segment_create(*, name: str, kind: str, filters, actor: User | None) -> Segment:
    """Creates a segment; a static one is filled at once with the contacts its filters match."""
    if kind not in SegmentKind.values:
        raise ValidationFailed(
            _("kind must be one of %(choices)s") % {"choices": ", ".join(SegmentKind.values)},
            errors=[{"name": "kind", "message": _("invalid")}],
        )
    ctx = FilterContext.build()
    clean = clean_filters(filters, ctx)
    with transaction.atomic():
        try:
            segment = Segment.objects.create(
                name=_clean_name(name), kind=kind, filters=clean, created_by=actor
            )
        except IntegrityError:  # a concurrent creation took the name
            raise NameTaken(_name_taken(name))
        if kind == SegmentKind.STATIC:
            _snapshot_into(segment, clean, ctx)
    return segment


def segment_update(*, segment: Segment, name: str | None = None, filters=None) -> Segment:
    """Renames a segment or, for an active one, replaces its filters. A static segment's
    members change by add/remove only, so its filters cannot be replaced."""
    if name is not None:
        segment.name = _clean_name(name, exclude_id=segment.pk)
    if filters is not None:
        if segment.kind == SegmentKind.STATIC:
            raise Conflict(
                _(
                    "A static segment's filters are fixed: add or remove members instead, or "
                    "create a new segment"
                )
            )
        segment.filters = clean_filters(filters)
    segment.updated_at = timezone.now()
    segment.save()
    return segment


def segment_delete(*, segment: Segment) -> None:
    segment.delete()


def segment_snapshot(*, segment: Segment, name: str, actor: User | None) -> Segment:
    """A static copy of a segment's current members."""
    with transaction.atomic():
        static = Segment.objects.create(
            name=_clean_name(name),
            kind=SegmentKind.STATIC,
            filters=segment.filters,
            created_by=actor,
        )
        if segment.kind == SegmentKind.STATIC:
            SegmentMember.objects.bulk_create(
                [
                    SegmentMember(segment=static, contact_id=cid)
                    for cid in SegmentMember.objects.filter(segment=segment).values_list(
                        "contact_id", flat=True
                    )
                ],
                batch_size=2000,
            )
        else:
            _snapshot_into(static, segment.filters, FilterContext.build(check_references=False))
    return static


def _contact_ids(contact_ids: Iterable) -> list[int]:
    ids = list(contact_ids or [])
    if not ids:
        raise ValidationFailed(
            _("contact_ids must be a non-empty list"),
            errors=[{"name": "contact_ids", "message": _("required")}],
        )
    if len(ids) > MAX_MEMBER_IDS:
        raise ValidationFailed(_("At most %(max)s contact ids at a time") % {"max": MAX_MEMBER_IDS})
    bad = [i for i in ids if isinstance(i, bool) or not is_id_text(str(i).strip())]
    if bad:
        raise ValidationFailed(
            _("%(value)s is not a contact id") % {"value": repr(bad[0])},
            errors=[{"name": "contact_ids", "message": _("invalid")}],
        )
    ids = sorted({int(str(i).strip()) for i in ids})
    found = set(
        Contact.objects.filter(pk__in=ids, archived_at__isnull=True).values_list("pk", flat=True)
    )
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed(
            _("No live contact with id %(ids)s") % {"ids": ", ".join(str(i) for i in missing[:10])},
            errors=[
                {"name": "contact_ids", "message": _("unknown: %(ids)s") % {"ids": missing[:10]}}
            ],
        )
    return ids


def _static_only(segment: Segment) -> None:
    if segment.kind != SegmentKind.STATIC:
        raise Conflict(
            _(
                "Members of an active segment follow its filters; only a static segment takes "
                "members by hand"
            )
        )


def segment_members_add(*, segment: Segment, contact_ids: Iterable) -> int:
    """Adds contacts to a static segment; returns how many were not members yet."""
    _static_only(segment)
    ids = _contact_ids(contact_ids)
    with transaction.atomic():
        existing = SegmentMember.objects.filter(segment=segment, contact_id__in=ids).count()
        SegmentMember.objects.bulk_create(
            [SegmentMember(segment=segment, contact_id=cid) for cid in ids],
            ignore_conflicts=True,
        )
        Segment.objects.filter(pk=segment.pk).update(updated_at=timezone.now())
    segment.refresh_from_db(fields=["updated_at"])
    return len(ids) - existing


def segment_members_remove(*, segment: Segment, contact_ids: Iterable) -> int:
    """Removes contacts from a static segment; returns how many were members."""
    _static_only(segment)
    ids = _contact_ids(contact_ids)
    with transaction.atomic():
        removed, _ = SegmentMember.objects.filter(segment=segment, contact_id__in=ids).delete()
        Segment.objects.filter(pk=segment.pk).update(updated_at=timezone.now())
    segment.refresh_from_db(fields=["updated_at"])
    return removed


@dataclass(frozen=True)
class Conversion:
    filters: dict
    converted: int
    kept: int
    notes: list[dict]


def filters_convert_legacy(filters: Mapping, ctx: FilterContext | None = None) -> Conversion:
    """Rule B9: replaces the legacy-property filters of a tree by marketing-event filters where
    an equivalent exists, keeping the others, with a note per filter that is kept or whose
    meaning shifts. Changes nothing stored: the caller saves the result if it wants it."""
    ctx = ctx or FilterContext.build(check_references=False)
    tree = copy.deepcopy(dict(clean_filters(filters, ctx)))
    converted = kept = 0
    notes = []
    for path, node in iter_filters(tree):
        if node.get("type") != "property" or node.get("property") not in PROPERTY_CONVERTERS:
            continue
        replacement, note = PROPERTY_CONVERTERS[node["property"]](node, ctx)
        if replacement is None:
            kept += 1
        else:
            converted += 1
            node.clear()
            node.update(replacement)
        if note:
            notes.append({"path": path, "message": str(note)})
    return Conversion(clean_filters(tree, ctx), converted, kept, notes)


def filters_use_legacy(filters: Mapping) -> bool:
    return any(
        node.get("type") == "property" and node.get("property") in PROPERTY_CONVERTERS
        for _path, node in iter_filters(filters)
    )
