"""`/api/v1/workflows/` (shapes in DESIGN.md "Own API shapes"). Below the Professional tier
every endpoint answers 403 with that reason (rule W1)."""

import datetime as dt

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.pagination import IdCursorPagination
from crm.api.schema import paged_list
from crm.api.validation import valid_input
from crm.errors import ValidationFailed
from crm.ids import is_id_text

from .. import selectors, services
from ..models import EnrollmentStatus, ExecutionStatus
from . import serializers as s

READ_SCOPE, WRITE_SCOPE = "automation.read", "automation"


def _output(workflow) -> dict:
    body = s.WorkflowOutput(workflow).data
    body["trigger"] = workflow.trigger
    body["steps"] = workflow.steps
    body["start"] = workflow.start or None
    return body


class _WorkflowsView(APIView):
    read_scope, write_scope = READ_SCOPE, WRITE_SCOPE

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        services.require_tier()


class WorkflowListView(_WorkflowsView):
    error_statuses = {409: _("A workflow already has this name.")}

    @paged_list(s.WorkflowOutput)
    def get(self, request):
        paginator = IdCursorPagination()
        paginator.ordering = "id"
        page = paginator.paginate_queryset(selectors.workflow_list(), request, view=self)
        return paginator.get_paginated_response([_output(w) for w in page])

    @extend_schema(request=s.WorkflowInput, responses={201: s.WorkflowOutput})
    def post(self, request):
        data = valid_input(s.WorkflowInput, request.data)
        workflow = services.workflow_create(
            name=data["name"],
            trigger=data["trigger"],
            actions=data.get("actions"),
            steps=data.get("steps"),
            start=data.get("start"),
            reenrollment=data["reenrollment"],
            enabled=data["enabled"],
            enroll_existing=data["enroll_existing"],
            draft=data["draft"],
            actor=request.user,
        )
        return Response(_output(workflow), status=status.HTTP_201_CREATED)


class WorkflowDetailView(_WorkflowsView):
    error_statuses = {409: _("A workflow already has this name.")}

    @extend_schema(responses=s.WorkflowOutput)
    def get(self, request, workflow_id: int):
        return Response(_output(selectors.workflow_get(workflow_id=workflow_id)))

    @extend_schema(request=s.WorkflowUpdateInput, responses=s.WorkflowOutput)
    def patch(self, request, workflow_id: int):
        data = valid_input(s.WorkflowUpdateInput, request.data)
        workflow = services.workflow_update(
            workflow=selectors.workflow_get(workflow_id=workflow_id),
            name=data.get("name"),
            trigger=data.get("trigger"),
            actions=data.get("actions"),
            steps=data.get("steps"),
            start=data.get("start"),
            reenrollment=data.get("reenrollment"),
            draft=data.get("draft", False),
            actor=request.user,
        )
        if "enabled" in data:
            workflow = services.workflow_set_enabled(
                workflow=workflow,
                enabled=data["enabled"],
                enroll_existing=data["enroll_existing"],
                actor=request.user,
            )
        return Response(_output(workflow))

    @extend_schema(responses={204: None})
    def delete(self, request, workflow_id: int):
        services.workflow_delete(
            workflow=selectors.workflow_get(workflow_id=workflow_id), actor=request.user
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowEnrollView(_WorkflowsView):
    error_statuses = {409: _("The workflow is off, or does not enroll by hand.")}

    @extend_schema(request=s.EnrollInput, responses=s.EnrollOutput)
    def post(self, request, workflow_id: int):
        data = valid_input(s.EnrollInput, request.data)
        outcome = services.workflow_enroll(
            workflow=selectors.workflow_get(workflow_id=workflow_id),
            contact_ids=data["contact_ids"],
            actor=request.user,
        )
        return Response(
            {
                "enrolled": [
                    {"id": e.pk, "contact": e.contact_id, "number": e.number}
                    for e in outcome.enrolled
                ],
                "skipped": outcome.skipped,
            }
        )


class ExecutionPagination(IdCursorPagination):
    ordering = ("-created_at", "-id")


class WorkflowExecutionsView(_WorkflowsView):
    """The execution log, newest first, filterable by status, action, contact and date."""

    @paged_list(
        s.ExecutionOutput,
        parameters=[
            OpenApiParameter("status", str, enum=ExecutionStatus.values),
            OpenApiParameter("action", str),
            OpenApiParameter("contact", int),
            OpenApiParameter("since", str, description="ISO date or date-time"),
            OpenApiParameter("until", str, description="ISO date or date-time (exclusive)"),
        ],
    )
    def get(self, request, workflow_id: int):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        log = selectors.execution_log(workflow=workflow, **log_filters(request.query_params))
        paginator = ExecutionPagination()
        page = paginator.paginate_queryset(log, request, view=self)
        return paginator.get_paginated_response(s.ExecutionOutput(page, many=True).data)


def log_filters(params) -> dict:
    """Query parameters of the execution log, checked (a bad one is a 400 naming it)."""
    out = {}
    value = params.get("status")
    if value:
        if value not in ExecutionStatus.values:
            raise ValidationFailed(
                _("status must be one of %(choices)s")
                % {"choices": ", ".join(ExecutionStatus.values)},
                errors=[{"name": "status", "message": str(_("invalid"))}],
            )
        out["status"] = value
    if params.get("action"):
        out["action"] = params["action"]
    value = params.get("contact")
    if value:
        if not is_id_text(value):
            raise ValidationFailed(
                str(_("contact must be a contact id")),
                errors=[{"name": "contact", "message": str(_("invalid"))}],
            )
        out["contact_id"] = int(value)
    for name in ("since", "until"):
        value = params.get(name)
        if value:
            moment = parse_datetime(value)
            if moment is None and parse_date(value) is not None:
                moment = parse_datetime(value + "T00:00:00+00:00")
            if moment is None:
                raise ValidationFailed(
                    _("%(name)s must be an ISO date or date-time") % {"name": name},
                    errors=[{"name": name, "message": str(_("invalid"))}],
                )
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, dt.UTC)
            out[name] = moment
    return out


