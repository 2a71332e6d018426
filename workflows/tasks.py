"""Celery entry points of workflows: thin, ids in."""

from celery import shared_task
from django.db import transaction


@shared_task(acks_late=True, ignore_result=True)
def run_enrollment(enrollment_id: int) -> None:
    from .runner import enrollment_run

    delay = enrollment_run(enrollment_id)
    if delay is not None:
        run_enrollment.apply_async((enrollment_id,), countdown=delay)


@shared_task(ignore_result=True)
def tick() -> int:
    """The engine's scan (rule W10, beat every WORKFLOW_TICK_SECONDS): due delays and silent
    runs are taken (SKIP LOCKED) and queued, a batch at a time until none is left. It has a
    queue of its own, `workflows-scan` (CELERY_TASK_ROUTES), and queues the runs it takes on
    `workflows`: neither waits behind the other tasks, nor the scan behind its runs."""
    from django.conf import settings

    from .runner import TICK_BATCH
    from .runner import tick as take_due

    taken = 0
    while True:
        ids = take_due()
        for enrollment_id in ids:
            # The scan's own queue: a due delay does not wait behind other queued tasks.
            run_enrollment.apply_async((enrollment_id,), queue=settings.WORKFLOW_QUEUE)
        taken += len(ids)
        if len(ids) < TICK_BATCH:
            return taken


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_notification_email(notification_id: int) -> bool:
    """A `notify` step's e-mail (an unreachable SMTP server is tried again with back-off)."""
    from .steps.notify import notification_email_send

    return notification_email_send(notification_id=notification_id)


@shared_task(ignore_result=True)
def sweep_workflow(workflow_id: int, contact_ids: list[int] | None = None) -> None:
    from .models import Workflow
    from .services import workflow_sweep

    workflow = Workflow.objects.filter(pk=workflow_id).first()
    if workflow is not None:
        workflow_sweep(workflow=workflow, contact_ids=contact_ids)


@shared_task(ignore_result=True)
def sweep_workflows(contact_ids: list[int] | None = None) -> None:
    """Every filter workflow that is on: enroll who started matching (beat runs it each
    minute; contact and participation changes run it for the contacts concerned)."""
    from .models import TriggerType, Workflow

    ids = Workflow.objects.filter(enabled=True, trigger_type=TriggerType.FILTERS).values_list(
        "pk", flat=True
    )
    for workflow_id in ids:
        sweep_workflow.delay(workflow_id, contact_ids)


SWEEP_SOON_KEY = "workflows:sweep-soon"
SWEEP_DELAY_SECONDS = 2


def queue_sweep_soon() -> None:
    """Contacts changed (crm.hooks): once the change is committed, filter workflows look
    again. A flood of changes (a sync writes hundreds of pages) coalesces into one sweep every
    couple of seconds, which looks at every contact; the task finds out whether any workflow
    cares."""
    transaction.on_commit(_sweep_soon)


def _sweep_soon() -> None:
    from django.conf import settings
    from django.core.cache import cache

    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) or sweep_workflows.app.conf.get(
        "task_always_eager"
    ):
        sweep_workflows.delay()  # tests run tasks inline: no delay to wait for
        return
    if cache.add(SWEEP_SOON_KEY, 1, timeout=SWEEP_DELAY_SECONDS):
        sweep_workflows.apply_async(countdown=SWEEP_DELAY_SECONDS)
