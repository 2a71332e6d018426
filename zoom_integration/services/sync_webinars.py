"""A run as rows: each webinar of a run is a `SyncRunWebinar` row, synced by a worker task
that claims it. Any number of workers on any number of machines share a run, and several
connections' runs share the workers.

- **Claiming.** A step task (`tasks.sync_run_step`) claims the run's next row, the largest
  webinar first, with `SELECT … FOR UPDATE SKIP LOCKED`, syncs it (`sync.pipeline`), records
  its outcome on the row, and queues the next step of the same run behind every task already
  queued. A run keeps at most `ZOOM_SYNC_TASKS_PER_RUN` steps queued or running, so the
  queue holds the runs' steps interleaved and no connection's run starves another's. Why
  steps that claim rows, not one task per webinar queued up front: a run of a thousand
  webinars would put a thousand tasks ahead of every other connection's run, and a webinar
  whose worker died would wait for the broker's visibility timeout (an hour on Redis) instead
  of being claimed again by the next step. Measured on `make bench-sync` (README, 2026-12-06,
  alternately): 4 pool processes claiming rows synced 10,873 and 9,097 records/s where the
  former run, shared by one helper process with two apply threads each, did 11,265 and 8,511;
  the per-row claim and heartbeat cost one statement per page, lost in the noise.
- **Liveness.** A claimed row carries the worker's heartbeat (every page, and every few
  seconds while waiting for Zoom). A row whose heartbeat is older than `STALE` is claimable
  again: by the run's next step, or by the beat's sweep (`runs_reclaim`, every 15 s), so a
  SIGKILLed worker's webinar is synced again within a minute. Every write is an idempotent
  upsert, and the old worker, should it wake up, has its next page refused (`ClaimLost`).
- **The end.** The step that finishes the last open row ends the run, exactly once: a
  conditional UPDATE of the run (`finished_at IS NULL` and no open row) that only one
  transaction can win. A webinar that fails permanently fails its row only; the run then ends
  `failed`, naming it. A refused credential (401) cancels the rest: nothing else would pass.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from crm.stored_text import stored_text

from ..alerts import alerts_after_run
from ..client import ZoomAuthError, ZoomError
from ..engagement.services import contacts_engagement_flush
from ..models import (
    FINAL_WEBINAR_STATES,
    SyncRun,
    SyncRunWebinar,
    SyncSkip,
    SyncStatus,
    WebinarSyncState,
    ZoomWebinar,
)
from ..selectors import row_counts_sum
from ..sync.pipeline import ClaimLost, WebinarSync
from .client import zoom_client

logger = logging.getLogger(__name__)
# A row whose worker has not beaten for this long is taken for dead and claimed again. The
# worker beats on every page and every `pipeline.HEARTBEAT_SECONDS` while it waits for Zoom.
STALE = timedelta(seconds=30)
# A run's progress saved at most this often within a webinar (each webinar's end saves it).
PROGRESS_INTERVAL = timedelta(seconds=1)
# At most this many of a failed run's errors are kept on the run (all are on the rows).
RUN_ERRORS = 20
# Batches of the run's end-of-run engagement flush recomputed at once (its statements are
# PostgreSQL's work: two cores here).
FLUSH_THREADS = 2

_CAUSE_ORDER = {"auth": 0, "zoom": 1, "crash": 2}
_OPEN = Q(state__in=[WebinarSyncState.PENDING, WebinarSyncState.RUNNING])


def sync_run_rows_plan(*, run: SyncRun) -> int:
    """The run's plan of work: a row per webinar of its connection, the largest first.
    Idempotent (a restarted start adds only what is missing). Returns the number of rows."""
    webinars = list(
        ZoomWebinar.objects.filter(connection_id=run.connection_id)
        .order_by("-size_hint", "start_time", "id")
        .values_list("pk", flat=True)
    )
    SyncRunWebinar.objects.bulk_create(
        [
            SyncRunWebinar(run=run, webinar_id=pk, position=position)
            for position, pk in enumerate(webinars)
        ],
        ignore_conflicts=True,
    )
    return len(webinars)


def _claimable(run_id: int, now) -> Q:
    return Q(run_id=run_id) & (
        Q(state=WebinarSyncState.PENDING)
        | Q(state=WebinarSyncState.RUNNING, heartbeat_at__lt=now - STALE)
    )


def sync_run_row_claim(*, run_id: int, claim: str) -> SyncRunWebinar | None:
    """Claims the run's next row (pending, or running with a lapsed heartbeat), the largest
    webinar first; rows other workers hold are skipped without waiting. None: none left."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            SyncRunWebinar.objects.select_for_update(skip_locked=True)
            .filter(_claimable(run_id, now))
            .order_by("position", "id")
            .first()
        )
        if row is None:
            return None
        if row.state == WebinarSyncState.RUNNING:
            logger.warning(
                "zoom.sync.webinar_reclaimed",
                extra={"run": run_id, "row": row.pk, "from": row.claimed_by},
            )
        row.state = WebinarSyncState.RUNNING
        row.claimed_by = claim
        row.heartbeat_at = now
        row.started_at = row.started_at or now
        row.attempts += 1
        # Synced again from its first page: counted again from zero (`WebinarSync`).
        row.pages_done = row.records_done = row.records_total = 0
        row.save(
            update_fields=[
                "state",
                "claimed_by",
                "heartbeat_at",
                "started_at",
                "attempts",
                "pages_done",
                "records_done",
                "records_total",
            ]
        )
    return SyncRunWebinar.objects.select_related("webinar", "webinar__host").get(pk=row.pk)


