"""A request id on every request: the caller's `X-Request-ID` when it is sane (at most 64 of
`A-Z a-z 0-9 - _ .`), else a new one; sent back in the response's `X-Request-ID` and put on
every log record of the request (`config.logs.ContextFilter`). First in MIDDLEWARE, so the
other middleware's records carry it too; it runs on the webhook receiver's lean path as well,
where it costs a regular-expression match or a random id and two context-variable writes."""

from __future__ import annotations

import re
import uuid

from config.logs import request_id

HEADER = "X-Request-ID"
SANE = re.compile(r"[A-Za-z0-9\-_.]{1,64}")


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = given if SANE.fullmatch(given) else new_request_id()
        request.request_id = rid
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response[HEADER] = rid
        return response
