"""Reads of workflows: lists with enrollment counts, the execution log with filters."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from crm.errors import NotFound

from .models import ActionExecution, Enrollment, Workflow


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


def enrollment_list(*, workflow: Workflow, status: str | None = None) -> QuerySet[Enrollment]:
    enrollments = Enrollment.objects.filter(workflow=workflow).select_related("contact", "version")
    if status:
        enrollments = enrollments.filter(status=status)
    return enrollments.order_by("-created_at", "-id")


def enrollment_get(*, workflow: Workflow, enrollment_id) -> Enrollment:
    enrollment = (
        Enrollment.objects.filter(workflow=workflow, pk=enrollment_id)
        .select_related("contact", "version")
        .first()
    )
    if enrollment is None:
        raise NotFound(_("Enrollment %(id)s does not exist") % {"id": enrollment_id})
    return enrollment


def enrollment_path(enrollment: Enrollment) -> list[ActionExecution]:
    """The steps an enrollment reached, in the order it reached them (rule W12)."""
    return list(ActionExecution.objects.filter(enrollment=enrollment).order_by("action_index"))
