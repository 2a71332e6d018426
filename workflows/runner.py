"""Runs an enrollment's actions in order (rule W7): each action execution is one log row,
claimed under a short lease so that two workers never run it at once, retried with back-off on
a transient failure, final once succeeded, failed or skipped. A failed action stops the
enrollment; the actions after it are logged as skipped."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from crm.stored_text import is_stored_text, render_english, stored_text

from .actions import REGISTRY, ActionContext, ActionResult, ActionRetry
from .alerts import alerts_after_execution
from .models import (
    FINAL_STATUSES,
    ActionExecution,
    Enrollment,
    EnrollmentStatus,
    ExecutionStatus,
)

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
LEASE = dt.timedelta(minutes=2)


def backoff_seconds(attempt: int) -> float:
    """5 s, 10 s, 20 s … capped at 5 minutes."""
    return float(min(300, 5 * 2 ** max(0, attempt - 1)))


def enrollment_run(enrollment_id: int) -> float | None:
    """Runs what is left of an enrollment. Returns the delay before it should run again (an
    action is retrying), or None when there is nothing more to do now."""
    enrollment = (
        Enrollment.objects.select_related("workflow", "contact").filter(pk=enrollment_id).first()
    )
    if enrollment is None or enrollment.status != EnrollmentStatus.RUNNING:
        return None
    workflow = enrollment.workflow
    for index, config in enumerate(workflow.actions):
        execution, _created = ActionExecution.objects.get_or_create(
            enrollment=enrollment,
            action_index=index,
            defaults={
                "workflow": workflow,
                "contact": enrollment.contact,
                "action_type": config.get("type", ""),
            },
        )
        if execution.status in FINAL_STATUSES:
            if execution.status == ExecutionStatus.FAILED:
                return _finish(enrollment, EnrollmentStatus.FAILED, after=index)
            continue
        if not workflow.enabled:
            _record(
                execution,
                ActionResult.skipped(stored_text(gettext_noop("The workflow was turned off"))),
            )
            continue
        if not _claim(execution):
            return None  # another worker holds it; it will carry on from there
        execution.refresh_from_db(fields=["attempts"])
        action_type = REGISTRY.get(config.get("type"))
        if action_type is None:
            result = ActionResult.failed(
                stored_text(
                    gettext_noop("The action %(type)s is not available"),
                    type=repr(config.get("type")),
                )
            )
        else:
            ctx = ActionContext(
                config=config,
                contact=enrollment.contact,
                workflow=workflow,
                enrollment=enrollment,
                attempt=execution.attempts,
            )
            try:
                result = action_type.run(ctx)
            except ActionRetry as exc:
                if execution.attempts >= MAX_ATTEMPTS:
                    result = ActionResult.failed(
                        stored_text(
                            gettext_noop("Gave up after %(n)s attempts: %(message)s"),
                            n=execution.attempts,
                            message=exc.message,
                        )
                    )
                else:
                    delay = (
                        exc.delay if exc.delay is not None else backoff_seconds(execution.attempts)
                    )
                    _retrying(execution, exc.message, delay)
                    return delay
            except Exception:  # a bug in one action must not retry forever or stop the queue
                logger.exception(
                    "workflows.action.crashed",
                    extra={"execution": execution.pk, "action": config.get("type")},
                )
                result = ActionResult.failed(
                    stored_text(gettext_noop("The action failed unexpectedly; see the logs"))
                )
        _record(execution, result)
        alerts_after_execution(
            workflow_id=workflow.pk,
            workflow_name=workflow.name,
            status=result.status,
            message=result.message or "",
        )
        if result.status == ExecutionStatus.FAILED:
            return _finish(enrollment, EnrollmentStatus.FAILED, after=index)
    return _finish(enrollment, EnrollmentStatus.COMPLETED, after=None)


def _claim(execution: ActionExecution) -> bool:
    now = timezone.now()
    claimed = (
        ActionExecution.objects.filter(
            pk=execution.pk, status__in=[ExecutionStatus.QUEUED, ExecutionStatus.RETRYING]
        )
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE, attempts=F("attempts") + 1, updated_at=now)
    )
    return claimed == 1


def _message_fields(message: str | dict) -> dict:
    """The log row's message: English for the API, the stored text for the page (L1, L2)."""
    if is_stored_text(message):
        return {"message": render_english(message), "message_text": message}
    return {"message": message, "message_text": None}


def _retrying(execution: ActionExecution, message: str | dict, delay: float) -> None:
    now = timezone.now()
    note = stored_text(
        gettext_noop("%(message)s — retrying in %(seconds)s s"),
        message=message,
        seconds=int(delay),
    )
    ActionExecution.objects.filter(pk=execution.pk).update(
        status=ExecutionStatus.RETRYING,
        **_message_fields(note),
        lease_until=None,
        updated_at=now,
    )


def _record(execution: ActionExecution, result: ActionResult) -> None:
    now = timezone.now()
    ActionExecution.objects.filter(pk=execution.pk).update(
        status=result.status,
        **_message_fields(result.message),
        output=result.output,
        lease_until=None,
        updated_at=now,
        finished_at=now,
    )


def _finish(enrollment: Enrollment, status: str, *, after: int | None) -> None:
    with transaction.atomic():
        if after is not None:
            for index in range(after + 1, len(enrollment.workflow.actions)):
                config = enrollment.workflow.actions[index]
                execution, _created = ActionExecution.objects.get_or_create(
                    enrollment=enrollment,
                    action_index=index,
                    defaults={
                        "workflow": enrollment.workflow,
                        "contact": enrollment.contact,
                        "action_type": config.get("type", ""),
                    },
                )
                if execution.status not in FINAL_STATUSES:
                    _record(
                        execution,
                        ActionResult.skipped(stored_text(gettext_noop("An earlier action failed"))),
                    )
        Enrollment.objects.filter(pk=enrollment.pk).update(
            status=status, finished_at=timezone.now()
        )
    return None
