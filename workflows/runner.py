"""The durable engine (rules W7, W10): moves an enrollment through the steps of its version.

- An enrollment is at one step at a time (`current_step`). A worker runs its steps under a
  lease (`lease_until`): two workers never run one enrollment at once.
- Each step it reaches is one execution row per (enrollment, step), claimed and counted
  (`attempts`) before the step runs, recorded final (succeeded, failed, skipped) before the
  enrollment moves on. A worker killed in between leaves the row unfinished: the step runs
  again with `attempt` > 1 and the same idempotency key, so its side effect is not done twice
  (the Zoom action looks its registrant up first; a webhook's receiver sees the same key) and
  never skipped.
- A delay answers the moment it waits for: the enrollment waits as a row with that due time
  (`status=waiting`, `due_at`), taken by `tick` when due, never as a long Celery ETA.
- A transient failure (`ActionRetry`) is retried with back-off; a failed step ends the
  enrollment (`failed`); a workflow turned off stops its enrollments where they are.
- `tick` (beat, every WORKFLOW_TICK_SECONDS) takes due rows with `SELECT … FOR UPDATE SKIP
  LOCKED`, so any number of schedulers and workers share the work, and also re-queues runs that
  went silent (a worker died, a message was lost) once their lease has ended.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from crm.stored_text import is_stored_text, render_english, stored_text

from .actions import REGISTRY, ActionContext, ActionResult, ActionRetry
from .alerts import alerts_after_execution
from .graph import following
from .models import (
    OPEN_ENROLLMENT,
    ActionExecution,
    Enrollment,
    EnrollmentStatus,
    ExecutionStatus,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
TICK_BATCH = 1000
FINAL_DONE = (ExecutionStatus.SUCCEEDED, ExecutionStatus.SKIPPED)
WAIT_OVER = stored_text(gettext_noop("The wait is over"))


def backoff_seconds(attempt: int) -> float:
    """5 s, 10 s, 20 s … capped at 5 minutes."""
    return float(min(300, 5 * 2 ** max(0, attempt - 1)))


def lease() -> dt.timedelta:
    return dt.timedelta(seconds=settings.WORKFLOW_STEP_LEASE_SECONDS)


def rescue() -> dt.timedelta:
    return dt.timedelta(seconds=settings.WORKFLOW_RESCUE_SECONDS)


def idempotency_key(enrollment: Enrollment, step_id: str) -> str:
    return f"wf{enrollment.workflow_id}-e{enrollment.pk}-{step_id}"


def enrollment_run(enrollment_id: int) -> float | None:
    """Runs an enrollment's steps from where it is until it waits, retries, or ends. Returns
    the delay before it should run again (a step is retrying), or None."""
    now = timezone.now()
    claimed = (
        Enrollment.objects.filter(pk=enrollment_id, status=EnrollmentStatus.RUNNING)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + lease(), due_at=now + lease())
    )
    if not claimed:
        return None  # finished, waiting, or another worker holds it
    enrollment = (
        Enrollment.objects.select_related("workflow", "contact", "version")
        .filter(pk=enrollment_id)
        .first()
    )
    try:
        return _advance(enrollment)
    except Exception:
        # Leave it to the scan (after WORKFLOW_RESCUE_SECONDS) rather than lose it.
        Enrollment.objects.filter(pk=enrollment_id).update(
            lease_until=None, due_at=timezone.now() + rescue()
        )
        raise


def _advance(enrollment: Enrollment) -> float | None:
    workflow = enrollment.workflow
    steps = {step["id"]: step for step in enrollment.version.steps}
    step_id = enrollment.current_step
    first = True
    while step_id:
        step = steps.get(step_id)
        if step is None:  # versions never change; a hand-edited row is not worth a crash
            return _finish(enrollment, EnrollmentStatus.FAILED)
        execution = _execution(enrollment, step)
        if execution.status in FINAL_DONE:
            step_id = _move(enrollment, following(step, execution.output.get("path", "next")))
            continue
        if execution.status == ExecutionStatus.FAILED:
            return _finish(enrollment, EnrollmentStatus.FAILED)
        if not workflow.enabled:
            _record(
                execution,
                ActionResult.skipped(stored_text(gettext_noop("The workflow was turned off"))),
            )
            return _finish(enrollment, EnrollmentStatus.STOPPED)
        result, delay = _run_step(enrollment, step, execution, renew_lease=not first)
        first = False
        if result is None:  # retrying
            _release(enrollment, due=timezone.now() + dt.timedelta(seconds=delay) + rescue())
            return delay
        if result.status == ExecutionStatus.WAITING:
            _wait(enrollment, execution, result)
            return None
        _record(execution, result)
        alerts_after_execution(
            workflow_id=workflow.pk,
            workflow_name=workflow.name,
            status=result.status,
            message=result.message or "",
        )
        if result.status == ExecutionStatus.FAILED:
            return _finish(enrollment, EnrollmentStatus.FAILED)
        following_id = following(step, result.path)
        # The last step: `_finish` clears the step in the same statement.
        step_id = _move(enrollment, following_id) if following_id else None
    return _finish(enrollment, EnrollmentStatus.COMPLETED)


def _execution(enrollment: Enrollment, step: dict) -> ActionExecution:
    """The step's log row, made when the enrollment first reaches the step. Only the lease's
    holder writes an enrollment's rows, so a read then an insert cannot race."""
    execution = ActionExecution.objects.filter(enrollment=enrollment, step_id=step["id"]).first()
    if execution is None:
        execution = ActionExecution.objects.create(
            enrollment=enrollment,
            step_id=step["id"],
            workflow=enrollment.workflow,
            contact=enrollment.contact,
            action_index=ActionExecution.objects.filter(enrollment=enrollment).count(),
            action_type=step.get("type", ""),
        )
    return execution


