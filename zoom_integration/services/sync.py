"""Sync runs: requested by "Sync now", the API or the schedule; one per connection at a time.

A run always refreshes the Zoom users and webinars (rule A2). With *Sync webinar data* off
(rule S1) it then ends as `skipped` with `errors: ["sync_disabled"]`. Otherwise its webinars
become rows that worker tasks claim and sync (`sync_webinars`).
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
    WebinarSyncState,
    ZoomConnection,
)
from .metadata import connection_metadata_refresh
from .sync_webinars import (
    auth_failure,
    sync_run_end_if_done,
    sync_run_progress_save,
    sync_run_rows_plan,
    sync_run_step,
    tasks_per_run,
)

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


# A run whose start (metadata refresh, planning its rows) has not beaten for this long is
# started again by the beat; once its rows are planned, their heartbeats tell (`sync_webinars`).
STALE_AFTER = timedelta(minutes=3)


def sync_run_is_stale(run: SyncRun, *, now=None) -> bool:
    """A running run whose start stopped (worker killed before its rows were planned)."""
    now = now or timezone.now()
    beat = run.heartbeat_at or run.started_at or run.created_at
    return (
        run.status == SyncStatus.RUNNING
        and beat < now - STALE_AFTER
        and not run.webinar_rows.exists()
    )


def _runs_inline() -> bool:
    """Steps run in the calling process when tasks run eagerly (tests, unless a test starts
    a real worker) or inside a caller's transaction, whose rows no worker could see."""
    from celery import current_app

    return bool(current_app.conf.task_always_eager) or transaction.get_connection().in_atomic_block


def sync_run_execute(*, run_id: int, resume: bool = False, **step_options) -> SyncRun:
    """Starts a queued run: refreshes the Zoom users and webinars (rule A2), then plans the run
    as a row per webinar and queues `ZOOM_SYNC_TASKS_PER_RUN` step tasks that share them
    (`sync_webinars`). With tasks run inline, the steps run here, one after the other, and the
    run returned has ended. `resume` starts a running run again (its rows done stay done;
    every write is an idempotent upsert, so it ends as an uninterrupted run would)."""
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("connection").get(pk=run_id)
        if run.status == SyncStatus.RUNNING and (resume or sync_run_is_stale(run)):
            pass
        elif run.status != SyncStatus.QUEUED:
            return run
        if resume:
            # Its workers are known dead: their webinars are free at once.
            run.webinar_rows.filter(state=WebinarSyncState.RUNNING).update(
                state=WebinarSyncState.PENDING, claimed_by=""
            )
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
        sync_run_rows_plan(run=run)
        sync_run_progress_save(run_id=run.pk)
    except ZoomAuthError as exc:
        cause, detail, text = auth_failure(exc)
        return _finish(run, SyncStatus.FAILED, cause=cause, detail=detail, errors=[text])
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
    if _runs_inline():
        while sync_run_step(run_id=run.pk, **step_options):
            pass
        sync_run_end_if_done(run_id=run.pk)  # a run without webinars
    else:
        transaction.on_commit(lambda: _enqueue_steps(run.pk, tasks_per_run()))
    run.refresh_from_db()
    return run


def _enqueue_steps(run_id: int, count: int) -> None:
    from ..tasks import sync_run_step as step_task

    for _step in range(count):
        step_task.delay(run_id)


def _finish(
    run: SyncRun,
    status: str,
    *,
    errors: list[str | dict] | None = None,
    cause: str = "",
    detail: str | dict = "",
) -> SyncRun:
    """Ends a run that stopped before its rows were planned (skipped, or its start failed),
    then raises or clears its connection's sync alerts (`cause` and `detail` name a failure in
    words that are not translated yet: the alert writes them per reader). Runs with rows end
    through `sync_webinars.sync_run_end_if_done`, exactly once."""
    updated = SyncRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
        status=status, errors=errors or [], finished_at=timezone.now()
    )
    run.refresh_from_db()
    if updated:
        logger.info("zoom.sync.finished", extra={"run": run.pk, "status": status})
        alerts_after_run(run=run, cause=cause, error=detail)
    return run
