"""HubSpot-compatible marketing events v3 (hubspot-api.md §1.2): events by external id and by
objectId, batch upsert/delete, cancel, complete, search and the portal-wide list. Thin views:
parse, call a service or selector, render HubSpot's shapes. Errors are rendered in HubSpot's
shape by `crm.api.exceptions` (paths under /marketing/)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.api.schema import NON_BLANK_TEXT, HubSpotErrorOutput, search_parameter
from crm.errors import ValidationFailed
from crm.hubspot import pagination
from crm.properties import format_datetime
from crm.search_text import clean_search

from .. import services_api as services
from . import schema as o
from . import selectors
from . import serializers as s

TAGS = ["HubSpot-compatible marketing events v3"]
READ_SCOPE = "crm.objects.marketing_events.read"
WRITE_SCOPE = "crm.objects.marketing_events.write"
ACCOUNT_PARAM = OpenApiParameter(
    "externalAccountId", {"type": "string", "pattern": NON_BLANK_TEXT}, required=True
)
# An upsert creates an event deleted meanwhile and updates one created meanwhile; only when
# other requests keep doing both to the same event does it give up.
UPSERT_RACE = _("Other requests kept creating and deleting this event meanwhile; retry.")
LIST_PARAMS = [
    pagination.limit_parameter(pagination.LIST_MAX_LIMIT, pagination.LIST_DEFAULT_LIMIT),
    pagination.AFTER_PARAMETER,
]


def valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def with_ids(data, *, external_event_id: str | None = None, external_account_id=None):
    """The body, with the ids given in the path or query filled in where the body has none;
    a body naming other ids than the path is refused."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for key, value in (
        ("externalEventId", external_event_id),
        ("externalAccountId", external_account_id),
    ):
        if value in (None, ""):
            continue
        given = data.get(key)
        if given in (None, ""):
            data[key] = value
        elif str(given) != str(value):
            message = _("%(field)s in the body (%(given)s) differs from the URL's (%(value)s).") % {
                "field": key,
                "given": repr(given),
                "value": repr(value),
            }
            raise ValidationFailed(
                message, errors=[{"name": key, "code": "INVALID_VALUE", "message": message}]
            )
    return data


class MarketingEventsApiView(APIView):
    read_scope = READ_SCOPE
    write_scope = WRITE_SCOPE


def _event_response(event, *, code=status.HTTP_200_OK) -> Response:
    event = selectors.event_by_object_id(event.pk)  # fresh, with counters
    return Response(s.event_output(event), status=code)


def _written(write) -> Response:
    """Runs a write and reads the event it returns in one transaction: the write holds the
    event's row until the read is done, so a concurrent delete cannot slip in between (the
    read would find nothing)."""
    with transaction.atomic():
        return _event_response(write())


class EventListView(MarketingEventsApiView):
    @extend_schema(
        tags=TAGS,
        summary="List all marketing events (any source), by objectId",
        operation_id="marketing_events_get_all",
        parameters=LIST_PARAMS,
        responses=o.EventPageOutput,
    )
    def get(self, request):
        limit = pagination.parse_limit(
            request.GET.get("limit"),
            default=pagination.LIST_DEFAULT_LIMIT,
            maximum=pagination.LIST_MAX_LIMIT,
        )
        after_id = pagination.parse_after_id(request.GET.get("after"))
        rows, more = selectors.events_page(after_id=after_id, limit=limit)
        body = {"results": [s.event_output(e) for e in rows]}
        if more:
            body["paging"] = pagination.next_paging(request, str(rows[-1].pk))
        return Response(body)


class EventListSpecView(EventListView):
    """The list at the path the spec documents (the SDK calls `/marketing/v3/marketing-events/`)."""

    @extend_schema(
        tags=TAGS,
        summary="List all marketing events (the spec's path)",
        operation_id="marketing_events_list",
        parameters=LIST_PARAMS,
        responses=o.EventPageOutput,
    )
    def get(self, request):
        return super().get(request)


class EventCreateView(MarketingEventsApiView):
    error_statuses = {409: _("An event with these external ids exists.")}

    @extend_schema(
        tags=TAGS,
        summary="Create a marketing event (409 if its external ids exist)",
        operation_id="marketing_events_create",
        request=s.EventCreateInput,
        responses=o.EventOutput,
    )
    def post(self, request):
        data = valid(s.EventCreateInput, request.data)
        # HubSpot answers 200 here, and the SDK only decodes a 200.
        return _written(lambda: services.event_create(fields=data))