def _run_step(
    enrollment: Enrollment, step: dict, execution: ActionExecution, *, renew_lease: bool
) -> tuple[ActionResult | None, float]:
    now = timezone.now()
    # Counted before it runs: a crash inside leaves attempts > the tries that finished. The
    # lease's holder is the only writer, so the count read before is the count now.
    ActionExecution.objects.filter(pk=execution.pk).update(
        attempts=F("attempts") + 1, updated_at=now
    )
    execution.attempts += 1
    if renew_lease:  # the claim gave the first step its lease
        Enrollment.objects.filter(pk=enrollment.pk).update(
            lease_until=now + lease(), due_at=now + lease()
        )
    action_type = REGISTRY.get(step.get("type"))
    if action_type is None:
        return ActionResult.failed(
            stored_text(
                gettext_noop("The action %(type)s is not available"), type=repr(step.get("type"))
            )
        ), 0
    config = {k: v for k, v in step.items() if k not in ("id", "next", "yes", "no")}
    ctx = ActionContext(
        config=config,
        contact=enrollment.contact,
        workflow=enrollment.workflow,
        enrollment=enrollment,
        attempt=execution.attempts,
        step_id=step["id"],
        idempotency_key=idempotency_key(enrollment, step["id"]),
        arrived_at=execution.created_at,
    )
    try:
        return action_type.run(ctx), 0
    except ActionRetry as exc:
        if execution.attempts >= MAX_ATTEMPTS:
            return ActionResult.failed(
                stored_text(
                    gettext_noop("Gave up after %(n)s attempts: %(message)s"),
                    n=execution.attempts,
                    message=exc.message,
                )
            ), 0
        delay = exc.delay if exc.delay is not None else backoff_seconds(execution.attempts)
        _retrying(execution, exc.message, delay)
        return None, delay
    except Exception:  # a bug in one step must not retry forever or stop the queue
        logger.exception(
            "workflows.action.crashed",
            extra={"execution": execution.pk, "action": step.get("type")},
        )
        return ActionResult.failed(
            stored_text(gettext_noop("The action failed unexpectedly; see the logs"))
        ), 0


def _message_fields(message: str | dict) -> dict:
    """The log row's message: English for the API, the stored text for the page (L1, L2)."""
    if is_stored_text(message):
        return {"message": render_english(message), "message_text": message}
    return {"message": message, "message_text": None}


def _retrying(execution: ActionExecution, message: str | dict, delay: float) -> None:
    note = stored_text(
        gettext_noop("%(message)s — retrying in %(seconds)s s"),
        message=message,
        seconds=int(delay),
    )
    ActionExecution.objects.filter(pk=execution.pk).update(
        status=ExecutionStatus.RETRYING, **_message_fields(note), updated_at=timezone.now()
    )


def _record(execution: ActionExecution, result: ActionResult) -> None:
    now = timezone.now()
    ActionExecution.objects.filter(pk=execution.pk).update(
        status=result.status,
        **_message_fields(result.message),
        output=result.output,
        updated_at=now,
        finished_at=now,
    )


def _wait(enrollment: Enrollment, execution: ActionExecution, result: ActionResult) -> None:
    with transaction.atomic():
        ActionExecution.objects.filter(pk=execution.pk).update(
            status=ExecutionStatus.WAITING,
            **_message_fields(result.message),
            output=result.output,
            updated_at=timezone.now(),
        )
        Enrollment.objects.filter(pk=enrollment.pk).update(
            status=EnrollmentStatus.WAITING, due_at=result.wait_until, lease_until=None
        )
    logger.info(
        "workflows.enrollment.waiting",
        extra={"enrollment": enrollment.pk, "step": execution.step_id, "due": result.wait_until},
    )


def _move(enrollment: Enrollment, step_id: str | None) -> str | None:
    Enrollment.objects.filter(pk=enrollment.pk).update(current_step=step_id or "")
    logger.info("workflows.enrollment.moved", extra={"enrollment": enrollment.pk, "step": step_id})
    return step_id


def _release(enrollment: Enrollment, *, due: dt.datetime) -> None:
    Enrollment.objects.filter(pk=enrollment.pk).update(lease_until=None, due_at=due)


def _finish(enrollment: Enrollment, status: str) -> None:
    Enrollment.objects.filter(pk=enrollment.pk).update(
        status=status,
        current_step="",
        due_at=None,
        lease_until=None,
        finished_at=timezone.now(),
    )
    logger.info("workflows.enrollment.finished", extra={"enrollment": enrollment.pk,
                                                         "status": status})  # fmt: skip
    return None


def tick(*, now: dt.datetime | None = None, batch: int = TICK_BATCH) -> list[int]:
    """Takes the enrollments that are due (rule W10): delays whose time has come (their delay
    step succeeds now) and runs that went silent past their lease. Marks them running and
    returns their ids for the caller to queue. Rows another scheduler holds are skipped
    (`SKIP LOCKED`), so two ticks never take one row."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            Enrollment.objects.select_for_update(skip_locked=True)
            .filter(status__in=OPEN_ENROLLMENT, due_at__lte=now)
            .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
            .order_by("due_at")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return []
        fired = ActionExecution.objects.filter(
            enrollment_id__in=ids, status=ExecutionStatus.WAITING
        ).update(
            status=ExecutionStatus.SUCCEEDED,
            **_message_fields(WAIT_OVER),
            finished_at=now,
            updated_at=now,
        )
        Enrollment.objects.filter(pk__in=ids).update(
            status=EnrollmentStatus.RUNNING, due_at=now + rescue(), lease_until=None
        )
    logger.info("workflows.tick", extra={"taken": len(ids), "delays_fired": fired})
    return ids
