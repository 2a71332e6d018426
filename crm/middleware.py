"""Requests the database could never serve: a NUL character in the path or the query string
(PostgreSQL's text cannot hold one, so any lookup with it would fail as a 500); the signed-in
person's language (rule L1); how a request's changes came, for the audit trail."""

import re

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

from .api.exceptions import error_body, is_api_path
from .models import AuditVia
from .services.audit import audit_channel


class RefuseNulCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            message = _("Null characters are not allowed in the address.")
            if is_api_path(request.path):
                body = error_body(request.path, status_code=400, message=message)
                return JsonResponse(body, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


class UserLanguageMiddleware:
    """Rule L1: a signed-in person's profile language, when set, is the language of the pages;
    otherwise LocaleMiddleware's choice stands (the language cookie that the login page's
    switcher sets, then Accept-Language, then English). Sits after AuthenticationMiddleware.

    API paths are left to LocaleMiddleware whoever calls them (rule L2): a program calling
    with a bearer token gets its error messages in its own Accept-Language, never in the token
    owner's profile language, so that the same request gets the same answer whoever's token it
    carries. (DRF authenticates tokens in the view, after this middleware, so `request.user`
    here is a session's user at most; API paths do not look at it at all.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api_path(request.path):
            user = getattr(request, "user", None)
            language = user.language if user is not None and user.is_authenticated else ""
            if language:
                try:
                    language = translation.get_supported_language_variant(language)
                except LookupError:  # a language since removed from settings.LANGUAGES
                    language = ""
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


# A request id from the proxy in front (or an earlier middleware), kept if it looks like one.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_of(request) -> str:
    value = getattr(request, "request_id", "") or request.META.get("HTTP_X_REQUEST_ID", "")
    return value if isinstance(value, str) and _REQUEST_ID.fullmatch(value) else ""


class AuditChannelMiddleware:
    """Tells the audit trail how this request's changes came (crm/services/audit.py): the web
    UI, or the API (its bearer-token authentication adds which token), with the request id
    when there is one. Reset at the end, so nothing leaks into the next request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        via = AuditVia.API if is_api_path(request.path) else AuditVia.UI
        with audit_channel(via=via, request_id=request_id_of(request)):
            return self.get_response(request)
