"""What the OpenAPI schema says beyond each view's own `extend_schema`: the error answers every
operation can give, in the shape the exception handler renders them (HubSpot's on the
HubSpot-compatible paths, ours elsewhere), the paged list shapes, and the rate-limit headers.

A view adds the statuses only its writes send with `error_statuses = {409: "why"}` (a class
attribute, for every method but GET) or per method with `extend_schema(responses={409: ...})`;
what is generic (401, 403, 404 on paths with parameters, 400 where input is read, 429
everywhere) is added here, once.
"""

import json
from collections.abc import Callable

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from ..search_text import MAX_SEARCH_LENGTH
from .exceptions import is_hubspot_path


class ErrorItemOutput(serializers.Serializer):
    name = serializers.CharField(help_text=_("The field or parameter at fault"))
    message = serializers.CharField()


class ErrorOutput(serializers.Serializer):
    """The own API's error body."""

    detail = serializers.CharField(help_text=_("What went wrong, for a person"))
    code = serializers.CharField(help_text=_("A stable machine-readable category"))
    errors = ErrorItemOutput(many=True, required=False)


class HubSpotErrorItemOutput(serializers.Serializer):
    message = serializers.CharField()
    code = serializers.CharField()
    context = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class HubSpotErrorOutput(serializers.Serializer):
    """HubSpot's error body, on the HubSpot-compatible paths."""

    status = serializers.CharField()
    message = serializers.CharField()
    correlationId = serializers.UUIDField()
    category = serializers.CharField()
    errors = HubSpotErrorItemOutput(many=True, required=False)
    context = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


RATE_LIMIT_HEADERS = {
    "X-HubSpot-RateLimit-Max": _("Requests a token may make per interval"),
    "X-HubSpot-RateLimit-Remaining": _("Requests left to this token in the current interval"),
    "X-HubSpot-RateLimit-Interval-Milliseconds": _("The interval's length, in milliseconds"),
}

# Text DRF accepts: no NUL character; NON_BLANK_TEXT also has one character that is not a space.
ANY_TEXT = "^[^\\u0000]*$"
NON_BLANK_TEXT = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"

GENERIC_ERRORS = {
    400: _("The input is invalid; `errors` names each field at fault."),
    401: _("No valid credentials: the bearer token is missing, wrong or revoked."),
    403: _("The token lacks a scope, or the user's role may not do this."),
    404: _("No such object."),
    429: _("Too many requests from this token: wait `Retry-After` seconds."),
}


class SchemaComponents:
    """Mixin of a serializer field whose schema uses named components and may differ by
    direction ("request": what a request may send, "response": what a response holds), e.g.
    the Filter JSON. `schema_components(direction)` returns (the field's schema, every
    component it refers to); the field reads and sends values as its base class does."""

    schema_components: Callable[[str], tuple[dict, dict[str, dict]]]


class SchemaComponentsExtension(OpenApiSerializerFieldExtension):
    target_class = SchemaComponents
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema, components = self.target.schema_components(direction)
        for name, component in components.items():
            auto_schema.registry.register_on_missing(
                ResolvedComponent(
                    name=name, type=ResolvedComponent.SCHEMA, schema=component, object=name
                )
            )
        return schema


def _paginated_name(serializer_class) -> str:
    name = serializer_class.__name__.removesuffix("Serializer").removesuffix("Output")
    return f"Paginated{name}List"


_PAGINATED: dict[type, type] = {}


