"""The Starlette application: Zoom's surface (``/oauth``, ``/v2``, recording downloads) and the
``/_sandbox`` control surface, behind a gateway that logs requests and injects faults."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import (  # noqa: F401  (registers the /v2 routes)
    api_reports,
    api_tracking,
    api_webinars,
    control,
    engagement,
)
from .errors import OAuthError, ZoomError, invalid_page_token, invalid_token
from .oauth import basic_credentials
from .ratelimit import QPS_MESSAGE
from .routing import Call, match, split_raw_path
from .sandbox import Sandbox
from .store import dumps
from .timeutil import format_time

JSON = "application/json;charset=UTF-8"
BODY_METHODS = ("POST", "PUT", "PATCH")
CONTROL_PREFIX = "/_sandbox"
# The header that carries the control token (not Authorization: a test client often carries a
# Zoom access token there while it drives the control surface too).
CONTROL_TOKEN_HEADER = "X-Sandbox-Control-Token"


def _error(error: ZoomError, extra: dict[str, str] | None = None) -> Response:
    headers = {**(extra or {}), **error.headers}
    return Response(dumps(error.body()), error.status, headers=headers, media_type=JSON)


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def zoom_api(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    log = request.scope.get("sandbox.log")
    token = _bearer(request)
    if not token:
        return _error(ZoomError(401, 124, "Requires an access token."))
    access = sandbox.oauth.authenticate(token)
    if access is None:
        return _error(invalid_token())
    account = sandbox.store.accounts.get(access.account_id)
    if account is None:
        return _error(invalid_token())
    if log is not None:
        log["account"] = account.id
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    segments = split_raw_path(raw_path)[1:]  # drop "v2"
    found, args, known = match(request.method, segments)
    if found is None:
        if known:
            return _error(ZoomError(405, 405, "Method not allowed."))
        return _error(ZoomError(404, 404, "Not Found"))
    headers: dict[str, str] = {}
    try:
        if sandbox.rate_limits:
            headers = sandbox.limiter.check(account.id, account.plan, found.category)
        body: Any = None
        if request.method in BODY_METHODS:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                raise ZoomError(400, 300, "Request Body should be a valid JSON object.") from None
        call = Call(
            sandbox=sandbox,
            account=account,
            token=access,
            args=args,
            query=dict(request.query_params),
            body=body,
            base_url=str(request.base_url).rstrip("/"),
        )
        status, answer = found.handler(call)
    except ZoomError as error:
        return _error(error, headers)
    if answer is None:
        return Response(status_code=status, headers=headers)
    content = answer if isinstance(answer, bytes) else dumps(answer)
    return Response(content, status, headers=headers, media_type=JSON)


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
        params.update(parse_qsl((await request.body()).decode()))
    return params


async def token_endpoint(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    params = await _params(request)
    try:
        body = sandbox.oauth.token(
            params,
            request.headers.get("authorization", ""),
            api_url=str(request.base_url).rstrip("/"),
        )
    except OAuthError as error:
        return JSONResponse({"reason": error.reason, "error": error.error}, error.status)
    access = sandbox.oauth.access.get(body["access_token"])
    log = request.scope.get("sandbox.log")
    if log is not None and access is not None:
        log["account"] = access.account_id
    return JSONResponse(body)


def _authorize_app(sandbox: Sandbox, params: dict[str, str]) -> Any:
    found = sandbox.oauth.find_app(params.get("client_id", ""), "oauth")
    if found is None:
        return None, "Invalid client_id."
    if params.get("redirect_uri", "") != found[1].get("redirect_uri", ""):
        return None, "Invalid redirect: the redirect URI does not match the app's."
    return found, ""


async def authorize_page(request: Request) -> Response:
    """Zoom's consent screen, reduced to a user picker and an Authorize button."""
    sandbox: Sandbox = request.app.state.sandbox
    params = dict(request.query_params)
    found, problem = _authorize_app(sandbox, params)
    if found is None:
        return HTMLResponse(f"<h1>Error</h1><p>{html.escape(problem)}</p>", 400)
    account = found[0]
    owner = account.owner() or {}
    options = "".join(
        f'<option value="{html.escape(u["id"])}"'
        f"{' selected' if u is owner else ''}>{html.escape(u['email'])}</option>"
        for u in account.data["users"]
    )
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(params.get(k, ""))}">'
        for k in ("client_id", "redirect_uri", "state")
    )
    page = (
        "<!doctype html><title>Zoom sandbox: authorize</title>"
        f"<h1>Authorize app {html.escape(found[1]['client_id'])}</h1>"
        f'<form method="post" action="/oauth/authorize">{hidden}'
        f'<label>Sign in as <select name="user_id">{options}</select></label> '
        '<button type="submit" id="authorize">Authorize</button></form>'
    )
    return HTMLResponse(page)


