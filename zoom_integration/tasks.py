"""Celery entry points only: take ids, call a service."""

from celery import shared_task

from .client import ZoomRateLimited, ZoomTransientError


@shared_task(
    acks_late=True,
    autoretry_for=(ZoomTransientError, ZoomRateLimited),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def refresh_connection_metadata(connection_id: int) -> dict:
    from .models import ConnectionStatus, ZoomConnection
    from .services.metadata import connection_metadata_refresh

    connection = ZoomConnection.objects.filter(pk=connection_id).first()
    if connection is None or connection.status != ConnectionStatus.CONNECTED:
        return {}
    try:
        return connection_metadata_refresh(connection=connection).as_dict()
    finally:
        ZoomConnection.objects.filter(pk=connection_id).update(metadata_refreshing=False)


@shared_task(acks_late=True)
def run_sync(run_id: int) -> str:
    """A run's start: metadata, then its rows and the step tasks that sync them."""
    from .services.sync import sync_run_execute

    return sync_run_execute(run_id=run_id).status


# acks_late and reject_on_worker_lost: a step whose worker process dies is delivered again (a
# pool process killed: at once; the whole worker: after the broker's visibility timeout); its
# row is claimed again once its heartbeat lapses, by this step or another (`sync_webinars`).
@shared_task(acks_late=True, reject_on_worker_lost=True)
def sync_run_step(run_id: int) -> bool:
    """Syncs one webinar of the run, then queues the run's next step behind the tasks already
    queued (fairness between connections' runs). The chain stops when no row is left."""
    from .services.sync_webinars import sync_run_step as step

    did = step(run_id=run_id)
    if did:
        sync_run_step.delay(run_id)
    return did


@shared_task
def schedule_syncs() -> int:
    """Celery beat: a scheduled run for every connected connection with Sync webinar data on;
    connections with a run under way are left alone."""
    from crm.errors import Conflict

    from .models import ConnectionStatus, SyncTrigger, ZoomConnection
    from .services.sync import sync_run_request

    queued = 0
    for connection in ZoomConnection.objects.filter(
        status=ConnectionStatus.CONNECTED, sync_webinar_data=True
    ):
        try:
            sync_run_request(connection=connection, trigger=SyncTrigger.SCHEDULED)
        except Conflict:
            continue
        queued += 1
    return queued


@shared_task
def resume_stale_runs() -> list[int]:
    """Celery beat (every 15 s): runs whose start died are started again; webinars whose worker
    stopped beating are queued again (`sync_webinars.runs_reclaim`). Returns the runs."""
    from .engagement.services import contacts_engagement_flush
    from .models import SyncRun, SyncStatus
    from .services.sync import sync_run_is_stale
    from .services.sync_webinars import runs_reclaim

    resumed = []
    running = SyncRun.objects.filter(status=SyncStatus.RUNNING, finished_at__isnull=True)
    for run in running:
        if sync_run_is_stale(run):
            run_sync.delay(run.pk)
            resumed.append(run.pk)
    if not running.exists():
        # Engagement scores a run's end did not carry to their contacts (its worker died
        # between the two): the next sweep does.
        contacts_engagement_flush()
    return resumed + [pk for pk in runs_reclaim() if pk not in resumed]


@shared_task(acks_late=True)
def process_webhook(connection_id: int) -> int:
    """Applies the connection's pending deliveries in batches, then hands its drain flag back
    (`receiver._enqueue`). A drain reads one batch at a time and goes on only while batches come
    full: what arrives meanwhile is left to the next drain, queued when this one ends, so a
    steady flow is applied in batches rather than one delivery at a time. Safe to run twice:
    rows are locked with SKIP LOCKED and each is applied once (`deliveries_process_pending`)."""
    from .webhooks.processing import BATCH_SIZE, deliveries_process_pending
    from .webhooks.receiver import drain_finished

    done = 0
    try:
        while applied := deliveries_process_pending(connection_id=connection_id):
            done += applied
            if applied < BATCH_SIZE:
                break
    except Exception:
        # Released without looking again: the next delivery queues a drain, and a failing one
        # doesn't spin.
        drain_finished(connection_id, look_again=False)
        raise
    drain_finished(connection_id)
    return done


@shared_task
def drain_webhooks() -> int:
    """Celery beat safety net: deliveries still waiting a minute after they arrived (a worker
    died between storing and applying them) are applied now."""
    import datetime as dt

    from django.utils import timezone

    from .models import DeliveryStatus, WebhookDelivery
    from .webhooks.processing import deliveries_process_pending

    stale = timezone.now() - dt.timedelta(minutes=1)
    done = 0
    for connection_id in set(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.RECEIVED, received_at__lt=stale
        ).values_list("connection_id", flat=True)
    ):
        while applied := deliveries_process_pending(connection_id=connection_id):
            done += applied
    return done


@shared_task
def check_webhook_refusals() -> list[int]:
    """Celery beat: raises the webhook-refusals alert of connections refused at a high rate,
    clears it where the rate dropped."""
    from .alerts import check_webhook_refusals as check

    return check()


@shared_task(acks_late=True)
def apply_question_mappings(run_id: int) -> int:
    """Rule E2: the mappings in force written into the contacts of past answers."""
    from .registration.services import mapping_apply_execute

    return mapping_apply_execute(run_id).done
