"""Typed Zoom failures. The client maps every non-2xx answer and every transport failure to one
of these; callers catch the kind they can handle (a task retries `ZoomTransientError` and
`ZoomRateLimited`, marks the connection on `ZoomAuthError`, ...)."""

from __future__ import annotations

from typing import Any


class ZoomError(Exception):
    def __init__(
        self, message: str, *, status: int | None = None, code: int | None = None, body: Any = None
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.body = body

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}" + (f", code {self.code})" if self.code else ")"))
        return " ".join(parts)


class ZoomAuthError(ZoomError):
    """The credentials or tokens were refused. `needs_reauthorization` is true when only a
    person can fix it (a refresh token rejected, the app deauthorized, bad client secret)."""

    def __init__(
        self, message: str, *, needs_reauthorization: bool = False, reason: str = "", **kwargs
    ):
        super().__init__(message, **kwargs)
        self.needs_reauthorization = needs_reauthorization
        # Zoom's own words for the refusal, when it gave some (shown to people inside a
        # sentence in their language).
        self.reason = reason


class ZoomRateLimited(ZoomError):
    """429. `retry_after` is in seconds (Zoom sends seconds for per-second limits and a date for
    daily ones; both are turned into seconds from now)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        category: str = "",
        limit_type: str = "",
        **kwargs,
    ):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.category = category
        self.limit_type = limit_type


class ZoomNotFound(ZoomError):
    """404 (Zoom code 3001 for webinars, 1001 for users, 3301 for recordings...)."""


class ZoomValidationError(ZoomError):
    """400 that the request itself caused; `errors` lists Zoom's per-field messages."""

    def __init__(self, message: str, *, errors: list[dict] | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.errors = errors or []


class ZoomPageTokenExpired(ZoomValidationError):
    """400 code 300 for a `next_page_token` older than 15 minutes: restart the listing."""


class ZoomTransientError(ZoomError):
    """5xx, timeouts, dropped connections: the same call may succeed later."""