def paginated(serializer_class) -> type:
    """The serializer of a cursor-paged list of `serializer_class` items, as
    `IdCursorPagination` renders it: `{"results": [...], "next": URL|null}`."""
    if serializer_class not in _PAGINATED:
        _PAGINATED[serializer_class] = type(
            _paginated_name(serializer_class),
            (serializers.Serializer,),
            {
                "results": serializer_class(many=True),
                "next": serializers.URLField(
                    allow_null=True, help_text=_("The next page, or null on the last one")
                ),
                "__doc__": f"A page of {serializer_class.__name__} items.",
            },
        )
    return _PAGINATED[serializer_class]


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema generator, with every error answer documented."""

    def _error_statuses(self) -> dict[int, str]:
        method = self.method.upper()
        statuses = {401: GENERIC_ERRORS[401], 403: GENERIC_ERRORS[403], 429: GENERIC_ERRORS[429]}
        reads_input = method in ("POST", "PUT", "PATCH") or any(
            p.get("in") == "query" for p in self._get_parameters()
        )
        if reads_input:
            statuses[400] = GENERIC_ERRORS[400]
        if "{" in self.path:
            statuses[404] = GENERIC_ERRORS[404]
        elif self._returns_page():
            statuses[404] = _("The cursor does not name a page of this list.")
        if method != "GET":
            for code, text in getattr(self.view, "error_statuses", {}).items():
                statuses[code] = text
        for code in getattr(self.view, "no_error_statuses", ()):
            statuses.pop(code, None)
        return statuses

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, SchemaComponents) and isinstance(schema, dict) and "default" in schema:
            # An object's default cannot be given to a generated model (openapi-python-client
            # refuses the schema): say it in words.
            default = json.dumps(schema.pop("default"))
            schema["description"] = f"{schema.get('description', '')} Default: `{default}`.".strip()
        if direction != "request" or not isinstance(schema, dict):
            return schema
        # What DRF refuses and drf-spectacular does not say: NUL characters (every CharField),
        # a value of spaces only (trimmed to blank), and an empty list where one is required.
        if isinstance(field, serializers.CharField) and "pattern" not in schema:
            if "format" not in schema and schema.get("type") == "string":
                blank_ok = field.allow_blank or not field.trim_whitespace
                schema["pattern"] = ANY_TEXT if blank_ok else NON_BLANK_TEXT
        if isinstance(field, serializers.ListField | serializers.ListSerializer):
            if not field.allow_empty and schema.get("type") == "array":
                schema.setdefault("minItems", 1)
            max_length = getattr(field, "max_length", None) or getattr(
                field.parent, "max_inputs", None
            )
            if max_length and schema.get("type") == "array":
                schema.setdefault("maxItems", max_length)
        return schema

    def _returns_page(self) -> bool:
        return self.method == "GET" and self.get_response_serializers() in _PAGINATED.values()

    def get_operation_id(self):
        operation_id = super().get_operation_id()
        # A paged list is a list, though its view is a plain APIView.
        if self._returns_page():
            operation_id = operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        if direction != "response":
            return responses
        error = HubSpotErrorOutput if is_hubspot_path(self.path) else ErrorOutput
        for code, text in sorted(self._error_statuses().items()):
            if str(code) in responses:
                continue
            response = OpenApiResponse(response=error, description=str(text))
            body = self._get_response_for_code(response, str(code), direction=direction)
            if code == 429:
                body["headers"] = {
                    "Retry-After": {
                        "schema": {"type": "integer"},
                        "required": True,
                        "description": str(_("Seconds to wait before the next request")),
                    }
                }
            responses[str(code)] = body
        for code, body in responses.items():
            if code.startswith("2"):
                headers = body.setdefault("headers", {})
                for name, text in RATE_LIMIT_HEADERS.items():
                    headers.setdefault(
                        name, {"schema": {"type": "integer"}, "description": str(text)}
                    )
        return responses


def page_parameters(*, max_limit: int = 200, default_limit: int = 50) -> list[OpenApiParameter]:
    """The query parameters of a cursor-paged list (`IdCursorPagination`). Called when views
    are defined, at import time: the descriptions stay lazy, translated when the schema is."""
    return [
        OpenApiParameter(
            "cursor",
            str,
            description=_("The opaque cursor of the page to read, from a `next` link"),
        ),
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": max_limit},
            description=_items_per_page(default_limit),
        ),
    ]


def _items_per_page_text(default_limit: int) -> str:
    return _("Items per page (default %(n)s)") % {"n": default_limit}


_items_per_page = lazy(_items_per_page_text, str)


def search_parameter(
    description: str, *, name: str = "q", required: bool = False, pattern: str | None = None
) -> OpenApiParameter:
    """A free-text search parameter, with the bound `crm.search_text.clean_search` checks."""
    schema = {"type": "string", "maxLength": MAX_SEARCH_LENGTH}
    if pattern:
        schema["pattern"] = pattern
    return OpenApiParameter(name, schema, required=required, description=description)


def paged_list(serializer_class, **kwargs):
    """`extend_schema` for a cursor-paged list of `serializer_class` items."""
    parameters = page_parameters() + list(kwargs.pop("parameters", []))
    return extend_schema(parameters=parameters, responses=paginated(serializer_class), **kwargs)
