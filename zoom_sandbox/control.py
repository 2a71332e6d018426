"""The control surface under ``/_sandbox`` (not Zoom's; JSON in and out).

Contract calls: reset, scenario, accounts, state, generate, faults, webhooks/emit, live/…,
requests. Extensions (documented in README.md): settings, clock, tokens/expire,
accounts/{id}/webhook, webhooks (delivery log), webhooks/validate, registrants.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import live
from .api_webinars import new_registrant, registrant_event, registration_errors
from .errors import ScenarioError
from .generator import generate
from .sandbox import Sandbox
from .timeutil import format_time, parse_time


def _sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ScenarioError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ScenarioError("body must be a JSON object")
    return body


async def reset(request: Request) -> Response:
    _sandbox(request).reset()
    return JSONResponse({"ok": True})


async def scenario(request: Request) -> Response:
    return JSONResponse(_sandbox(request).load(await _json(request)))


async def state(request: Request) -> Response:
    return Response(_sandbox(request).store.dump(), media_type="application/json")


async def generate_scenario(request: Request) -> Response:
    sandbox = _sandbox(request)
    body = await _json(request)
    now = parse_time(body["now"]) if body.get("now") else sandbox.now()
    counts = sandbox.load(generate(body, now))
    return JSONResponse({**counts, "now": format_time(now)})


async def put_account(request: Request) -> Response:
    sandbox = _sandbox(request)
    body = await _json(request)
    replaced = body.get("id") in sandbox.store.accounts
    account = sandbox.store.put_account(body)
    sandbox.oauth.forget_account(account.id)  # its data as given, its tokens invalidated
    return JSONResponse(
        {
            "id": account.id,
            "replaced": replaced,
            "users": len(account.data["users"]),
            "webinars": len(account.webinars),
        }
    )


async def set_webhook(request: Request) -> Response:
    sandbox = _sandbox(request)
    account = sandbox.store.accounts.get(request.path_params["account_id"])
    if account is None:
        return JSONResponse({"error": "unknown account"}, status_code=404)
    body = await _json(request)
    hook = account.data["webhook"]
    for key in ("url", "secret_token"):
        if key in body:
            hook[key] = str(body[key])
    return JSONResponse({"id": account.id, "webhook": hook})


async def faults(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "DELETE":
        sandbox.faults.clear()
    elif request.method == "POST":
        sandbox.faults.set((await _json(request)).get("rules"))
    return JSONResponse({"rules": sandbox.faults.describe()})


async def emit(request: Request) -> Response:
    sandbox = _sandbox(request)
    body = await _json(request)
    account = sandbox.store.accounts.get(str(body.get("account_id")))
    if account is None:
        return JSONResponse({"error": "unknown account"}, status_code=404)
    event = str(body.get("event") or "")
    if event == "endpoint.url_validation":
        return JSONResponse(await sandbox.webhooks.validate(account.data))
    payload = body.get("payload") if isinstance(body.get("payload"), dict) else {}
    record = sandbox.webhooks.send(account.data, event, payload)
    return JSONResponse({"delivery_id": record["id"], "state": record["state"]})


async def validate(request: Request) -> Response:
    sandbox = _sandbox(request)
    account = sandbox.store.accounts.get(str((await _json(request)).get("account_id")))
    if account is None:
        return JSONResponse({"error": "unknown account"}, status_code=404)
    return JSONResponse(await sandbox.webhooks.validate(account.data))


async def deliveries(request: Request) -> Response:
    return JSONResponse({"deliveries": _sandbox(request).webhooks.public_log()})


async def live_action(request: Request) -> Response:
    sandbox = _sandbox(request)
    webinar_id, action = request.path_params["webinar_id"], request.path_params["action"]
    body = await _json(request)
    try:
        if action == "join":
            answer = live.join(sandbox, webinar_id, body)
        elif action == "leave":
            answer = live.leave(sandbox, webinar_id, body)
        elif action == "end":
            answer = live.end(sandbox, webinar_id, str(request.base_url).rstrip("/"))
        else:
            return JSONResponse({"error": f"unknown action {action}"}, status_code=404)
    except LookupError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    return JSONResponse(answer)


async def add_registrant(request: Request) -> Response:
    """Register someone as if through Zoom's own form: no token, no rate limit, a webhook."""
    sandbox = _sandbox(request)
    body = await _json(request)
    webinar = sandbox.store.webinar_anywhere(int(body.get("webinar_id") or 0))
    if webinar is None:
        return JSONResponse({"error": "unknown webinar"}, status_code=404)
    errors = registration_errors(webinar, body)
    if errors:
        return JSONResponse({"error": "Validation Failed.", "errors": errors}, status_code=400)
    registrant = new_registrant(webinar.account.id, webinar, body, sandbox.now())
    if body.get("status") in ("approved", "pending", "denied"):
        registrant["status"] = body["status"]
    webinar.data["registrants"].append(registrant)
    webinar.index_registrant(registrant)
    event = "webinar.registration_created"
    sandbox.emit(webinar.account.id, event, registrant_event(webinar, event, registrant, None))
    return JSONResponse(webinar.registrant_api(registrant), status_code=201)


async def requests_log(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "DELETE":
        sandbox.requests.clear()
    return JSONResponse({"requests": list(sandbox.requests)})


async def settings(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "POST":
        return JSONResponse(sandbox.update_settings(await _json(request)))
    return JSONResponse(sandbox.settings())


async def clock(request: Request) -> Response:
    sandbox = _sandbox(request)
    if request.method == "POST":
        sandbox.clock.advance(float((await _json(request)).get("advance_seconds", 0)))
    return JSONResponse({"now": format_time(sandbox.now()), "offset_seconds": sandbox.clock.offset})


async def expire_tokens(request: Request) -> Response:
    account_id = (await _json(request)).get("account_id")
    return JSONResponse({"expired": _sandbox(request).oauth.expire_all(account_id)})


def _guard(endpoint: Any) -> Any:
    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except (ScenarioError, ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return guarded


_POST = ["POST"]
ROUTES = [
    Route(path, _guard(endpoint), methods=methods)
    for path, endpoint, methods in (
        ("/_sandbox/reset", reset, _POST),
        ("/_sandbox/scenario", scenario, _POST),
        ("/_sandbox/state", state, ["GET"]),
        ("/_sandbox/generate", generate_scenario, _POST),
        ("/_sandbox/accounts", put_account, _POST),
        ("/_sandbox/accounts/{account_id}/webhook", set_webhook, _POST),
        ("/_sandbox/faults", faults, ["GET", "POST", "DELETE"]),
        ("/_sandbox/webhooks", deliveries, ["GET"]),
        ("/_sandbox/webhooks/emit", emit, _POST),
        ("/_sandbox/webhooks/validate", validate, _POST),
        ("/_sandbox/live/{webinar_id}/{action}", live_action, _POST),
        ("/_sandbox/registrants", add_registrant, _POST),
        ("/_sandbox/requests", requests_log, ["GET", "DELETE"]),
        ("/_sandbox/settings", settings, ["GET", "POST"]),
        ("/_sandbox/clock", clock, ["GET", "POST"]),
        ("/_sandbox/tokens/expire", expire_tokens, _POST),
    )
]
