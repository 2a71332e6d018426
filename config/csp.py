"""The Content-Security-Policy header (django-csp), with the Zoom OAuth origin allowed as a form
target: connecting or re-authorizing a Zoom OAuth app posts a form whose answer redirects to
Zoom's consent page, and browsers check that redirect against form-action. The origin is read
per request, so it follows ZOOM_OAUTH_BASE_URL wherever that points (Zoom or the sandbox)."""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def zoom_oauth_origin() -> str | None:
    parts = urlsplit(settings.ZOOM_OAUTH_BASE_URL)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self, request: HttpRequest, response: HttpResponseBase, report_only: bool = False
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        origin = zoom_oauth_origin()
        if origin is not None:
            update = dict(parts.update or {})
            update["form-action"] = [*update.get("form-action", []), origin]
            parts.update = update
        return parts
