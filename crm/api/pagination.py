from django.utils.translation import gettext as _
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from ..errors import ValidationFailed


class IdCursorPagination(CursorPagination):
    """`{"results": [...], "next": URL|null}` by an opaque cursor; constant cost per page.
    A `limit` that is not a whole number from 1 to `max_page_size` is refused (400), as the
    schema says, rather than silently replaced; a cursor that does not decode is a 404
    (the page it names does not exist)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= self.max_page_size:
            message = _("limit must be a whole number from 1 to %(max)s") % {
                "max": self.max_page_size
            }
            raise ValidationFailed(message, errors=[{"name": "limit", "message": message}])
        return int(raw)

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "nullable": True, "format": "uri"},
            },
        }


class TimelineCursorPagination(IdCursorPagination):
    ordering = ("-occurred_at", "-id")
