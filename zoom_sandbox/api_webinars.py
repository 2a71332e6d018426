"""``/v2`` users, webinars, registrants and registration questions (zoom-api.md §3.1–3.8)."""

from __future__ import annotations

import re
from typing import Any

from . import render
from .api_tracking import find_source
from .errors import ZoomError, user_not_found, webinar_not_found
from .ratelimit import LIGHT, MEDIUM
from .routing import Answer, Call, route
from .store import REGISTRANT_STATUSES, STANDARD_FIELDS, Webinar, derive_id, dumps, normalized_email
from .timeutil import format_time, parse_time

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_USERS_PAGE = 2000  # GET /users allows 2000 (2026 Users spec); everything else 300


def resolve_user(call: Call, key: str) -> dict[str, Any]:
    """``me`` is the authorizing user: the token's user (OAuth) or the account owner (S2S)."""
    if key == "me":
        user = call.account.users_by_id.get(call.token.user_id or "") or call.account.owner()
    else:
        user = call.account.find_user(key)
    if user is None:
        raise user_not_found(key)
    return user


def resolve_webinar(call: Call, key: str) -> Webinar:
    webinar = call.account.find_webinar(key)
    if webinar is None:
        raise webinar_not_found(key)
    return webinar


def paged_json(head: dict[str, Any], items_key: str, fragments: list[bytes]) -> bytes:
    """The envelope with pre-serialised items spliced in (no re-encoding on the hot path)."""
    return dumps(head)[:-1] + b',"' + items_key.encode() + b'":[' + b",".join(fragments) + b"]}"


# -- users ---------------------------------------------------------------------------------
@route("GET", "/users", MEDIUM)
def list_users(call: Call) -> Answer:
    status = call.query.get("status", "active")
    users = [u for u in call.account.data["users"] if u["status"] == status]
    key = ("users", call.account.id, status)
    page = call.sandbox.page_tokens.page(call.query, key, len(users), max_size=MAX_USERS_PAGE)
    body = page.envelope()
    body["users"] = [render.user_item(call.account, u) for u in users[page.offset : page.end]]
    return 200, body


@route("GET", "/users/{userId}", LIGHT)
def get_user(call: Call) -> Answer:
    return 200, render.user_detail(call.account, resolve_user(call, call.args[0]))


@route("GET", "/users/{userId}/webinars", MEDIUM)
def list_user_webinars(call: Call) -> Answer:
    """Only unexpired webinars, as Zoom: upcoming, live, recurring with occurrences left."""
    user = resolve_user(call, call.args[0])
    now = call.now
    upcoming_only = call.query.get("type") == "upcoming"
    webinars = []
    for webinar in call.account.webinars.values():
        if webinar.data.get("host_id") != user["id"] or not webinar.is_unexpired(now):
            continue
        if upcoming_only and webinar.live_instance() is None and not _starts_later(webinar, now):
            continue
        webinars.append(webinar)
    webinars.sort(key=lambda w: (render.next_start(w, now), w.id))
    key = ("webinars", call.account.id, user["id"], upcoming_only)
    page = call.sandbox.page_tokens.page(call.query, key, len(webinars))
    body = page.envelope()
    body["webinars"] = [render.webinar_item(w, now) for w in webinars[page.offset : page.end]]
    return 200, body


def _starts_later(webinar: Webinar, now: float) -> bool:
    starts = [o["start_time"] for o in webinar.available_occurrences()] or [
        webinar.data["start_time"]
    ]
    return any(parse_time(s) > now for s in starts)


# -- webinars ------------------------------------------------------------------------------
@route("GET", "/webinars/{webinarId}", LIGHT)
def get_webinar(call: Call) -> Answer:
    return 200, render.webinar_detail(resolve_webinar(call, call.args[0]))


@route("GET", "/webinars/{webinarId}/registrants/questions", LIGHT)
def get_questions(call: Call) -> Answer:
    webinar = _registration_webinar(call)
    custom = []
    for question in webinar.data["custom_questions"]:
        item = {
            "title": question["title"],
            "type": question.get("type", "short"),
            "required": bool(question.get("required")),
        }
        if item["type"] != "short":  # `answers` is not used for short questions (spec)
            item["answers"] = question.get("answers", [])
        custom.append(item)
    questions = [
        {"field_name": q["field_name"], "required": bool(q.get("required"))}
        for q in webinar.data["questions"]
    ]
    return 200, {"questions": questions, "custom_questions": custom}


@route("PATCH", "/webinars/{webinarId}/registrants/questions", LIGHT)
def update_questions(call: Call) -> Answer:
    webinar = _registration_webinar(call)
    body = call.body if isinstance(call.body, dict) else {}
    for key in ("questions", "custom_questions"):
        if isinstance(body.get(key), list):
            webinar.data[key] = body[key]
    return 204, None


