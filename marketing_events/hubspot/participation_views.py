"""HubSpot-compatible attendance writes (`attendance/…/email-create|create`) and participation
reads (counters and per-contact breakdowns). Attendance goes through the same `Plan` and
rules as the Zoom sync (`services_api.attendance_record`)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from crm.errors import ValidationFailed
from crm.hubspot import pagination
from crm.properties import format_datetime

from .. import services_api as services
from . import schema as o
from . import selectors
from . import serializers as s
from .views import TAGS, MarketingEventsApiView, valid

BREAKDOWN_PARAMS = [
    OpenApiParameter("contactIdentifier", str),
    OpenApiParameter(
        "state",
        str,
        enum=list(selectors.STATE_PARAMETER_VALUES),
        description="The displayed state (NO_SHOW: registered, never attended, event over), in "
        "capitals or in lower case. Empty, as absent: every state.",
    ),
    pagination.limit_parameter(pagination.LIST_MAX_LIMIT, pagination.LIST_DEFAULT_LIMIT),
    pagination.AFTER_PARAMETER,
]
# Optional on the attendance paths (the SDK treats it so): the event id must then be unambiguous.
OPTIONAL_ACCOUNT_PARAM = OpenApiParameter("externalAccountId", str)
STATE_PARAM = OpenApiParameter(
    "subscriber_state",
    str,
    OpenApiParameter.PATH,
    # Case does not matter (SDK users write both); the schema lists both spellings.
    enum=[*services.SUBSCRIBER_STATES, *(s.upper() for s in services.SUBSCRIBER_STATES)],
    description="register, attend or cancel",
)


def subscriber_state(raw: str) -> str:
    state = str(raw).strip().lower()
    if state not in services.SUBSCRIBER_STATES:
        message = _("subscriberState must be one of %(choices)s; got %(value)s") % {
            "choices": ", ".join(services.SUBSCRIBER_STATES),
            "value": repr(raw),
        }
        raise ValidationFailed(
            message,
            errors=[{"name": "subscriberState", "code": "INVALID_VALUE", "message": message}],
        )
    return state


class _AttendanceView(MarketingEventsApiView):
    by_email = True

    def record(self, request, event_lookup, raw_state: str) -> Response:
        requested_at = timezone.now()
        state = subscriber_state(raw_state)
        input_class = s.AttendanceEmailInput if self.by_email else s.AttendanceVidInput
        data = valid(input_class, request.data)
        event = event_lookup()
        inputs = [
            services.AttendanceInput(
                interaction_at=item["interactionDateTime"],
                email=item.get("email", ""),
                contact_id=item.get("vid"),
                joined_at=item["joinedAt"],
                left_at=item["leftAt"],
                first_name=str((item.get("contactProperties") or {}).get("firstname") or ""),
                last_name=str((item.get("contactProperties") or {}).get("lastname") or ""),
            )
            for item in data["inputs"]
        ]
        started_at = timezone.now()
        outcome = services.attendance_record(event=event, state=state, inputs=inputs)
        results = outcome.results
        if not self.by_email:
            results = [{"vid": r["vid"]} for r in results]
        # Always 200: the SDK decodes only a 200; failed inputs are listed in `errors`.
        return Response(
            {
                "status": "COMPLETE",
                "results": results,
                "numErrors": len(outcome.errors),
                "errors": outcome.errors,
                "requestedAt": format_datetime(requested_at),
                "startedAt": format_datetime(started_at),
                "completedAt": format_datetime(timezone.now()),
            }
        )


def _schema(summary: str, operation_id: str, by_email: bool, external: bool):
    return extend_schema(
        tags=TAGS,
        summary=summary,
        operation_id=operation_id,
        parameters=[STATE_PARAM, OPTIONAL_ACCOUNT_PARAM] if external else [STATE_PARAM],
        request=s.AttendanceEmailInput if by_email else s.AttendanceVidInput,
        responses=o.AttendanceBatchOutput,
    )


def _by_external(request, external_event_id: str):
    # externalAccountId is optional here (the SDK treats it so): the event id must then be
    # unambiguous.
    account = (request.GET.get("externalAccountId") or "").strip() or None
    return lambda: selectors.event_by_external(account, external_event_id)


class AttendanceEmailByExternalView(_AttendanceView):
    @_schema("Record participation by e-mail (creates contacts)", "attendance_email", True, True)
    def post(self, request, external_event_id: str, subscriber_state: str):
        return self.record(request, _by_external(request, external_event_id), subscriber_state)


class AttendanceVidByExternalView(_AttendanceView):
    by_email = False

    @_schema("Record participation by contact id", "attendance_vid", False, True)
    def post(self, request, external_event_id: str, subscriber_state: str):
        return self.record(request, _by_external(request, external_event_id), subscriber_state)


class AttendanceEmailByObjectView(_AttendanceView):
    @_schema("Record participation by e-mail (by objectId)", "attendance_email_obj", True, False)
    def post(self, request, object_id: int, subscriber_state: str):
        return self.record(
            request, lambda: selectors.event_by_object_id(object_id), subscriber_state
        )


class AttendanceVidByObjectView(_AttendanceView):
    by_email = False

    @_schema("Record participation by contact id (by objectId)", "attendance_vid_obj", False, False)
    def post(self, request, object_id: int, subscriber_state: str):
        return self.record(
            request, lambda: selectors.event_by_object_id(object_id), subscriber_state
        )


# --- reads ----------------------------------------------------------------------------------


class CountersByExternalView(MarketingEventsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Participation counters by external ids",
        operation_id="participations_counters_external",
        responses=o.CountersOutput,
    )
    def get(self, request, external_account_id: str, external_event_id: str):
        event = selectors.event_by_external(external_account_id, external_event_id)
        return Response(selectors.counters(event))


class CountersByObjectView(MarketingEventsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Participation counters by marketing event id",
        operation_id="participations_counters_object",
        responses=o.CountersOutput,
    )
    def get(self, request, marketing_event_id: int):
        return Response(selectors.counters(selectors.event_by_object_id(marketing_event_id)))


def breakdown_response(request, condition: Q) -> Response:
    limit = pagination.parse_limit(
        request.GET.get("limit"),
        default=pagination.LIST_DEFAULT_LIMIT,
        maximum=pagination.LIST_MAX_LIMIT,
    )
    after_id = pagination.parse_after_id(request.GET.get("after"))
    condition &= selectors.state_condition(request.GET.get("state"))
    total, rows, more = selectors.participations_page(condition, after_id=after_id, limit=limit)
    body = {"total": total, "results": [s.breakdown_output(p) for p in rows]}
    if more:
        body["paging"] = pagination.next_paging(request, str(rows[-1].pk))
    return Response(body)


class BreakdownByExternalView(MarketingEventsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Participations of an event by external ids",
        operation_id="participations_breakdown_external",
        parameters=BREAKDOWN_PARAMS,
        responses=o.BreakdownPageOutput,
    )
    def get(self, request, external_account_id: str, external_event_id: str):
        event = selectors.event_by_external(external_account_id, external_event_id)
        contact = selectors.contact_condition(request.GET.get("contactIdentifier"))
        return breakdown_response(request, Q(event=event) & contact)


class BreakdownByObjectView(MarketingEventsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Participations of an event by marketing event id",
        operation_id="participations_breakdown_object",
        parameters=BREAKDOWN_PARAMS,
        responses=o.BreakdownPageOutput,
    )
    def get(self, request, marketing_event_id: int):
        event = selectors.event_by_object_id(marketing_event_id)
        contact = selectors.contact_condition(request.GET.get("contactIdentifier"))
        return breakdown_response(request, Q(event=event) & contact)


class BreakdownByContactView(MarketingEventsApiView):
    @extend_schema(
        tags=TAGS,
        summary="A contact's participations across events (e-mail or contact id)",
        operation_id="participations_breakdown_contact",
        parameters=BREAKDOWN_PARAMS[1:],
        responses=o.BreakdownPageOutput,
    )
    def get(self, request, contact_identifier: str):
        return breakdown_response(request, selectors.contact_condition(contact_identifier))
