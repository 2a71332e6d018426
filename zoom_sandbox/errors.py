"""Errors in Zoom's own shapes, raised by handlers and rendered by the dispatcher."""

from __future__ import annotations


class ZoomError(Exception):
    """Zoom's ``{"code": int, "message": str}`` answer (plus ``errors[]`` on validation)."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class OAuthError(Exception):
    """The token endpoint's error shape: ``{"reason": …, "error": …}``."""

    def __init__(self, status: int, reason: str, error: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.error = error


class ScenarioError(ValueError):
    """A scenario (or control-surface body) the sandbox cannot load."""


def webinar_not_found(webinar_id: object) -> ZoomError:
    return ZoomError(404, 3001, f"Webinar does not exist: {webinar_id}.")


def report_not_found(webinar_id: object) -> ZoomError:
    # Zoom's wording on the report endpoints (spec); clients treat it as "no report yet".
    return ZoomError(404, 3001, f'Webinar "{webinar_id}" not found or has expired')


def user_not_found(user_id: str) -> ZoomError:
    return ZoomError(404, 1001, f"User does not exist: {user_id}.")


def invalid_page_token() -> ZoomError:
    return ZoomError(400, 300, "The next page token is invalid or expired.")


def invalid_token() -> ZoomError:
    return ZoomError(401, 124, "Invalid access token.")