class WorkflowWebhookSecretView(_WorkflowsView):
    """A new signing secret for the workflow's webhook steps, shown in this answer only."""

    @extend_schema(request=None, responses=s.WebhookSecretOutput)
    def post(self, request, workflow_id: int):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        return Response({"secret": services.workflow_webhook_secret_rotate(workflow=workflow)})


class EnrollmentPagination(IdCursorPagination):
    ordering = ("-created_at", "-id")


class WorkflowEnrollmentsView(_WorkflowsView):
    """The workflow's enrollments, newest first, with the version and step each is at."""

    @paged_list(
        s.EnrollmentOutput,
        parameters=[OpenApiParameter("status", str, enum=EnrollmentStatus.values)],
    )
    def get(self, request, workflow_id: int):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        value = request.query_params.get("status")
        if value and value not in EnrollmentStatus.values:
            raise ValidationFailed(
                _("status must be one of %(choices)s")
                % {"choices": ", ".join(EnrollmentStatus.values)},
                errors=[{"name": "status", "message": str(_("invalid"))}],
            )
        enrollments = selectors.enrollment_list(workflow=workflow, status=value or None)
        paginator = EnrollmentPagination()
        page = paginator.paginate_queryset(enrollments, request, view=self)
        return paginator.get_paginated_response(
            [_enrollment(e) for e in s.EnrollmentOutput(page, many=True).data]
        )


def _enrollment(body: dict) -> dict:
    body["current_step"] = body["current_step"] or None
    return body


class WorkflowEnrollmentView(_WorkflowsView):
    """One enrollment and its path (rule W12): each step it reached, in order, with times and
    outcomes."""

    @extend_schema(responses=s.EnrollmentPathOutput)
    def get(self, request, workflow_id: int, enrollment_id: int):
        workflow = selectors.workflow_get(workflow_id=workflow_id)
        enrollment = selectors.enrollment_get(workflow=workflow, enrollment_id=enrollment_id)
        body = s.EnrollmentOutput(enrollment).data
        body["path"] = s.PathStepOutput(selectors.enrollment_path(enrollment), many=True).data
        return Response(_enrollment(body))
