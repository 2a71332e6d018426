"""Sync runs: requested by "Sync now", the API or the schedule; one per connection at a time.

A run always refreshes the Zoom users and webinars (rule A2). With *Sync webinar data* off
(rule S1) it then ends as `skipped` with `errors: ["sync_disabled"]`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from crm.errors import Conflict
from crm.models import User
from crm.stored_text import stored_text

from ..alerts import alerts_after_run
from ..client import ZoomAuthError, ZoomError
from ..models import (
    ACTIVE_SYNC_STATUSES,
    ConnectionStatus,
    SyncRun,
    SyncStatus,
    SyncTrigger,
    ZoomConnection,
)
from ..sync.pipeline import Pipeline
from .client import zoom_client
from .metadata import connection_metadata_refresh

logger = logging.getLogger(__name__)


def sync_run_request(
    *, connection: ZoomConnection, trigger: str = SyncTrigger.MANUAL, actor: User | None = None
) -> SyncRun:
    """Records a queued run and queues its task on commit. 409 when the connection is not
    connected, or when a run of it is already queued or running (naming that run)."""
    if connection.status == ConnectionStatus.DISCONNECTED:
        raise Conflict(_("This Zoom connection is disconnected: connect it again to sync."))
    if connection.status != ConnectionStatus.CONNECTED:
        raise Conflict(_("This Zoom connection needs re-authorization before it can sync."))
    try:
        with transaction.atomic():
            active = connection.sync_runs.filter(status__in=ACTIVE_SYNC_STATUSES).first()
            if active is not None:
                raise _already_running(active)
            run = SyncRun.objects.create(connection=connection, trigger=trigger, requested_by=actor)
            transaction.on_commit(lambda: _enqueue(run.pk))
    except IntegrityError:
        active = connection.sync_runs.filter(status__in=ACTIVE_SYNC_STATUSES).first()
        raise _already_running(active)
    return run


def _already_running(active: SyncRun | None) -> Conflict:
    if active is None:
        return Conflict(_("A sync of this connection is already under way."))
    return Conflict(
        _("A sync of this connection is already %(status)s: run %(id)s.")
        % {"status": active.get_status_display().lower(), "id": active.pk},
        run_id=active.pk,
    )


def _enqueue(run_id: int) -> None:
    from ..tasks import run_sync

    run_sync.delay(run_id)


STALE_AFTER = timedelta(minutes=3)


def sync_run_is_stale(run: SyncRun, *, now=None) -> bool:
    """A running run whose worker stopped beating (killed, crashed) may be resumed."""
    now = now or timezone.now()
    beat = run.heartbeat_at or run.started_at or run.created_at
    return run.status == SyncStatus.RUNNING and beat < now - STALE_AFTER


def sync_run_execute(*, run_id: int, resume: bool = False) -> SyncRun:
    """Executes a queued run, or resumes a running one whose worker died (`resume`, or a stale
    heartbeat). Resuming skips the webinars the run had finished; every write is an idempotent
    upsert, so a resumed run ends in the same state as an uninterrupted one."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("connection").get(pk=run_id)
        if run.status == SyncStatus.RUNNING and (resume or sync_run_is_stale(run)):
            pass
        elif run.status != SyncStatus.QUEUED:
            return run
        run.status = SyncStatus.RUNNING
        run.started_at = run.started_at or timezone.now()
        run.heartbeat_at = timezone.now()
        run.attempts += 1
        run.save(update_fields=["status", "started_at", "heartbeat_at", "attempts"])
    connection = run.connection
    try:
        metadata = connection_metadata_refresh(connection=connection)
        run.counts = {**(run.counts or {}), **metadata.as_dict()}
        run.save(update_fields=["counts"])
        connection.refresh_from_db()
        if connection.status != ConnectionStatus.CONNECTED:
            return _finish(run, SyncStatus.SKIPPED, errors=["disconnected"])
        if not connection.sync_webinar_data:
            return _finish(run, SyncStatus.SKIPPED, errors=["sync_disabled"])
        Pipeline(run, connection, zoom_client(connection)).execute()
        return _finish(run, SyncStatus.SUCCEEDED)
    except ZoomAuthError as exc:
        return _finish(
            run,
            SyncStatus.FAILED,
            cause="auth",
            detail=refusal_detail(exc),
            errors=[
                stored_text(
                    gettext_noop(
                        "Zoom refused the connection's credentials (%(error)s). Reconnect Zoom "
                        "in Settings > Integrations > Zoom."
                    ),
                    error=exc.reason or str(exc),  # Zoom's words when it gave some
                )
            ],
        )
    except ZoomError as exc:
        logger.warning("zoom.sync.failed", extra={"run": run.pk, "error": str(exc)})
        return _finish(
            run,
            SyncStatus.FAILED,
            cause="zoom",
            detail=str(exc),
            errors=[
                stored_text(
                    gettext_noop(
                        "Zoom answered with an error: %(error)s. Transient errors were retried; "
                        "run the sync again later, or check the connection in Settings > "
                        "Integrations > Zoom."
                    ),
                    error=str(exc),
                )
            ],
        )
    except Exception as exc:
        # Never leave a run "running" forever: record the failure, then let it surface.
        logger.exception("zoom.sync.crashed", extra={"run": run.pk})
        _finish(
            run,
            SyncStatus.FAILED,
            cause="crash",
            detail=exc.__class__.__name__,
            errors=[
                stored_text(
                    gettext_noop("Unexpected error: %(error)s"), error=exc.__class__.__name__
                )
            ],
        )
        raise


def sync_run_share(*, run_id: int, share: str) -> None:
    """A helper's share of a run under way (`ZOOM_SYNC_PROCESSES`): webinars claimed on the
    run's row and applied in this process. It never ends the run: a failure here is logged,
    and the webinars it held go back to the run's main share, which then meets the error
    itself if it lasts (and records it) or applies them."""
    run = SyncRun.objects.select_related("connection").filter(pk=run_id).first()
    if run is None or run.status != SyncStatus.RUNNING:
        return
    connection = run.connection
    if connection.status != ConnectionStatus.CONNECTED or not connection.sync_webinar_data:
        return
    try:
        Pipeline(run, connection, zoom_client(connection), share=share).help()
    except Exception:
        logger.exception("zoom.sync.share_failed", extra={"run": run_id, "share": share})


def _finish(
    run: SyncRun,
    status: str,
    *,
    errors: list[str | dict] | None = None,
    cause: str = "",
    detail: str | dict = "",
) -> SyncRun:
    """Ends the run, then raises or clears its connection's sync alerts (`cause` and `detail`
    name a failure in words that are not translated yet: the alert writes them per reader)."""
    run.refresh_from_db(fields=["counts", "skips", "progress_done", "progress_total"])
    run.status = status
    run.errors = errors or []
    run.finished_at = timezone.now()
    if status == SyncStatus.SUCCEEDED:
        run.progress_done = max(run.progress_done, run.progress_total)
    run.save(update_fields=["status", "errors", "counts", "finished_at", "progress_done"])
    logger.info("zoom.sync.finished", extra={"run": run.pk, "status": status})
    alerts_after_run(run=run, cause=cause, error=detail)
    return run


def refusal_detail(exc: ZoomAuthError) -> str | dict:
    """Why Zoom refused, for the alert: Zoom's own words inside a sentence in the reader's
    language when Zoom gave a reason (rule L1), else the error as it came."""
    if exc.reason:
        return stored_text(
            gettext_noop("Zoom refused the credentials: %(reason)s"), reason=exc.reason[:500]
        )
    return str(exc)