def sync_run_step(*, run_id: int, claim: str | None = None, **options) -> bool:
    """One step of a run: claims a row and syncs its webinar, then ends the run if that was
    the last open row. False when there was no row to claim (the caller's chain stops).
    `options` go to `WebinarSync` (tests: `sleep`, `prefetch`)."""
    run = SyncRun.objects.select_related("connection").filter(pk=run_id).first()
    if run is None or run.status != SyncStatus.RUNNING:
        return False
    claim = claim or uuid.uuid4().hex
    row = sync_run_row_claim(run_id=run_id, claim=claim)
    if row is None:
        sync_run_end_if_done(run_id=run_id)
        return False
    connection = run.connection
    progress = _ProgressSaver(run_id)
    outcome, error = WebinarSyncState.DONE, None
    try:
        sync = WebinarSync(
            row, connection, zoom_client(connection), claim=claim, on_progress=progress, **options
        )
        outcome = sync.execute()
    except ClaimLost:
        logger.warning("zoom.sync.claim_lost", extra={"run": run_id, "row": row.pk})
        return True  # the row is another worker's now
    except ZoomAuthError as exc:
        outcome, error = WebinarSyncState.FAILED, auth_failure(exc)
    except ZoomError as exc:
        logger.warning("zoom.sync.webinar_failed", extra={"run": run_id, "error": str(exc)})
        outcome, error = WebinarSyncState.FAILED, _zoom_error(exc, row)
    except Exception as exc:  # a bug or the database: the row fails, the run goes on
        logger.exception("zoom.sync.crashed", extra={"run": run_id, "row": row.pk})
        outcome, error = WebinarSyncState.FAILED, _crash_error(exc, row)
    _row_finish(row, claim=claim, state=outcome, error=error)
    if error is not None and error[0] == "auth":
        _rows_cancel(run_id)  # nothing else would pass with these credentials
    progress(force=True)
    sync_run_end_if_done(run_id=run_id)
    return True


def auth_failure(exc: ZoomAuthError) -> tuple[str, str | dict, dict]:
    """The cause, the alert's detail and the run's error of a credentials refusal: Zoom's own
    words inside sentences each reader gets in their language (rule L1)."""
    return (
        "auth",
        refusal_detail(exc),
        stored_text(
            gettext_noop(
                "Zoom refused the connection's credentials (%(error)s). Reconnect Zoom "
                "in Settings > Integrations > Zoom."
            ),
            error=exc.reason or str(exc),
        ),
    )


def refusal_detail(exc: ZoomAuthError) -> str | dict:
    """Why Zoom refused, for the alert: Zoom's reason inside a sentence in the reader's
    language when Zoom gave one, else the error as it came."""
    if exc.reason:
        return stored_text(
            gettext_noop("Zoom refused the credentials: %(reason)s"), reason=exc.reason[:500]
        )
    return str(exc)


