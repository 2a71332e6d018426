"""The own API's marketing-event reads: thin views over the selectors."""

from __future__ import annotations

from rest_framework.views import APIView

from crm import scopes
from crm.api.pagination import IdCursorPagination
from crm.api.schema import paged_list

from .. import selectors
from ..hubspot.views import READ_SCOPE
from . import serializers as s


class ParticipationCursorPagination(IdCursorPagination):
    ordering = "id"  # in the order the participations were first recorded


class EventParticipationsView(APIView):
    """Every participation of one marketing event, with its facts and engagement score."""

    read_scope = READ_SCOPE
    read_also_needs = (scopes.CONTACTS_READ,)  # it shows contacts' data

    @paged_list(
        s.ParticipationOutput,
        tags=["Marketing events"],
        summary="The participations of a marketing event (contact, state, times, answers, "
        "source and UTM, recording, engagement score with its parts)",
        description="Paged by cursor; a page costs the same queries whatever its size.",
        operation_id="marketing_event_participations_list",
    )
    def get(self, request, event_id: int):
        event = selectors.event_get(event_id=event_id)
        paginator = ParticipationCursorPagination()
        page = paginator.paginate_queryset(
            selectors.event_participations(event=event), request, view=self
        )
        for participation in page:
            participation.event = event  # the displayed state reads it: no query per row
        return paginator.get_paginated_response(s.ParticipationOutput(page, many=True).data)
