"""Requests the database could never serve: a NUL character in the path or the query string
(PostgreSQL's text cannot hold one, so any lookup with it would fail as a 500)."""

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

from .api.exceptions import error_body, is_api_path


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
