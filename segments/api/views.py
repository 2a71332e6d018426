"""`/api/v1/segments/` (shapes in DESIGN.md "Own API shapes"). Thin views over the segments
services and selectors."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import scopes
from crm.api.pagination import IdCursorPagination
from crm.api.schema import paged_list, paginated
from crm.api.validation import valid_input
from crm.contact_filters import FilterContext
from crm.properties import (
    MAX_PROPERTIES_IN_ADDRESS,
    MAX_PROPERTY_LIST_LENGTH,
    MAX_PROPERTY_NAME_LENGTH,
    PROPERTY_LIST_CHARACTERS,
)

from .. import selectors, services
from ..exports import export_response, member_row, prefetch_for, requested_properties
from . import serializers as s

READ, WRITE = "segments.read", "segments.write"
# Members, previews and exports show contacts: a token needs the contact read scope as well
# (DESIGN "Production safety"). Counts reveal no contact's data and need the segment scope only.
CONTACT_DATA = (scopes.CONTACTS_READ,)
PROPERTIES = OpenApiParameter(
    "properties",
    {
        "type": "string",
        "maxLength": MAX_PROPERTY_LIST_LENGTH,
        "pattern": PROPERTY_LIST_CHARACTERS,
    },
    description=(
        f"Comma-separated property names to add to each member: at most "
        f"{MAX_PROPERTIES_IN_ADDRESS} names of at most {MAX_PROPERTY_NAME_LENGTH} characters"
    ),
)


class SegmentListView(APIView):
    error_statuses = {409: _("A segment already has this name.")}
    read_scope, write_scope = READ, WRITE

    @paged_list(s.SegmentOutput)
    def get(self, request):
        paginator = IdCursorPagination()
        paginator.ordering = "id"
        page = paginator.paginate_queryset(selectors.segment_list(), request, view=self)
        return paginator.get_paginated_response(s.SegmentOutput(page, many=True).data)

    @extend_schema(request=s.SegmentInput, responses={201: s.SegmentOutput})
    def post(self, request):
        data = valid_input(s.SegmentInput, request.data)
        segment = services.segment_create(
            name=data["name"], kind=data["kind"], filters=data["filters"], actor=request.user
        )
        return Response(s.SegmentOutput(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailView(APIView):
    error_statuses = {
        409: _(
            "A segment already has this name, or the change does not apply to this kind of segment."
        )
    }
    read_scope, write_scope = READ, WRITE

    @extend_schema(responses=s.SegmentOutput)
    def get(self, request, segment_id: int):
        return Response(s.SegmentOutput(selectors.segment_get(segment_id=segment_id)).data)

    @extend_schema(request=s.SegmentUpdateInput, responses=s.SegmentOutput)
    def patch(self, request, segment_id: int):
        data = valid_input(s.SegmentUpdateInput, request.data)
        segment = services.segment_update(
            segment=selectors.segment_get(segment_id=segment_id),
            name=data.get("name"),
            filters=data.get("filters"),
        )
        return Response(s.SegmentOutput(segment).data)

    @extend_schema(responses={204: None})
    def delete(self, request, segment_id: int):
        services.segment_delete(segment=selectors.segment_get(segment_id=segment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SegmentCountView(APIView):
    read_scope, write_scope = READ, WRITE

    @extend_schema(responses=s.CountOutput)
    def get(self, request, segment_id: int):
        segment = selectors.segment_get(segment_id=segment_id)
        return Response({"count": selectors.segment_count(segment=segment)})


class SegmentMembersView(APIView):
    """Members by id, a page at a time (`?limit=`, `?after=` — keyset, constant cost at any
    depth), each `id, email, firstname, lastname` plus `?properties=`."""

    read_scope, write_scope = READ, WRITE
    read_also_needs = CONTACT_DATA

    @extend_schema(
        parameters=[
            PROPERTIES,
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
            OpenApiParameter(
                "after",
                {"type": "integer", "minimum": 0},
                description="The last id of the previous page",
            ),
        ],
        responses=paginated(s.MemberOutput),
    )
    def get(self, request, segment_id: int):
        segment = selectors.segment_get(segment_id=segment_id)
        names, specs = requested_properties(request.query_params.get("properties"))
        limit = _int_param(request, "limit", 50, low=1, high=200)
        after = _int_param(request, "after", None, low=0, high=None)
        ctx = FilterContext.build(check_references=False)
        queryset = selectors.segment_contacts(segment=segment, ctx=ctx)
        walk = selectors.segment_contacts(segment=segment, ctx=ctx, walk=True)
        if prefetch_for(names):
            queryset = queryset.prefetch_related(*prefetch_for(names))
            walk = walk.prefetch_related(*prefetch_for(names))
        rows, next_after = selectors.members_page(queryset, after=after, limit=limit, walk=walk)
        next_url = None
        if next_after is not None:
            query = request.query_params.copy()
            query["after"] = str(next_after)
            next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return Response({"results": [member_row(c, names, specs) for c in rows], "next": next_url})


def _int_param(request, name, default, *, low, high):
    from crm.errors import ValidationFailed

    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    # ASCII digits, no more than an id has ("²" is a digit to isdigit(), not to int()).
    whole = raw.isascii() and raw.isdigit() and len(raw) <= 18
    if not whole or int(raw) < low or (high is not None and int(raw) > high):
        if high is not None:
            message = _("%(name)s must be a whole number from %(low)s to %(high)s")
        else:
            message = _("%(name)s must be a whole number from %(low)s or more")
        raise ValidationFailed(
            message % {"name": name, "low": low, "high": high},
            errors=[{"name": name, "message": str(_("invalid"))}],
        )
    return int(raw)


class SegmentExportView(APIView):
    """The members as CSV, streamed a chunk at a time (any size, bounded memory)."""

    read_scope, write_scope = READ, WRITE
    read_also_needs = CONTACT_DATA

    @extend_schema(parameters=[PROPERTIES], responses={(200, "text/csv"): str})
    def get(self, request, segment_id: int):
        segment = selectors.segment_get(segment_id=segment_id)
        return export_response(segment, request.query_params.get("properties"))


class SegmentMembersAddView(APIView):
    error_statuses = {409: _("Members are added only to static segments.")}
    read_scope, write_scope = READ, WRITE

    @extend_schema(request=s.ContactIdsInput, responses=s.MembersChangedOutput)
    def post(self, request, segment_id: int):
        data = valid_input(s.ContactIdsInput, request.data)
        segment = selectors.segment_get(segment_id=segment_id)
        changed = services.segment_members_add(segment=segment, contact_ids=data["contact_ids"])
        return Response({"changed": changed, "count": selectors.segment_count(segment=segment)})


class SegmentMembersRemoveView(APIView):
    error_statuses = {409: _("Members are removed only from static segments.")}
    read_scope, write_scope = READ, WRITE

    @extend_schema(request=s.ContactIdsInput, responses=s.MembersChangedOutput)
    def post(self, request, segment_id: int):
        data = valid_input(s.ContactIdsInput, request.data)
        segment = selectors.segment_get(segment_id=segment_id)
        changed = services.segment_members_remove(segment=segment, contact_ids=data["contact_ids"])
        return Response({"changed": changed, "count": selectors.segment_count(segment=segment)})


class SegmentSnapshotView(APIView):
    error_statuses = {409: _("A segment already has this name.")}
    read_scope, write_scope = READ, WRITE

    @extend_schema(request=s.SnapshotInput, responses={201: s.SegmentOutput})
    def post(self, request, segment_id: int):
        data = valid_input(s.SnapshotInput, request.data)
        static = services.segment_snapshot(
            segment=selectors.segment_get(segment_id=segment_id),
            name=data["name"],
            actor=request.user,
        )
        return Response(s.SegmentOutput(static).data, status=status.HTTP_201_CREATED)


class PreviewView(APIView):
    """The live count and first members of filters being built (nothing is saved)."""

    read_scope, write_scope = READ, READ
    read_also_needs = CONTACT_DATA
    read_only_post = True

    @extend_schema(request=s.FiltersInput, responses=s.PreviewOutput)
    def post(self, request):
        data = valid_input(s.FiltersInput, request.data)
        ctx = FilterContext.build()
        tree = services.clean_filters(data["filters"], ctx)
        count, members = selectors.tree_preview(tree=tree, ctx=ctx)
        return Response({"count": count, "members": [member_row(c, [], {}) for c in members]})


class ConvertLegacyView(APIView):
    """Rule B9: legacy-property filters → marketing-event filters (nothing is saved)."""

    read_scope, write_scope = READ, READ
    read_only_post = True

    @extend_schema(request=s.FiltersInput, responses=s.ConversionOutput)
    def post(self, request):
        data = valid_input(s.FiltersInput, request.data)
        result = services.filters_convert_legacy(data["filters"])
        return Response(
            {
                "filters": result.filters,
                "converted": result.converted,
                "kept": result.kept,
                "notes": result.notes,
            }
        )
