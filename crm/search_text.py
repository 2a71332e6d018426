"""Free text people type to search a list (`?q=` in the UI and the API): one bound for all,
checked before any query runs, so that a pasted page of text is a clear error and not a
query with hundreds of LIKE terms."""

from __future__ import annotations

from django.utils.translation import gettext

from .errors import ValidationFailed

MAX_SEARCH_LENGTH = 200


def clean_search(raw, *, name: str = "q", max_length: int = MAX_SEARCH_LENGTH) -> str:
    """`raw` trimmed; a `ValidationFailed` naming `name` when it is longer than `max_length`."""
    text = raw.strip() if isinstance(raw, str) else ""
    if len(text) > max_length:
        message = gettext("%(name)s: a search has at most %(max)s characters; got %(n)s.") % {
            "name": name,
            "max": max_length,
            "n": len(text),
        }
        raise ValidationFailed(
            message, errors=[{"name": name, "code": "INVALID_VALUE", "message": message}]
        )
    return text
