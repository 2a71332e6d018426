"""HubSpot-compatible contacts v3: list, create, get, update, archive, restore (our extension,
rule B6) and search. Thin views: parse, call a service or selector, render HubSpot's shapes.
Errors are rendered in HubSpot's shape by `crm.api.exceptions` (paths under /crm/v3/)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import scopes
from ..properties import DEFAULT_RETURNED, SEARCH_DEFAULT_RETURNED, all_property_specs
from ..services.contacts import contact_archive, contact_create, contact_restore, contact_update
from . import pagination, search, selectors
from . import serializers as s

TAGS = ["HubSpot-compatible contacts v3"]
ID_PARAMS = [
    OpenApiParameter(
        "idProperty",
        str,
        enum=["hs_object_id", "email"],
        description="`email` to address the contact by e-mail",
    ),
    OpenApiParameter("archived", bool, description="true: only archived contacts"),
    pagination.properties_parameter(),
]


def valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ContactsApiView(APIView):
    read_scope = scopes.CONTACTS_READ
    write_scope = scopes.CONTACTS_WRITE


class ContactListView(ContactsApiView):
    error_statuses = {409: _("A contact already has this e-mail.")}

    @extend_schema(
        tags=TAGS,
        summary="List contacts (by id ascending)",
        operation_id="contacts_get_page",
        responses=s.ContactPageOutput,
        parameters=[
            pagination.limit_parameter(pagination.LIST_MAX_LIMIT, pagination.LIST_DEFAULT_LIMIT),
            pagination.AFTER_PARAMETER,
            *ID_PARAMS[1:],
        ],
    )
    def get(self, request):
        limit = pagination.parse_limit(
            request.GET.get("limit"),
            default=pagination.LIST_DEFAULT_LIMIT,
            maximum=pagination.LIST_MAX_LIMIT,
        )
        after_id = pagination.parse_after_id(request.GET.get("after"))
        archived = pagination.parse_bool(request.GET.get("archived"), "archived")
        names = s.returned_names(pagination.property_names(request.GET), DEFAULT_RETURNED)
        specs = all_property_specs()
        rows, more = selectors.contacts_page(after_id=after_id, limit=limit, archived=archived)
        body = {"results": [s.simple_public_object(c, names, specs) for c in rows]}
        if more:
            body["paging"] = pagination.next_paging(request, str(rows[-1].pk))
        return Response(body)

    @extend_schema(
        tags=TAGS,
        summary="Create a contact",
        request=s.ContactCreateInput,
        operation_id="contacts_create",
        responses={201: s.SimplePublicObjectOutput},
    )
    def post(self, request):
        data = valid(s.ContactCreateInput, request.data)
        contact = contact_create(properties=data["properties"], actor=request.user, source="api")
        names = s.returned_names(list(data["properties"]), DEFAULT_RETURNED)
        body = s.simple_public_object(contact, names, all_property_specs())
        return Response(body, status=status.HTTP_201_CREATED)


class ContactDetailView(ContactsApiView):
    error_statuses = {409: _("The contact is archived, or the e-mail belongs to another contact.")}

    @extend_schema(
        tags=TAGS,
        summary="Read a contact by id or e-mail",
        parameters=ID_PARAMS,
        operation_id="contacts_get_by_id",
        responses=s.SimplePublicObjectOutput,
    )
    def get(self, request, contact_id: str):
        contact = selectors.contact_find(
            contact_id,
            id_property=request.GET.get("idProperty"),
            archived=pagination.parse_bool(request.GET.get("archived"), "archived"),
        )
        names = s.returned_names(pagination.property_names(request.GET), DEFAULT_RETURNED)
        return Response(s.simple_public_object(contact, names, all_property_specs()))

    @extend_schema(
        tags=TAGS,
        summary="Update a contact ('' clears a value)",
        operation_id="contacts_update",
        responses=s.SimplePublicObjectOutput,
        request=s.ContactUpdateInput,
        parameters=ID_PARAMS[:1],
    )
    def patch(self, request, contact_id: str):
        data = valid(s.ContactUpdateInput, request.data)
        contact = selectors.contact_find(contact_id, id_property=request.GET.get("idProperty"))
        contact = contact_update(contact=contact, properties=data["properties"], actor=request.user)
        names = s.returned_names([*DEFAULT_RETURNED, *data["properties"]], DEFAULT_RETURNED)
        contact = selectors.contact_find(contact.pk)  # fresh secondary e-mails
        return Response(s.simple_public_object(contact, names, all_property_specs()))

    @extend_schema(
        tags=TAGS,
        summary="Archive (delete) a contact; leaves a tombstone",
        responses={204: None},
        operation_id="contacts_archive",
    )
    def delete(self, request, contact_id: str):
        contact_archive(contact=selectors.contact_find_any(contact_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactRestoreView(ContactsApiView):
    """Our extension (rule B6): HubSpot can restore deleted contacts only in its UI."""

    error_statuses = {
        409: _("The contact is not archived, or its e-mail is now another contact's.")
    }

    @extend_schema(
        tags=TAGS,
        summary="Restore an archived contact (extension)",
        request=None,
        operation_id="contacts_restore",
        responses=s.SimplePublicObjectOutput,
    )
    def post(self, request, contact_id: str):
        contact = contact_restore(
            contact=selectors.contact_find_any(contact_id), actor=request.user
        )
        contact = selectors.contact_find(contact.pk)
        return Response(
            s.simple_public_object(
                contact, s.returned_names(None, DEFAULT_RETURNED), all_property_specs()
            )
        )


class ContactSearchView(ContactsApiView):
    """Read-your-writes (rule B5): one database, so a contact written is found at once."""

    read_only_post = True

    @extend_schema(
        tags=TAGS,
        summary="Search contacts",
        request=s.SearchInput,
        operation_id="contacts_search",
        responses=s.SearchPageOutput,
    )
    def post(self, request):
        data = valid(s.SearchInput, request.data)
        specs = all_property_specs()
        condition = search.compile_filter_groups(data.get("filterGroups"), specs)
        condition &= search.compile_query(data.get("query"))
        ordering = search.compile_sorts(data.get("sorts"), specs)
        offset = pagination.parse_offset(data.get("after"))
        limit = data.get("limit") or pagination.SEARCH_DEFAULT_LIMIT
        limit = min(limit, pagination.SEARCH_MAX_RESULTS - offset)
        total, rows = selectors.contacts_search(
            condition=condition, ordering=ordering, offset=offset, limit=limit
        )
        names = s.returned_names(data.get("properties"), SEARCH_DEFAULT_RETURNED)
        body = {"total": total, "results": [s.simple_public_object(c, names, specs) for c in rows]}
        end = offset + len(rows)
        if end < min(total, pagination.SEARCH_MAX_RESULTS):
            body["paging"] = {"next": {"after": str(end)}}
        return Response(body)