def _zoom_error(exc: ZoomError, row: SyncRunWebinar) -> tuple[str, str, dict]:
    return (
        "zoom",
        str(exc),
        stored_text(
            gettext_noop(
                "Webinar %(webinar)s: Zoom answered with an error: %(error)s. Transient errors "
                "were retried; the other webinars were synced. Run the sync again later, or "
                "check the connection in Settings > Integrations > Zoom."
            ),
            webinar=str(row.webinar.zoom_webinar_id),
            error=str(exc),
        ),
    )


def _crash_error(exc: Exception, row: SyncRunWebinar) -> tuple[str, str, dict]:
    return (
        "crash",
        exc.__class__.__name__,
        stored_text(
            gettext_noop("Webinar %(webinar)s: unexpected error: %(error)s"),
            webinar=str(row.webinar.zoom_webinar_id),
            error=exc.__class__.__name__,
        ),
    )


def _row_finish(row: SyncRunWebinar, *, claim: str, state: str, error) -> None:
    fields = {"state": state, "finished_at": timezone.now(), "heartbeat_at": timezone.now()}
    if error is not None:
        cause, detail, text = error
        fields.update(error=text, error_cause=cause, error_detail=detail[:500])
    # Only while the claim is ours: a worker taken for dead does not overwrite the new owner.
    SyncRunWebinar.objects.filter(pk=row.pk, claimed_by=claim).update(**fields)


def _rows_cancel(run_id: int) -> None:
    SyncRunWebinar.objects.filter(run_id=run_id, state=WebinarSyncState.PENDING).update(
        state=WebinarSyncState.CANCELLED, finished_at=timezone.now()
    )


class _ProgressSaver:
    """Saves the run's progress (a sum over its rows) at most every `PROGRESS_INTERVAL`."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.saved_at = None

    def __call__(self, *, force: bool = False) -> None:
        now = timezone.now()
        if not force and self.saved_at is not None and now - self.saved_at < PROGRESS_INTERVAL:
            return
        self.saved_at = now
        sync_run_progress_save(run_id=self.run_id)


def sync_run_progress_save(*, run_id: int) -> None:
    """The run's progress bar: webinars and Zoom records done over those known, summed over
    its rows (one aggregate, one update)."""
    totals = SyncRunWebinar.objects.filter(run_id=run_id).aggregate(
        rows=Count("id"),
        finished=Count("id", filter=Q(state__in=FINAL_WEBINAR_STATES)),
        done=Sum("records_done"),
        total=Sum("records_total"),
    )
    SyncRun.objects.filter(pk=run_id).update(
        progress_done=totals["finished"] + (totals["done"] or 0),
        progress_total=totals["rows"] + (totals["total"] or 0),
    )


def sync_run_totals(run_id: int) -> tuple[dict, dict, list, tuple[str, str]]:
    """(counts, skips, errors, (cause, detail)) of a run, summed over its rows and skips."""
    per_row, errors, causes = [], [], []
    for state, row_counts, error, cause, detail in SyncRunWebinar.objects.filter(
        run_id=run_id
    ).values_list("state", "counts", "error", "error_cause", "error_detail"):
        per_row.append(row_counts)
        if state == WebinarSyncState.FAILED:
            if error is not None and error not in errors:
                errors.append(error)
            causes.append((cause, detail))
    skips = dict(
        SyncSkip.objects.filter(run_id=run_id)
        .order_by()
        .values_list("reason")
        .annotate(n=Count("id"))
    )
    # The alert names the most telling cause: refused credentials first.
    causes.sort(key=lambda c: _CAUSE_ORDER.get(c[0], len(_CAUSE_ORDER)))
    return row_counts_sum(per_row), skips, errors[:RUN_ERRORS], causes[0] if causes else ("", "")


def sync_run_end_if_done(*, run_id: int) -> SyncRun | None:
    """Ends the run if none of its rows is open, exactly once whoever calls it and however
    many at once: the conditional UPDATE below succeeds in one transaction only (the others
    wait for its row lock, then find `finished_at` set). Returns the run when this call ended
    it. The run's totals are written on its row (`/metrics` reads them), then its alerts."""
    now = timezone.now()
    if not SyncRunWebinar.objects.filter(_OPEN, run_id=run_id).exists():
        # The contacts' engagement score, once for every webinar of the run (rule E8), before
        # the run says it is done; the rest of the pool is idle by now.
        contacts_engagement_flush(threads=FLUSH_THREADS)
    with transaction.atomic():
        won = (
            SyncRun.objects.filter(pk=run_id, status=SyncStatus.RUNNING, finished_at__isnull=True)
            .exclude(Exists(SyncRunWebinar.objects.filter(_OPEN, run_id=OuterRef("pk"))))
            .update(finished_at=now)
        )
        if not won:
            return None
        run = SyncRun.objects.get(pk=run_id)
        counts, skips, errors, (cause, detail) = sync_run_totals(run_id)
        # What the start wrote (the metadata refresh's counts), then the rows' sums.
        run.counts = {**(run.counts or {}), **counts}
        run.skips = skips
        run.errors = errors
        run.status = SyncStatus.FAILED if errors else SyncStatus.SUCCEEDED
        run.save(update_fields=["counts", "skips", "errors", "status"])
    sync_run_progress_save(run_id=run_id)
    run.refresh_from_db()
    if run.status == SyncStatus.SUCCEEDED and run.progress_done < run.progress_total:
        SyncRun.objects.filter(pk=run_id).update(progress_done=run.progress_total)
        run.progress_done = run.progress_total
    logger.info("zoom.sync.finished", extra={"run": run.pk, "status": run.status})
    alerts_after_run(run=run, cause=cause, error=detail)
    return run