async def authorize_submit(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    params = await _params(request)
    found, problem = _authorize_app(sandbox, params)
    if found is None:
        return HTMLResponse(f"<h1>Error</h1><p>{html.escape(problem)}</p>", 400)
    account, app = found
    user = account.users_by_id.get(params.get("user_id", "")) or account.owner()
    if user is None:
        return HTMLResponse("<h1>Error</h1><p>The account has no users.</p>", 400)
    code = sandbox.oauth.issue_code(account, app["client_id"], user["id"], params["redirect_uri"])
    query = urlencode({"code": code, "state": params.get("state", "")})
    separator = "&" if "?" in params["redirect_uri"] else "?"
    return RedirectResponse(f"{params['redirect_uri']}{separator}{query}", status_code=302)


async def download(request: Request) -> Response:
    """Recording files need the Bearer token (spec); the content is a small stand-in."""
    sandbox: Sandbox = request.app.state.sandbox
    access = sandbox.oauth.authenticate(_bearer(request))
    account = sandbox.store.accounts.get(access.account_id) if access else None
    if account is None:
        return _error(invalid_token())
    base_url = str(request.base_url).rstrip("/")
    item = api_reports.find_recording_file(account, request.path_params["file_id"], base_url)
    if item is None:
        return _error(ZoomError(404, 3301, "There is no recording for this meeting."))
    if item["file_type"] == "TRANSCRIPT":
        text = f"WEBVTT\n\n1\n00:00:00.000 --> 00:00:05.000\nWelcome to {item['meeting_id']}.\n"
        return Response(text.encode(), media_type="text/vtt")
    return Response(b"\x00" * 64, media_type="application/octet-stream")


class Gateway:
    """Logs every Zoom-side request and applies fault rules before the app sees it."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(CONTROL_PREFIX):
            if self._control_allowed(scope):
                await self.app(scope, receive, send)
            else:
                await self._control_refused()(scope, _no_receive, send)
            return
        sandbox = self.sandbox
        query = scope.get("query_string", b"").decode("latin-1")
        entry: dict[str, Any] = {
            "time": format_time(sandbox.now()),
            "method": scope["method"],
            "path": scope["path"],
            "query": query,
            "account": None,
            "status": None,
        }
        sandbox.requests.append(entry)
        scope["sandbox.log"] = entry
        if sandbox.faults.rules:  # name the account even when a fault answers first
            entry["account"] = self._account_of(scope)
        page_token = dict(parse_qsl(query)).get("next_page_token", "") if query else ""
        rule = sandbox.faults.match(scope["method"], scope["path"], bool(page_token))
        if rule is not None:
            entry["fault"] = rule.kind
            if await self._fault(rule, scope, send, entry, page_token):
                return

        answer_delay = rule.answer_delay_ms if rule is not None else 0

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
                if answer_delay:  # done, but the answer is slow to come back
                    await asyncio.sleep(answer_delay / 1000)
            await send(message)

        await self.app(scope, receive, logging_send)

    def _control_allowed(self, scope: Scope) -> bool:
        """Without a control token the control surface is open (tests and the demo); with one,
        every control call must carry it, unknown control paths included."""
        expected = self.sandbox.control_token
        if not expected:
            return True
        given = Request(scope).headers.get(CONTROL_TOKEN_HEADER, "")
        return hmac.compare_digest(given.encode(), expected.encode())

    @staticmethod
    def _control_refused() -> Response:
        return JSONResponse(
            {
                "error": "unauthorized",
                "message": f"This sandbox's control surface needs its control token in the "
                f"{CONTROL_TOKEN_HEADER} header.",
            },
            status_code=401,
        )

    def _account_of(self, scope: Scope) -> str | None:
        authorization = Request(scope).headers.get("authorization", "")
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            access = self.sandbox.oauth.access.get(value.strip())
            return access.account_id if access else None
        if scheme.lower() == "basic":
            client_id, _ = basic_credentials(authorization)
            for kind in ("s2s", "oauth"):
                found = self.sandbox.oauth.find_app(client_id, kind)
                if found is not None:
                    return found[0].id
        return None

    async def _fault(
        self, rule: Any, scope: Scope, send: Send, entry: Any, page_token: str
    ) -> bool:
        """Apply one rule; True when the rule produced the (non-)answer itself."""
        if rule.delay_ms:
            await asyncio.sleep(rule.delay_ms / 1000)
        if rule.drop_connection:
            entry["status"] = 0
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                transport.abort()  # no answer at all, as a broken network gives
                # Let connection_lost run, so the server knows there is no one to answer.
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                return True
            raise ConnectionAbortedError("injected drop_connection")
        headers: dict[str, str] = {}
        if rule.expire_token:
            request = Request(scope)
            self.sandbox.oauth.access.pop(_bearer(request), None)
            error = invalid_token()
        elif rule.expire_page_token:
            self.sandbox.page_tokens.expire(page_token)
            error = invalid_page_token()
        elif rule.status:
            message = QPS_MESSAGE if rule.status == 429 else f"Injected fault {rule.status}."
            error = ZoomError(rule.status, rule.status, message)
            if rule.status == 429:
                headers = {
                    "X-RateLimit-Category": "Light",
                    "X-RateLimit-Type": "QPS",
                    "X-RateLimit-Remaining": "0",
                }
        else:
            return False
        if rule.retry_after is not None:
            headers["Retry-After"] = rule.retry_after
        entry["status"] = error.status
        await _error(error, headers)(scope, _no_receive, send)
        return True


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(sandbox: Sandbox) -> ASGIApp:
    verbs = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    routes = [
        Route("/oauth/token", token_endpoint, methods=["POST"]),
        Route("/oauth/authorize", authorize_page, methods=["GET"]),
        Route("/oauth/authorize", authorize_submit, methods=["POST"]),
        Route("/v2/{rest:path}", zoom_api, methods=verbs),
        Route("/rec/download/{file_id}", download, methods=["GET"]),
        Route("/rec/play/{file_id}", download, methods=["GET"]),
        *control.ROUTES,
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await sandbox.webhooks.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sandbox = sandbox
    return Gateway(app, sandbox)
