"""Sync runs: the Home tab's "Recent sync runs" (polled while one is under way) and the page of
one run: status, progress, counts, errors and the skips per reason with their fix hints
(rule Z9)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext

from crm.errors import NotFound
from crm.paging import numbered_pager

from .. import presentation, selectors
from ..models import ACTIVE_SYNC_STATUSES, SyncRun, ZoomConnection
from .common import connection_or_404, fragment, settings_url

RECENT_RUNS = 10
SKIPS_PER_PAGE = 25


def run_rows(connection: ZoomConnection) -> list[SyncRun]:
    """The latest runs, each with its counts and errors in words."""
    runs = selectors.recent_sync_runs(connection=connection, limit=RECENT_RUNS)
    for run in runs:
        run.count_items = presentation.count_phrases(run.counts)
        run.skip_total = sum(v for v in run.skips.values() if isinstance(v, int))
        run.error_texts = [presentation.run_error_text(e) for e in run.errors]
        run.is_active = run.status in ACTIVE_SYNC_STATUSES
    return runs


@login_required
def sync_runs_fragment(request, connection_id: int):
    """The "Recent sync runs" rows; polled every 2 s while a run is queued or running."""
    connection = connection_or_404(connection_id)
    runs = run_rows(connection)
    context = {
        "connection": connection,
        "runs": runs,
        "has_active_run": any(run.is_active for run in runs),
    }
    return fragment(request, "zoom_integration/_runs.html", context)


def _skip_page_url(request, reason: str, number: int) -> str:
    query = request.GET.copy()
    query[f"page_{reason}"] = number
    return f"{request.path}?{query.urlencode()}"


def _skip_sections(request, run: SyncRun) -> list[dict]:
    """One section per reason: its count, fix hint and a page of the skipped people or
    webinars. One grouped count plus one query per reason (at most eight), whatever the
    number of skips."""
    counted = presentation.skip_counts_with_run(selectors.skip_counts(run=run), run.skips)
    sections = []
    for reason in presentation.reasons_in_order(counted):
        paginator = Paginator(selectors.skips_for_reason(run=run, reason=reason), SKIPS_PER_PAGE)
        paginator.count = counted[reason]  # known from the grouped query: no COUNT per reason
        page = paginator.get_page(request.GET.get(f"page_{reason}"))
        pager = numbered_pager(page, lambda n, r=reason: _skip_page_url(request, r, n))
        sections.append(
            presentation.skip_section(reason=reason, count=counted[reason], pager=pager)
        )
    return sections


def _run_context(request, run: SyncRun) -> dict:
    run.is_active = run.status in ACTIVE_SYNC_STATUSES
    run.error_texts = [presentation.run_error_text(e) for e in run.errors]
    end = run.finished_at or (timezone.now() if run.is_active else None)
    duration = (
        presentation.duration_text((end - run.started_at).total_seconds())
        if run.started_at and end
        else ""
    )
    sections = _skip_sections(request, run)
    return {
        "run": run,
        "connection": run.connection,
        "brand": run.connection.brand,
        "duration": duration,
        "count_phrases": presentation.count_phrases(run.counts or {}),
        "skip_sections": sections,
        "skip_total": sum(section["count"] for section in sections),
        "poll_url": request.get_full_path(),
        "settings_url": settings_url(run.connection.brand_id),
        "global_settings_url": settings_url(run.connection.brand_id, "settings"),
    }


@login_required
def sync_run(request, run_id: int):
    """One run: status, progress, counts, errors and the skips per reason with their fix
    hints (rule Z9). Read-only for everyone signed in; while the run is queued or running the
    live block polls itself every 2 s (an htmx request gets only that block)."""
    try:
        run = selectors.sync_run_get(run_id=run_id)
    except NotFound:
        raise Http404(gettext("This sync run does not exist."))
    context = _run_context(request, run)
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        return fragment(request, "zoom_integration/_run_live.html", context)
    context.update(active_nav="settings", settings_section="integrations")
    return render(request, "zoom_integration/sync_run.html", context)
