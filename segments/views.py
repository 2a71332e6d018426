"""Segments in the browser: list (sizes loaded after the page), builder (new/edit, with a live
count through the API's preview), segment page (members by keyset, CSV export, static add/
remove, snapshot, legacy conversion B9), and the pickers the builder searches."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.contact_filters import FilterContext
from crm.errors import ApplicationError, NotFound, ValidationFailed
from crm.ids import is_id_text
from crm.models import Contact
from crm.paging import keyset_pager, numbered_pager
from crm.search_text import MAX_SEARCH_LENGTH, clean_search
from crm.views.access import write_required
from marketing_events.models import MarketingEvent

from . import builder, selectors, services
from .exports import export_response
from .models import Segment, SegmentKind
from .tree import describe_tree

PAGE_SIZE = 25
MEMBERS_PAGE_SIZE = 50
PICKER_LIMIT = 20


def _segment_or_404(segment_id: int) -> Segment:
    try:
        return selectors.segment_get(segment_id=segment_id)
    except NotFound:
        raise Http404


@login_required
def segment_list(request):
    search, search_error = _search(request)
    segments = selectors.segment_list()
    if search_error:
        segments = segments.none()
    elif search:
        segments = segments.filter(name__icontains=search)
    page = Paginator(segments, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "active_nav": "segments",
        "page": page,
        "pager": numbered_pager(page, lambda n: _list_page_url(search, n)),
        "search": search,
        "search_error": search_error,
        "max_search_length": MAX_SEARCH_LENGTH,
        "can_write": request.user.can_write,
        "size_ids": ",".join(str(s.pk) for s in page.object_list),
    }
    template = "segments/_results.html" if request.htmx else "segments/list.html"
    return render(request, template, context)


def _list_page_url(search: str, number: int) -> str:
    return "?" + urlencode({"page": number, "q": search} if search else {"page": number})


def _search(request) -> tuple[str, str | None]:
    """The `q` typed in a list's or picker's search box, and the message to show instead of
    running a query when it is too long."""
    search = request.GET.get("q", "").strip()
    try:
        clean_search(search)
    except ValidationFailed:
        return search, _("The search is too long: use at most %(max)s characters.") % {
            "max": MAX_SEARCH_LENGTH
        }
    return search, None


@login_required
def segment_sizes(request):
    """Sizes of a page of segments, loaded after the list so the list itself stays cheap."""
    ids = [int(i) for i in request.GET.get("ids", "").split(",") if is_id_text(i)][:PAGE_SIZE]
    segments = list(Segment.objects.filter(pk__in=ids))
    return JsonResponse({str(k): v for k, v in selectors.segment_counts(segments=segments).items()})


def _builder(request, *, segment: Segment | None, filters, name: str, kind: str, errors=(),
             notes=(), status=200):  # fmt: skip
    context = {
        "active_nav": "segments",
        "segment": segment,
        "name": name,
        "kind": kind,
        "kinds": SegmentKind.choices,
        "filters_json": json.dumps(filters),
        "errors": list(errors),
        "errors_for_js": [e for e in errors if e.get("path")],
        "notes": list(notes),
        "catalogue": builder.catalogue(),
        "labels": builder.tree_labels(filters),
    }
    return render(request, "segments/builder.html", context, status=status)


def _posted_filters(request):
    try:
        return json.loads(request.POST.get("filters") or '{"or": []}')
    except ValueError:
        return None


@write_required
def segment_create(request):
    if request.method != "POST":
        filters = {"or": [{"and": []}]}
        return _builder(request, segment=None, filters=filters, name="", kind="active")
    name = request.POST.get("name", "")
    kind = request.POST.get("kind", SegmentKind.ACTIVE)
    filters = _posted_filters(request)
    if filters is None:
        return _builder(request, segment=None, filters={"or": []}, name=name, kind=kind,
                        errors=[{"path": "", "message": _("The filters could not be read.")}],
                        status=400)  # fmt: skip
    try:
        segment = services.segment_create(name=name, kind=kind, filters=filters, actor=request.user)
    except ValidationFailed as exc:
        return _builder(request, segment=None, filters=filters, name=name, kind=kind,
                        errors=_errors(exc), status=400)  # fmt: skip
    messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
    return redirect("segments:detail", segment_id=segment.pk)


@write_required
def segment_edit(request, segment_id: int):
    segment = _segment_or_404(segment_id)
    if request.method != "POST":
        filters, notes = segment.filters, []
        if request.GET.get("convert") == "legacy":
            result = services.filters_convert_legacy(segment.filters)
            filters, notes = result.filters, result.notes
            if result.converted:
                messages.info(
                    request,
                    _("%(n)s legacy filter(s) converted. Check the result, then save.")
                    % {"n": result.converted},
                )
        return _builder(request, segment=segment, filters=filters, name=segment.name,
                        kind=segment.kind, notes=notes)  # fmt: skip
    name = request.POST.get("name", "")
    filters = _posted_filters(request)
    try:
        services.segment_update(
            segment=segment,
            name=name,
            filters=None if segment.is_static else filters,
        )
    except ValidationFailed as exc:
        segment.refresh_from_db()
        return _builder(request, segment=segment, filters=filters or {"or": []}, name=name,
                        kind=segment.kind, errors=_errors(exc), status=400)  # fmt: skip
    messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
    return redirect("segments:detail", segment_id=segment.pk)


def _errors(exc: ValidationFailed) -> list[dict]:
    if exc.errors:
        return [
            {"path": e.get("path", e.get("name", "")), "message": e.get("message", "")}
            for e in exc.errors
        ]
    return [{"path": "", "message": exc.message}]


@login_required
def segment_detail(request, segment_id: int):
    segment = _segment_or_404(segment_id)
    after = request.GET.get("after", "")
    after_id = int(after) if is_id_text(after) else None
    ctx = FilterContext.build(check_references=False)
    rows, next_after = selectors.members_page(
        selectors.segment_contacts(segment=segment, ctx=ctx),
        after=after_id,
        limit=MEMBERS_PAGE_SIZE,
        walk=selectors.segment_contacts(segment=segment, ctx=ctx, walk=True),
    )
    context = {
        "active_nav": "segments",
        "segment": segment,
        "groups": describe_tree(segment.filters, ctx),
        "count": selectors.segment_count(segment=segment),
        "members": rows,
        "next_after": next_after,
        "is_first_page": after_id is None,
        "pager": keyset_pager(
            first_url=None if after_id is None else reverse("segments:detail", args=[segment.pk]),
            next_url=f"?after={next_after}" if next_after else None,
        ),
        "can_write": request.user.can_write,
        "uses_legacy": services.filters_use_legacy(segment.filters),
    }
    template = "segments/_members.html" if request.htmx else "segments/detail.html"
    return render(request, template, context)


@login_required
def segment_export(request, segment_id: int):
    segment = _segment_or_404(segment_id)
    try:
        return export_response(segment, request.GET.get("properties"))
    except ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect("segments:detail", segment_id=segment.pk)


@write_required
@require_POST
def segment_delete(request, segment_id: int):
    segment = _segment_or_404(segment_id)
    services.segment_delete(segment=segment)
    messages.success(request, _("Segment “%(name)s” deleted.") % {"name": segment.name})
    return redirect("segments:list")


@write_required
@require_POST
def segment_snapshot(request, segment_id: int):
    segment = _segment_or_404(segment_id)
    name = request.POST.get("name") or _("%(name)s (static copy)") % {"name": segment.name}
    try:
        static = services.segment_snapshot(segment=segment, name=name, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("segments:detail", segment_id=segment.pk)
    messages.success(request, _("Static copy “%(name)s” created.") % {"name": static.name})
    return redirect("segments:detail", segment_id=static.pk)


@write_required
@require_POST
def segment_members_change(request, segment_id: int, action: str):
    segment = _segment_or_404(segment_id)
    raw = request.POST.get("contact", "").strip()
    contact_id = raw if is_id_text(raw) else None
    if contact_id is None and raw:
        found = Contact.objects.filter(email=raw.lower(), archived_at__isnull=True).first()
        contact_id = found.pk if found else None
    if contact_id is None:
        messages.error(request, _("No contact with the e-mail or id “%(v)s”.") % {"v": raw})
        return redirect("segments:detail", segment_id=segment.pk)
    change = services.segment_members_add if action == "add" else services.segment_members_remove
    try:
        changed = change(segment=segment, contact_ids=[contact_id])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if action == "add":
            text = _("Contact added.") if changed else _("That contact is already a member.")
        else:
            text = _("Contact removed.") if changed else _("That contact was not a member.")
        messages.success(request, text)
    return redirect("segments:detail", segment_id=segment.pk)


@login_required
def pick_events(request):
    """Marketing events for the builder's picker, by name."""
    search, search_error = _search(request)
    if search_error:
        return JsonResponse({"results": [], "error": search_error}, status=400)
    events = MarketingEvent.objects.order_by("-starts_at", "-pk")
    if search:
        events = events.filter(Q(name__icontains=search) | Q(external_event_id=search))
    return JsonResponse(
        {
            "results": [
                {
                    "id": e.pk,
                    "name": e.name,
                    "starts_at": e.starts_at.isoformat() if e.starts_at else None,
                }
                for e in events[:PICKER_LIMIT]
            ]
        }
    )


@login_required
def pick_webinars(request):
    """Zoom webinars (the marketing events the sync keeps for them), by name or id."""
    search, search_error = _search(request)
    if search_error:
        return JsonResponse({"results": [], "error": search_error}, status=400)
    events = MarketingEvent.objects.filter(source="zoom").order_by("-starts_at", "-pk")
    if search:
        events = events.filter(Q(name__icontains=search) | Q(external_event_id__startswith=search))
    return JsonResponse(
        {
            "results": [
                {"id": e.external_event_id, "name": e.name,
                 "starts_at": e.starts_at.isoformat() if e.starts_at else None}
                for e in events[:PICKER_LIMIT]
            ]
        }
    )  # fmt: skip
