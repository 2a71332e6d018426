"""Reads of workflows: lists with enrollment counts, the execution log with filters."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from crm.errors import NotFound

from .models import ActionExecution, Workflow


def workflow_list() -> QuerySet[Workflow]:
    return Workflow.objects.annotate(enrolled=Count("enrollments")).order_by("name", "pk")


def workflow_get(*, workflow_id) -> Workflow:
    workflow = Workflow.objects.filter(pk=workflow_id).first()
    if workflow is None:
        raise NotFound(_("Workflow %(id)s does not exist") % {"id": workflow_id})
    return workflow


def execution_log(
    *,
    workflow: Workflow | None = None,
    status: str | None = None,
    action: str | None = None,
    contact_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[ActionExecution]:
    """Newest first (rule W7)."""
    log = ActionExecution.objects.select_related("contact", "workflow")
    if workflow is not None:
        log = log.filter(workflow=workflow)
    if status:
        log = log.filter(status=status)
    if action:
        log = log.filter(action_type=action)
    if contact_id:
        log = log.filter(contact_id=contact_id)
    if since:
        log = log.filter(created_at__gte=since)
    if until:
        log = log.filter(created_at__lt=until)
    return log.order_by("-created_at", "-id")
