"""Query-string parsing and paging helpers shared by the HubSpot-compatible views."""

from __future__ import annotations

from urllib.parse import urlencode

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter

from ..errors import ValidationFailed
from ..properties import (
    MAX_PROPERTIES_IN_ADDRESS,
    MAX_PROPERTY_NAME_LENGTH,
    PROPERTY_NAME_CHARACTERS,
    requested_property_names,
)

LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT = 10, 100
SEARCH_DEFAULT_LIMIT, SEARCH_MAX_LIMIT = 10, 200
SEARCH_MAX_RESULTS = 10_000  # HubSpot answers 400 when paging beyond 10,000 results


def _invalid(name: str, message: str):
    raise ValidationFailed(
        message, errors=[{"name": name, "code": "INVALID_VALUE", "message": message}]
    )


def _whole_number(text: str) -> bool:
    """ASCII digits short enough for `int()` and a database id (unicode digits such as "²"
    pass `isdigit()` but not `int()`; a 5000-digit number passes neither the database nor
    Python's conversion limit)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def parse_bool(raw, name: str, default: bool = False) -> bool:
    """`true` or `false` (the schema's booleans); absent is the default."""
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text == "true":
        return True
    if text == "false":
        return False
    _invalid(
        name,
        _("%(name)s must be true or false; got %(value)s")
        % {"name": name, "value": repr(raw)[:40]},
    )


def parse_limit(raw, *, default: int, maximum: int) -> int:
    if raw is None:
        return default
    text = str(raw).strip()
    if not _whole_number(text) or not 1 <= int(text) <= maximum:
        _invalid(
            "limit",
            _("limit must be an integer from 1 to %(max)s; got %(value)s")
            % {"max": maximum, "value": repr(raw)[:40]},
        )
    return int(text)


def _invalid_cursor(raw):
    _invalid(
        "after",
        _("after must be a paging cursor from a previous page; got %(value)s")
        % {"value": repr(raw)[:40]},
    )


def parse_after_id(raw) -> int | None:
    """The list cursor: the id of the last contact of the previous page."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    if not _whole_number(text):
        _invalid_cursor(raw)
    return int(text)


def parse_offset(raw) -> int:
    """The search cursor: an offset into the results, at most 10,000."""
    if raw is None or raw == "":
        return 0
    text = str(raw).strip()
    if not _whole_number(text):
        _invalid_cursor(raw)
    offset = int(text)
    if offset >= SEARCH_MAX_RESULTS:
        _invalid(
            "after",
            _(
                "Search results are limited to %(max)s: after=%(offset)s is beyond them. "
                "Narrow the filters instead."
            )
            % {"max": SEARCH_MAX_RESULTS, "offset": offset},
        )
    return offset


def property_names(query_params) -> list[str]:
    """`properties=a,b` and/or `properties=a&properties=b`, bounded (`properties_parameter`)."""
    return requested_property_names(query_params.getlist("properties"))


def properties_parameter() -> OpenApiParameter:
    return OpenApiParameter(
        "properties",
        {
            "type": "array",
            "items": {
                "type": "string",
                "maxLength": MAX_PROPERTY_NAME_LENGTH,
                "pattern": PROPERTY_NAME_CHARACTERS,
            },
            "maxItems": MAX_PROPERTIES_IN_ADDRESS,
        },
        style="form",
        explode=False,
        description=(
            f"Property names, comma-separated (or the parameter repeated): at most "
            f"{MAX_PROPERTIES_IN_ADDRESS} names of at most {MAX_PROPERTY_NAME_LENGTH} characters"
        ),
    )


# The paging cursor: digits (an id or an offset), from the previous page's `paging.next.after`.
AFTER_PARAMETER = OpenApiParameter(
    "after",
    {"type": "string", "pattern": "^[0-9]*$", "maxLength": 18},
    description="The cursor of the next page, from the previous page's paging.next.after",
)


def limit_parameter(maximum: int, default: int) -> OpenApiParameter:
    return OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": maximum},
        description=f"Results per page, 1 to {maximum} (default {default})",
    )


def next_paging(request, after: str) -> dict:
    params = request.GET.copy()
    params["after"] = after
    link = request.build_absolute_uri(request.path) + "?" + urlencode(params, doseq=True)
    return {"next": {"after": after, "link": link}}
