"""A workflow whose executions keep failing (issue 22): raised when its last
ALERT_WORKFLOW_FAILURES_IN_A_ROW finished executions (by when they were created, skipped ones
left out) all failed; cleared when one of its executions succeeds. Key `workflow:<id>:failing`.

"In a row" rather than "N in the last hour": a workflow that enrolls a handful of contacts a
day is as broken after five failures as a busy one, and one success proves the action works
again (a busy workflow with a few failures among many successes is not alerted)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.alerts import AlertKind, register_alert_kind
from crm.services.alerts import alert_clear, alert_raise

from .models import ActionExecution, ExecutionStatus

FAILING = "workflows.executions_failing"

KINDS = (
    AlertKind(
        code=FAILING,
        title=_("Workflow “%(workflow)s” keeps failing"),
        description=_("Its last %(count)s actions all failed; the latest said: %(message)s"),
        hint=_(
            "Open the workflow's log to read each failure's reason: fix the action's settings "
            "(the webinar id, the registration questions) or the Zoom connection of the "
            "primary brand, or turn the workflow off until it is fixed."
        ),
    ),
)


def register() -> None:
    for kind in KINDS:
        register_alert_kind(kind)


def _key(workflow_id: int) -> str:
    return f"workflow:{workflow_id}:failing"


def alerts_after_execution(
    *, workflow_id: int, workflow_name: str, status: str, message: str | dict
) -> None:
    """Called when an execution ends (`runner`). `message` is the action's message: a stored
    text (shown in the reader's language) or a plain string."""
    if status == ExecutionStatus.SUCCEEDED:
        alert_clear(key=_key(workflow_id))
        return
    if status != ExecutionStatus.FAILED:
        return
    needed = settings.ALERT_WORKFLOW_FAILURES_IN_A_ROW
    last = list(
        ActionExecution.objects.filter(
            workflow_id=workflow_id,
            status__in=[ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED],
        )
        .order_by("-created_at", "-id")
        .values_list("status", flat=True)[:needed]
    )
    if len(last) == needed and all(value == ExecutionStatus.FAILED for value in last):
        alert_raise(
            key=_key(workflow_id),
            kind=FAILING,
            params={
                "workflow": workflow_name,
                "count": needed,
                "message": message if isinstance(message, dict) else message[:500],
            },
            object_type="workflow",
            object_id=workflow_id,
            link=reverse("workflows:detail", args=[workflow_id]),
        )