def runs_reclaim() -> list[int]:
    """The beat's sweep (every 15 s): a row whose worker stopped beating is queued again (its
    next step claims it), and a run whose last step died between its last row and its end is
    ended. Returns the runs it acted on."""
    from ..tasks import sync_run_step as step_task

    now = timezone.now()
    acted = []
    stale = (
        SyncRunWebinar.objects.filter(
            state=WebinarSyncState.RUNNING,
            heartbeat_at__lt=now - STALE,
            run__status=SyncStatus.RUNNING,
        )
        .order_by()
        .values_list("run_id")
        .annotate(n=Count("id"))
    )
    for run_id, n in stale:
        for _ in range(min(n, tasks_per_run())):
            step_task.delay(run_id)
        acted.append(run_id)
    # Rows waiting with no step left to claim them (a step's task was lost before it queued
    # the next one: the broker or the database down at that moment).
    recent = now - STALE
    orphaned = (
        SyncRun.objects.filter(status=SyncStatus.RUNNING, heartbeat_at__lt=recent)
        .filter(Exists(SyncRunWebinar.objects.filter(run_id=OuterRef("pk"), state="pending")))
        .exclude(
            Exists(
                SyncRunWebinar.objects.filter(
                    Q(heartbeat_at__gte=recent) | Q(finished_at__gte=recent),
                    run_id=OuterRef("pk"),
                )
            )
        )
        .exclude(pk__in=acted)
    )
    for run_id in orphaned.values_list("pk", flat=True):
        for _ in range(tasks_per_run()):
            step_task.delay(run_id)
        acted.append(run_id)
    unfinished = SyncRun.objects.filter(
        status=SyncStatus.RUNNING, finished_at__isnull=True, webinar_rows__isnull=False
    ).exclude(Exists(SyncRunWebinar.objects.filter(_OPEN, run_id=OuterRef("pk"))))
    for run_id in unfinished.values_list("pk", flat=True).distinct():
        if sync_run_end_if_done(run_id=run_id) is not None:
            acted.append(run_id)
    return acted


def tasks_per_run() -> int:
    return max(1, int(getattr(settings, "ZOOM_SYNC_TASKS_PER_RUN", 4)))


__all__ = [
    "STALE",
    "runs_reclaim",
    "sync_run_end_if_done",
    "sync_run_progress_save",
    "sync_run_row_claim",
    "sync_run_rows_plan",
    "sync_run_step",
    "sync_run_totals",
    "tasks_per_run",
]