def _registration_webinar(call: Call) -> Webinar:
    webinar = resolve_webinar(call, call.args[0])
    if not webinar.registration_enabled():
        raise ZoomError(
            400, 3000, f"Registration has not been enabled for this webinar: {webinar.id}."
        )
    return webinar


# -- registrants ---------------------------------------------------------------------------
@route("GET", "/webinars/{webinarId}/registrants", MEDIUM)
def list_registrants(call: Call) -> Answer:
    webinar = resolve_webinar(call, call.args[0])
    # `approved` is the default; cancelled people match no filter (zoom-api.md §3.7).
    status = call.query.get("status") or "approved"
    if status not in REGISTRANT_STATUSES:
        raise ZoomError(400, 300, "Invalid parameter: status.")
    fragments = webinar.registrant_fragments(status, with_source=call.sandbox.registrant_source_ids)
    source_id = call.query.get("tracking_source_id")
    if source_id:  # Zoom's filter by tracking source (spec)
        fragments = [
            fragment
            for fragment, registrant in zip(
                fragments,
                [r for r in webinar.data["registrants"] if r["status"] == status],
                strict=True,
            )
            if registrant.get("source_id") == source_id
        ]
    key = ("registrants", call.account.id, webinar.id, status, source_id or "")
    page = call.sandbox.page_tokens.page(call.query, key, len(fragments))
    return 200, paged_json(page.envelope(), "registrants", fragments[page.offset : page.end])


@route("GET", "/webinars/{webinarId}/registrants/{registrantId}", LIGHT)
def get_registrant(call: Call) -> Answer:
    webinar = _registration_webinar(call)
    registrant = webinar.by_id.get(call.args[1])
    if registrant is None or registrant["status"] == "cancelled":
        raise ZoomError(400, 3079, f"This registrant does not exist: {call.args[1]}.")
    out = webinar.registrant_api(registrant, with_source=call.sandbox.registrant_source_ids)
    out["language"] = registrant.get("language", "en-US")
    return 200, out


@route("DELETE", "/webinars/{webinarId}/registrants/{registrantId}", LIGHT)
def delete_registrant(call: Call) -> Answer:
    webinar = _registration_webinar(call)
    registrant = webinar.by_id.get(call.args[1])
    if registrant is None:
        raise ZoomError(400, 3000, f"Registrant {call.args[1]} was not found.")
    was_active = registrant["status"] != "cancelled"
    webinar.remove_registrant(registrant)
    if was_active:
        _emit_registrant(call, webinar, "webinar.registration_cancelled", registrant)
    return 204, None


@route("POST", "/webinars/{webinarId}/registrants", LIGHT)
def add_registrant(call: Call) -> Answer:
    webinar = resolve_webinar(call, call.args[0])
    body = call.body if isinstance(call.body, dict) else {}
    if not webinar.registration_enabled():
        raise ZoomError(
            400, 3000, f"This webinar does not have registration as required: {webinar.id}."
        )
    if not webinar.is_unexpired(call.now):
        raise ZoomError(
            400,
            3038,
            "Webinar is over, you cannot register now. If you have any questions, contact the "
            "webinar host.",
        )
    email = str(body.get("email") or "")
    host = call.account.users_by_id.get(webinar.data.get("host_id", ""))
    if host is not None and email and normalized_email(email) == normalized_email(host["email"]):
        raise ZoomError(400, 3027, "Host cannot register.")
    errors = registration_errors(webinar, body)
    if errors:
        raise ZoomError(400, 300, "Validation Failed.", errors=errors)
    if call.sandbox.rate_limits:
        call.sandbox.limiter.check_registration(
            call.account.id, webinar.id, normalized_email(email)
        )
    registrant = webinar.by_email.get(normalized_email(email))
    if registrant is None:  # the same address again answers the same registrant (idempotent)
        registrant = new_registrant(call.account.id, webinar, body, call.now)
        webinar.data["registrants"].append(registrant)
        webinar.index_registrant(registrant)
        _emit_registrant(call, webinar, "webinar.registration_created", registrant)
    answer: dict[str, Any] = {
        "id": webinar.id,
        "registrant_id": registrant["id"],
        "join_url": webinar.join_url(registrant["id"]),
        "topic": webinar.data["topic"],
        "start_time": webinar.data["start_time"],
    }
    if webinar.data["type"] == 9:
        answer["occurrences"] = render.occurrences(webinar)
    return 201, answer


