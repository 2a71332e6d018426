"""HubSpot-compatible contact property definitions: `/crm/v3/properties/contacts`."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import scopes
from ..errors import NotFound
from ..properties import STANDARD_PROPERTIES, spec_from_definition
from ..services.properties import property_definition_create
from . import selectors
from . import serializers as s
from .views import valid

TAGS = ["HubSpot-compatible contact properties v3"]


class PropertiesApiView(APIView):
    read_scope = scopes.SCHEMAS_READ
    write_scope = scopes.SCHEMAS_WRITE


class PropertyListView(PropertiesApiView):
    error_statuses = {409: _("A property already has this name.")}

    @extend_schema(
        tags=TAGS,
        summary="List contact properties, standard and custom",
        operation_id="properties_get_all",
        responses=s.PropertyListOutput,
    )
    def get(self, request):
        results = [s.property_output(spec) for spec in STANDARD_PROPERTIES]
        for definition in selectors.property_definitions().values():
            results.append(s.property_output(spec_from_definition(definition), definition))
        return Response({"results": results})

    @extend_schema(
        tags=TAGS,
        summary="Create a custom contact property",
        request=s.PropertyCreateInput,
        operation_id="properties_create",
        responses={201: s.PropertyOutput},
    )
    def post(self, request):
        data = valid(s.PropertyCreateInput, request.data)
        definition = property_definition_create(
            name=data["name"],
            label=data["label"],
            type=data["type"],
            field_type=data["fieldType"],
            group_name=data["groupName"],
            description=data["description"],
            options=data["options"],
        )
        body = s.property_output(spec_from_definition(definition), definition)
        return Response(body, status=status.HTTP_201_CREATED)


class PropertyDetailView(PropertiesApiView):
    @extend_schema(
        tags=TAGS,
        summary="Read one contact property",
        operation_id="properties_get_by_name",
        responses=s.PropertyOutput,
    )
    def get(self, request, name: str):
        standard = {spec.name: spec for spec in STANDARD_PROPERTIES}.get(name)
        if standard is not None:
            return Response(s.property_output(standard))
        definition = selectors.property_definition_get(name)
        if definition is None:
            raise NotFound(_("Property %(name)s does not exist.") % {"name": name})
        return Response(s.property_output(spec_from_definition(definition), definition))
