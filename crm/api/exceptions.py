"""One renderer for every API error: HubSpot's shape on the HubSpot-compatible paths
(`/crm/v3/`, `/marketing/v3/`), our own `{"detail", "code", "errors"}` elsewhere."""

import logging
import math
import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import ApplicationError

logger = logging.getLogger(__name__)

HUBSPOT_PREFIXES = ("/crm/v3/", "/marketing/v3/", "/marketing/marketing-events/")

_CATEGORY_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    415: "VALIDATION_ERROR",
    429: "RATE_LIMITS",
}


def is_hubspot_path(path: str) -> bool:
    return path.startswith(HUBSPOT_PREFIXES)


def _flatten_drf_errors(detail, prefix: str = "") -> list[dict]:
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            # A list field's errors come keyed by item index: `filterGroups[0].filters`.
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(_flatten_drf_errors(value, name))
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                out.extend(_flatten_drf_errors(value, f"{prefix}[{index}]"))
            else:
                out.append({"name": prefix or "non_field_errors", "message": str(value)})
        return out
    return [{"name": prefix or "non_field_errors", "message": str(detail)}]


def error_body(
    path: str, *, status_code: int, message: str, errors=None, category=None, context=None
) -> dict:
    """The error body for `path`: HubSpot's shape on its paths, ours elsewhere."""
    category = category or _CATEGORY_BY_STATUS.get(status_code, "ERROR")
    if is_hubspot_path(path):
        body = {
            "status": "error",
            "message": message,
            "correlationId": str(uuid.uuid4()),
            "category": category,
        }
        if errors:
            body["errors"] = [
                {
                    "message": e.get("message", ""),
                    "code": e.get("code", category),
                    "context": {"propertyName": [e["name"]]} if e.get("name") else {},
                }
                for e in errors
            ]
        if context:
            body["context"] = {
                k: v if isinstance(v, list) else [str(v)] for k, v in context.items()
            }
        return body
    body = {"detail": message, "code": category.lower()}
    if errors:
        body["errors"] = errors
    return body


def error_response(
    request,
    *,
    status_code: int,
    message: str,
    errors=None,
    category=None,
    context=None,
    headers=None,
) -> Response:
    path = getattr(request, "path", "") or ""
    body = error_body(
        path,
        status_code=status_code,
        message=message,
        errors=errors,
        category=category,
        context=context,
    )
    return Response(body, status=status_code, headers=headers)


API_PREFIXES = ("/api/v1/", *HUBSPOT_PREFIXES)


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def page_not_found(request, exception):
    """Django's 404 handler: an API path that matches no route (an id that is not a number,
    say) answers in the API's JSON error shape; every other path gets the HTML page."""
    if is_api_path(request.path):
        body = error_body(request.path, status_code=404, message=str(_("Not found.")))
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    """Django's 400 handler (a request Django itself refuses, e.g. too many fields)."""
    if is_api_path(request.path):
        body = error_body(request.path, status_code=400, message=str(_("Bad request.")))
        return JsonResponse(body, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    """Django's 403 handler (e.g. a CSRF refusal of a session request)."""
    if is_api_path(request.path):
        message = str(_("You do not have permission to do this."))
        return JsonResponse(error_body(request.path, status_code=403, message=message), status=403)
    return defaults.permission_denied(request, exception)


def server_error(request):
    """Django's 500 handler, in the API's JSON error shape on API paths."""
    if is_api_path(request.path):
        message = str(_("An unexpected error occurred; it has been logged."))
        return JsonResponse(error_body(request.path, status_code=500, message=message), status=500)
    return defaults.server_error(request)


def exception_handler(exc, context):
    request = context.get("request")
    if isinstance(exc, ApplicationError):
        return error_response(
            request,
            status_code=exc.status_code,
            message=exc.message,
            errors=exc.errors,
            category=exc.category,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or _("Not found."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(max(math.ceil(exc.wait), 1))
        errors = None
        if isinstance(exc, exceptions.ValidationError):
            errors = _flatten_drf_errors(exc.detail)
            message = "; ".join(f"{e['name']}: {e['message']}" for e in errors) or str(
                _("Invalid input.")
            )
        elif isinstance(exc, exceptions.ParseError):
            message = str(_("Invalid input JSON: %(detail)s") % {"detail": exc.detail})
        else:
            message = str(exc.detail)
        return error_response(
            request, status_code=exc.status_code, message=message, errors=errors, headers=headers
        )
    return drf_exception_handler(exc, context)


__all__ = ["exception_handler", "error_response", "is_hubspot_path", "status"]