def registration_errors(webinar: Webinar, body: dict[str, Any]) -> list[dict[str, str]]:
    """`email` and `first_name` always; then the webinar's required standard/custom questions."""
    errors = []
    email = str(body.get("email") or "").strip()
    if not email:
        errors.append({"field": "email", "message": "This field is required."})
    elif not EMAIL.match(email) or len(email) > 128:
        errors.append({"field": "email", "message": "Invalid field."})
    if not str(body.get("first_name") or "").strip():
        errors.append({"field": "first_name", "message": "This field is required."})
    for question in webinar.data["questions"]:
        name = question["field_name"]
        if question.get("required") and not str(body.get(name) or "").strip():
            errors.append({"field": name, "message": "This field is required."})
    answers = {
        str(c.get("title")): str(c.get("value") or "").strip()
        for c in body.get("custom_questions") or []
        if isinstance(c, dict)
    }
    for question in webinar.data["custom_questions"]:
        if question.get("required") and not answers.get(question["title"]):
            errors.append({"field": question["title"], "message": "This field is required."})
    for title, value in answers.items():
        if len(value) > 128:  # custom_questions[].value is at most 128 characters (spec)
            errors.append({"field": title, "message": "Invalid field."})
    return errors


def new_registrant(
    account_id: str, webinar: Webinar, body: dict[str, Any], now: float
) -> dict[str, Any]:
    """A registrant record from a registration body (the API's or the control surface's)."""
    email = str(body["email"])
    registrant: dict[str, Any] = {
        "id": derive_id(
            "registrant",
            account_id,
            webinar.id,
            normalized_email(email),
            len(webinar.data["registrants"]),
        ),
        "email": email,  # kept as typed; report rows carry the trimmed address
        "first_name": str(body["first_name"]),
    }
    for field in STANDARD_FIELDS:
        if body.get(field):
            registrant[field] = str(body[field])
    custom = [
        {"title": str(c.get("title")), "value": str(c.get("value") or "")}
        for c in body.get("custom_questions") or []
        if isinstance(c, dict)
    ]
    if custom:
        registrant["custom_questions"] = custom
    source = find_source(webinar, str(body.get("source_id") or ""))
    if source is not None:  # an unknown source id is ignored, as Zoom does
        registrant["source_id"] = str(source["id"])
        source["registration_count"] = int(source.get("registration_count", 0)) + 1
    registrant["status"] = "pending" if webinar.data["approval_type"] == 1 else "approved"
    registrant["create_time"] = format_time(now)
    return registrant


STATUS_ACTIONS = {"approve": "approved", "deny": "denied", "cancel": "cancelled"}
STATUS_EVENTS = {
    "approve": "webinar.registration_approved",
    "deny": "webinar.registration_denied",
    "cancel": "webinar.registration_cancelled",
}


@route("PUT", "/webinars/{webinarId}/registrants/status", MEDIUM)
def update_registrant_status(call: Call) -> Answer:
    webinar = resolve_webinar(call, call.args[0])
    body = call.body if isinstance(call.body, dict) else {}
    action = body.get("action")
    people = body.get("registrants")
    errors = []
    if action not in STATUS_ACTIONS:
        errors.append({"field": "action", "message": "Invalid field."})
    if not isinstance(people, list) or not people or len(people) > 30:  # at most 30 (spec)
        errors.append({"field": "registrants", "message": "Invalid field."})
    if errors:
        raise ZoomError(400, 300, "Validation Failed.", errors=errors)
    if not webinar.registration_enabled():
        raise ZoomError(
            400, 300, f"Registration has not been enabled for this meeting: {webinar.id}."
        )
    new_status = STATUS_ACTIONS[action]
    for person in people:
        if not isinstance(person, dict):
            continue
        registrant = webinar.by_id.get(str(person.get("id") or "")) or webinar.by_email.get(
            normalized_email(str(person.get("email") or ""))
        )
        if registrant is None or registrant["status"] in (new_status, "cancelled"):
            continue
        registrant["status"] = new_status
        webinar.registrant_changed(registrant)
        _emit_registrant(call, webinar, STATUS_EVENTS[action], registrant)
    return 204, None


def _emit_registrant(call: Call, webinar: Webinar, event: str, registrant: dict[str, Any]) -> None:
    operator = call.account.users_by_id.get(call.token.user_id or "") or call.account.owner()
    call.sandbox.emit(
        call.account.id, event, registrant_event(webinar, event, registrant, operator)
    )


def registrant_event(
    webinar: Webinar, event: str, registrant: dict[str, Any], operator: dict[str, Any] | None
) -> dict[str, Any]:
    """The payload of ``webinar.registration_*`` events in Zoom's example shapes (§7.3)."""
    obj = render.webhook_webinar(webinar, webinar.current_uuid())
    if event == "webinar.registration_cancelled":
        person = {k: registrant.get(k, "") for k in ("id", "first_name", "last_name", "email")}
    else:
        person = webinar.registrant_api(registrant)
        source = find_source(webinar, str(person.pop("source_id", "")))
        if source is not None:  # webhooks carry the source as an object (spec example)
            person["tracking_source"] = {
                "id": str(source["id"]),
                "source_name": str(source.get("source_name", "")),
                "tracking_url": str(source.get("tracking_url", "")),
            }
    obj["registrant"] = person
    if event == "webinar.registration_created":
        return {"object": obj}
    return {
        "operator": operator["email"] if operator else "",
        "operator_id": operator["id"] if operator else "",
        "object": obj,
    }
