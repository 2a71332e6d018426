"""Reads of segments: their contacts (evaluated in the database, rule G4), counts (cached
briefly for active segments), members pages by keyset, previews for the builder."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence

from django.core.cache import cache
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from crm.contact_filters import FilterContext
from crm.counters import histogram_observe
from crm.errors import NotFound
from crm.models import Contact

from .compiler import count_query, counted, live_contacts, matching_contacts, page_rows
from .models import Segment, SegmentKind, SegmentMember

COUNT_TTL_SECONDS = 30
# How long counting a segment takes in the database, by kind (active, static, preview), in the
# shared counters that /metrics reads: the segment pages' latency as people feel it.
COUNT_LATENCY = "segment_count_seconds"
COUNT_KINDS = ("active", "static", "preview")
COUNT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _timed_count(queryset: QuerySet, kind: str) -> int:
    started = time.perf_counter()
    count = counted(queryset)
    histogram_observe(COUNT_LATENCY, kind, time.perf_counter() - started, COUNT_BUCKETS)
    return count


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.select_related("created_by").order_by("name", "pk")


def segment_get(*, segment_id) -> Segment:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        raise NotFound(_("Segment %(id)s does not exist") % {"id": segment_id})
    return segment


def segment_contacts(
    *, segment: Segment, ctx: FilterContext | None = None, walk: bool = False
) -> QuerySet[Contact]:
    """The segment's live contacts as one lazy query (unordered), shaped for reading by id
    (pages, exports: `matching_contacts(per_contact=True)`); counts use `count_query`. `walk`:
    the form a members page's walk reads first (`members_page`)."""
    if segment.kind == SegmentKind.STATIC:
        return live_contacts().filter(
            pk__in=SegmentMember.objects.filter(segment=segment).values("contact_id")
        )
    return matching_contacts(
        segment.filters,
        ctx or FilterContext.build(check_references=False),
        per_contact=True,
        walk=walk,
    )


def _count_key(segment: Segment) -> str:
    return f"segments:count:{segment.pk}:{segment.updated_at.timestamp()}"


def segment_count(*, segment: Segment, fresh: bool = False) -> int:
    """Active segments are counted in the database and the figure kept for a few seconds
    (relative dates and new activity move it); static ones are counted each time."""
    if segment.kind == SegmentKind.STATIC:
        return _timed_count(segment_contacts(segment=segment), "static")
    key = _count_key(segment)
    if not fresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    count = _timed_count(
        count_query(segment.filters, FilterContext.build(check_references=False)), "active"
    )
    cache.set(key, count, COUNT_TTL_SECONDS)
    return count


def segment_counts(*, segments: Sequence[Segment]) -> dict[int, int]:
    """Sizes for a page of segments: static ones in one grouped query; active ones from the
    cache or counted one by one."""
    static_ids = [s.pk for s in segments if s.kind == SegmentKind.STATIC]
    sizes: dict[int, int] = {}
    if static_ids:
        rows = (
            SegmentMember.objects.filter(segment_id__in=static_ids, contact__archived_at=None)
            .values("segment_id")
            .annotate(n=Count("id"))
        )
        sizes = {row["segment_id"]: row["n"] for row in rows}
        sizes.update({pk: sizes.get(pk, 0) for pk in static_ids})
    for segment in segments:
        if segment.kind == SegmentKind.ACTIVE:
            sizes[segment.pk] = segment_count(segment=segment)
    return sizes


def members_page(
    queryset: QuerySet[Contact],
    *,
    after: int | None,
    limit: int,
    walk: QuerySet[Contact] | None = None,
) -> tuple[list[Contact], int | None]:
    """One page of members by id (keyset: constant cost at any depth); returns the page and
    the id to continue after, or None at the end. `walk`: the same members in the form read by
    a walk in id order (`matching_contacts(walk=True)`), tried first within its budget, then
    the planner's plan within its own, and so on (`compiler.page_rows`)."""

    def page_of(members: QuerySet[Contact]) -> QuerySet[Contact]:
        if after is not None:
            members = members.filter(pk__gt=after)
        return members.order_by("pk")[: limit + 1]

    rows = page_rows(page_of(walk if walk is not None else queryset), page_of(queryset))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].pk if more and rows else None)


def iter_members(
    queryset: QuerySet[Contact], *, chunk_size: int = 2000, prefetch: Sequence[str] = ()
) -> Iterator[Contact]:
    """Every member, in id order, a chunk at a time (keyset), so that an export of any size
    holds one chunk in memory."""
    after = None
    while True:
        page = queryset.order_by("pk")
        if after is not None:
            page = page.filter(pk__gt=after)
        if prefetch:
            page = page.prefetch_related(*prefetch)
        chunk = list(page[:chunk_size])
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].pk
        if len(chunk) < chunk_size:
            return


def tree_preview(
    *, tree: Mapping, ctx: FilterContext, limit: int = 10
) -> tuple[int, list[Contact]]:
    """The live count and first members of a tree being built (rule G3)."""
    count = _timed_count(count_query(tree, ctx), "preview")
    rows = page_rows(
        matching_contacts(tree, ctx, walk=True).order_by("pk")[:limit],
        matching_contacts(tree, ctx, per_contact=True).order_by("pk")[:limit],
    )
    return count, rows