class EventExternalView(MarketingEventsApiView):
    """One event by `externalEventId` and `externalAccountId`, whatever its source."""

    def _event(self, request, external_event_id: str):
        account = selectors.require_account_id(request.GET.get("externalAccountId"))
        return selectors.event_by_external(account, external_event_id)

    @extend_schema(
        tags=TAGS,
        summary="Read a marketing event by external ids",
        operation_id="marketing_events_get_details",
        parameters=[ACCOUNT_PARAM],
        responses=o.EventOutput,
    )
    def get(self, request, external_event_id: str):
        return Response(s.event_output(self._event(request, external_event_id)))

    @extend_schema(
        tags=TAGS,
        summary="Create or update a marketing event by external ids",
        operation_id="marketing_events_upsert",
        request=s.EventPutInput,
        responses={200: o.EventOutput, 409: OpenApiResponse(HubSpotErrorOutput, UPSERT_RACE)},
    )
    def put(self, request, external_event_id: str):
        data = valid(
            s.EventCreateInput,
            with_ids(
                request.data,
                external_event_id=external_event_id,
                external_account_id=request.GET.get("externalAccountId"),
            ),
        )
        return _written(lambda: services.event_upsert_external(fields=data)[0])

    @extend_schema(
        tags=TAGS,
        summary="Update a marketing event by external ids",
        operation_id="marketing_events_update",
        parameters=[ACCOUNT_PARAM],
        request=s.EventUpdateInput,
        responses=o.EventOutput,
    )
    def patch(self, request, external_event_id: str):
        data = valid(s.EventUpdateInput, request.data)
        return _written(
            lambda: services.event_update(
                event=self._event(request, external_event_id), fields=data
            )
        )

    @extend_schema(
        tags=TAGS,
        summary="Delete a marketing event by external ids",
        operation_id="marketing_events_archive",
        parameters=[ACCOUNT_PARAM],
        responses={204: None},
    )
    def delete(self, request, external_event_id: str):
        services.event_delete(event=self._event(request, external_event_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventObjectView(MarketingEventsApiView):
    """One event by objectId (`MarketingEventPublicReadResponseV2`)."""

    @extend_schema(
        tags=TAGS,
        summary="Read a marketing event by objectId",
        operation_id="marketing_events_get_by_object_id",
        responses=o.EventOutput,
    )
    def get(self, request, object_id: int):
        return Response(s.event_output(selectors.event_by_object_id(object_id)))

    @extend_schema(
        tags=TAGS,
        summary="Update a marketing event by objectId",
        operation_id="marketing_events_update_by_object_id",
        request=s.EventUpdateInput,
        responses=o.EventOutput,
    )
    def patch(self, request, object_id: int):
        data = valid(s.EventUpdateInput, request.data)
        return _written(
            lambda: services.event_update(
                event=selectors.event_by_object_id(object_id), fields=data
            )
        )

    @extend_schema(
        tags=TAGS,
        summary="Delete a marketing event by objectId",
        operation_id="marketing_events_archive_by_object_id",
        responses={204: None},
    )
    def delete(self, request, object_id: int):
        services.event_delete(event=selectors.event_by_object_id(object_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventBatchUpsertView(MarketingEventsApiView):
    error_statuses = {409: UPSERT_RACE}

    @extend_schema(
        tags=TAGS,
        summary="Create or update a batch of marketing events by external ids (all or nothing)",
        operation_id="marketing_events_batch_upsert",
        request=s.EventBatchUpsertInput,
        responses=o.EventBatchOutput,
    )
    def post(self, request):
        started_at = timezone.now()
        data = valid(s.EventBatchUpsertInput, request.data)
        # One transaction: the events written stay locked until they are read back.
        with transaction.atomic():
            events = services.events_upsert_batch(inputs=data["inputs"])
            fresh = {
                e.pk: e
                for e in selectors.events_with_counters().filter(pk__in=[e.pk for e in events])
            }
        return Response(
            {
                "status": "COMPLETE",
                "results": [s.event_output(fresh[e.pk]) for e in events],
                "startedAt": format_datetime(started_at),
                "completedAt": format_datetime(timezone.now()),
            }
        )


class EventBatchDeleteView(MarketingEventsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Delete a batch of marketing events by external ids (unknown ones ignored)",
        operation_id="marketing_events_batch_archive",
        request=s.EventBatchDeleteInput,
        responses={204: None},
    )
    def post(self, request):
        data = valid(s.EventBatchDeleteInput, request.data)
        services.events_delete_batch(
            keys=[(i["externalAccountId"], i["externalEventId"]) for i in data["inputs"]]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventCancelView(EventExternalView):
    http_method_names = ["post", "options"]

    @extend_schema(
        tags=TAGS,
        summary="Mark a marketing event cancelled",
        operation_id="marketing_events_cancel",
        parameters=[ACCOUNT_PARAM],
        request=None,
        responses=o.EventOutput,
    )
    def post(self, request, external_event_id: str):
        return _written(
            lambda: services.event_cancel(event=self._event(request, external_event_id))
        )


class EventCompleteView(EventExternalView):
    http_method_names = ["post", "options"]

    @extend_schema(
        tags=TAGS,
        summary="Mark a marketing event completed with its actual start and end",
        description="Recomputes API-recorded attendance against that span; registrants who "
        "never attended become no-shows.",
        operation_id="marketing_events_complete",
        parameters=[ACCOUNT_PARAM],
        request=s.CompleteInput,
        responses=o.EventOutput,
    )
    def post(self, request, external_event_id: str):
        data = valid(s.CompleteInput, request.data)
        return _written(
            lambda: services.event_complete(
                event=self._event(request, external_event_id),
                starts_at=data["startDateTime"],
                ends_at=data["endDateTime"],
            )
        )


class EventSearchView(MarketingEventsApiView):
    @extend_schema(
        tags=TAGS,
        summary="Find events by externalEventId",
        operation_id="marketing_events_do_search",
        parameters=[
            search_parameter("The externalEventId to find", required=True, pattern=NON_BLANK_TEXT)
        ],
        responses=o.IdentifierListOutput,
    )
    def get(self, request):
        q = clean_search(request.GET.get("q"))
        if not q:
            message = str(_("q (the externalEventId to find) is required."))
            raise ValidationFailed(
                message, errors=[{"name": "q", "code": "REQUIRED", "message": message}]
            )
        return Response({"results": [s.identifier_output(e) for e in selectors.events_search(q)]})


class EventIdentifiersView(MarketingEventsApiView):
    @extend_schema(
        tags=TAGS,
        summary="All events of the portal with this externalEventId",
        operation_id="marketing_events_search_portal_events",
        responses=o.IdentifierListOutput,
    )
    def get(self, request, external_event_id: str):
        rows = [s.identifier_output(e) for e in selectors.events_search(external_event_id)]
        return Response({"total": len(rows), "results": rows})
