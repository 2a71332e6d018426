from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """`{"results": [...], "next": URL|null}` by an opaque cursor; constant cost per page."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200

    def get_paginated_response(self, data):
        from rest_framework.response import Response

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
