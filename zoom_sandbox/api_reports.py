"""``/v2`` past webinars, reports, recordings and Zoom Events sessions (zoom-api.md §3.9–3.14)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from . import render
from .api_webinars import paged_json, resolve_user, resolve_webinar
from .errors import ZoomError, report_not_found
from .ratelimit import HEAVY, LIGHT, MEDIUM
from .routing import Answer, Call, route
from .store import Webinar, derive_id, dumps
from .timeutil import format_time, parse_date, parse_time, utc_date

MAX_WINDOW_DAYS = 31  # "the date range … should only be one month" (spec)
REPORT_HISTORY_DAYS = 183  # "the month must fall within the past six months" (spec)


def resolve_instance(call: Call, key: str) -> tuple[Webinar, dict[str, Any]] | None:
    """A numeric id means the latest ended instance; a UUID names one instance (spec §1)."""
    if key.isdigit():
        webinar = call.account.webinars.get(int(key))
        if webinar is None:
            return None
        ended = webinar.ended_instances()
        return (webinar, ended[-1]) if ended else None
    found = call.account.instances.get(key)
    if found is None or found[1].get("end_time") is None:
        return None
    return found


def _past_instance(call: Call) -> tuple[Webinar, dict[str, Any]]:
    found = resolve_instance(call, call.args[0])
    if found is None:
        raise ZoomError(404, 3001, "Webinar does not exist.")
    return found


def _report_instance(call: Call) -> tuple[Webinar, dict[str, Any]]:
    found = resolve_instance(call, call.args[0])
    if found is None:
        raise report_not_found(call.args[0])
    return found


def _include_registrant_id(call: Call) -> bool:
    return "registrant_id" in call.query.get("include_fields", "").split(",")


@route("GET", "/past_webinars/{webinarId}/instances", LIGHT)
def past_instances(call: Call) -> Answer:
    webinar = resolve_webinar(call, call.args[0])
    items = [{"uuid": i["uuid"], "start_time": i["start_time"]} for i in webinar.ended_instances()]
    return 200, {"webinars": items}


def _participants(call: Call, *, report: bool) -> Answer:
    webinar, instance = _report_instance(call) if report else _past_instance(call)
    sessions = webinar.closed_sessions(instance)
    key = ("participants", report, call.account.id, instance["uuid"])
    page = call.sandbox.page_tokens.page(call.query, key, len(sessions))
    body = page.envelope(with_page_number=False)
    body["participants"] = render.participant_rows(  # only this page's rows are rendered
        sessions[page.offset : page.end],
        report=report,
        include_registrant_id=_include_registrant_id(call),
    )
    return 200, body


@route("GET", "/past_webinars/{webinarId}/participants", MEDIUM)
def past_participants(call: Call) -> Answer:
    return _participants(call, report=False)


@route("GET", "/report/webinars/{webinarId}/participants", HEAVY)
def report_participants(call: Call) -> Answer:
    return _participants(call, report=True)


@route("GET", "/report/webinars/{webinarId}", HEAVY)
def report_webinar(call: Call) -> Answer:
    webinar, instance = _report_instance(call)
    host = call.account.users_by_id.get(webinar.data.get("host_id", "")) or {}
    return 200, {
        "uuid": instance["uuid"],
        "id": webinar.id,
        "type": webinar.data["type"],
        "topic": webinar.data["topic"],
        "user_name": render.display_name(host),
        "user_email": host.get("email", ""),
        "start_time": instance["start_time"],
        "end_time": instance["end_time"],
        "duration": render.instance_minutes(instance),
        "total_minutes": render.participant_minutes(instance),
        "participants_count": len(instance["participants"]),
        "tracking_fields": [],
        "custom_keys": [],
        "dept": host.get("dept", ""),
    }


@route("GET", "/past_webinars/{webinarId}/absentees", HEAVY)
def absentees(call: Call) -> Answer:
    webinar, instance = _past_instance(call)
    if not webinar.registration_enabled():
        raise ZoomError(
            400, 3000, f"This webinar doesn't have registration required: {instance['uuid']}."
        )
    present = {p.get("registrant_id") for p in instance["participants"]}
    emails = {p.get("user_email", "").lower() for p in instance["participants"]}
    missing = [
        r
        for r in webinar.data["registrants"]
        if r["status"] == "approved"
        and r["id"] not in present
        and r["email"].strip().lower() not in emails
    ]
    key = ("absentees", call.account.id, instance["uuid"])
    page = call.sandbox.page_tokens.page(call.query, key, len(missing))
    with_source = call.sandbox.registrant_source_ids
    fragments = [
        dumps(webinar.registrant_api(r, with_source=with_source))
        for r in missing[page.offset : page.end]
    ]
    return 200, paged_json(page.envelope(), "registrants", fragments)


# -- report lists (ended webinars are found here, not in GET /users/{id}/webinars) ---------
def report_window(call: Call, *, required: bool = True) -> tuple[date, date]:
    today = utc_date(call.now)
    try:
        start = parse_date(call.query["from"]) if call.query.get("from") else None
        end = parse_date(call.query["to"]) if call.query.get("to") else None
    except ValueError as exc:
        raise ZoomError(400, 300, f"Invalid parameter: {exc}.") from exc
    if start is None:
        if required:
            raise ZoomError(400, 300, "Invalid parameter: from.")
        start = today
    end = end or (start + timedelta(days=1) if not required else today)
    if end < start or (end - start).days > MAX_WINDOW_DAYS:
        raise ZoomError(
            400,
            300,
            "The date range defined by the from and to parameters should only be one month.",
        )
    if required and start < today - timedelta(days=REPORT_HISTORY_DAYS):
        raise ZoomError(
            400,
            300,
            "Daily report can only be provided for a month that falls within the recent 6 months.",
        )
    return start, end


def _instances_in(call: Call, start: date, end: date, *, by_end: bool = False) -> list[Any]:
    found = []
    for webinar in call.account.webinars.values():
        for instance in webinar.ended_instances():
            stamp = instance["end_time"] if by_end else instance["start_time"]
            if start <= utc_date(parse_time(stamp)) <= end:
                found.append((webinar, instance))
    found.sort(key=lambda pair: (pair[1]["start_time"], pair[0].id))
    return found


@route("GET", "/report/history_meetings", HEAVY)
def history_meetings(call: Call) -> Answer:
    start, end = report_window(call)
    pairs = []
    if call.query.get("meeting_type", "all") in ("webinar", "all"):
        by_end = call.query.get("date_type") == "end_time"
        pairs = _instances_in(call, start, end, by_end=by_end)
    key = ("history", call.account.id, start, end, call.query.get("meeting_type"))
    page = call.sandbox.page_tokens.page(call.query, key, len(pairs))
    items = []
    for webinar, instance in pairs[page.offset : page.end]:
        host = call.account.users_by_id.get(webinar.data.get("host_id", "")) or {}
        unique = render.unique_participants(instance)
        items.append(
            {
                "meeting_uuid": instance["uuid"],
                "meeting_id": webinar.id,
                "type": "Webinar",
                "host_display_name": render.display_name(host),
                "host_email": host.get("email", ""),
                "start_time": instance["start_time"],
                "end_time": instance["end_time"],
                "topic": webinar.data["topic"],
                "participants": unique,
                "duration": render.instance_minutes(instance),
                "total_participant_minutes": render.participant_minutes(instance),
                "department": host.get("dept", ""),
                "group": [],
                "source": "Zoom",
                "unique_viewers": unique,
                "create_time": webinar.created_at(),
                "custom_fields": [],
                "tracking_fields": [],
            }
        )
    body = {"next_page_token": page.next_token, "page_size": page.size, "history_meetings": items}
    return 200, body


@route("GET", "/report/users/{userId}/meetings", HEAVY)
def report_user_meetings(call: Call) -> Answer:
    user = resolve_user(call, call.args[0])
    start, end = report_window(call)
    # "Meetings and webinars are returned only if they have two or more unique participants."
    pairs = [
        (w, i)
        for w, i in _instances_in(call, start, end)
        if w.data.get("host_id") == user["id"] and render.unique_participants(i) >= 2
    ]
    key = ("report_meetings", call.account.id, user["id"], start, end)
    page = call.sandbox.page_tokens.page(call.query, key, len(pairs))
    items = [
        {
            "uuid": i["uuid"],
            "id": w.id,
            "host_id": user["id"],
            "type": w.data["type"],
            "topic": w.data["topic"],
            "user_name": render.display_name(user),
            "user_email": user["email"],
            "start_time": i["start_time"],
            "end_time": i["end_time"],
            "duration": render.instance_minutes(i),
            "total_minutes": render.participant_minutes(i),
            "participants_count": len(i["participants"]),
            "source": "Zoom",
            "has_recording": any(r["uuid"] == i["uuid"] for r in w.data["recordings"]),
        }
        for w, i in pairs[page.offset : page.end]
    ]
    body = {"from": start.isoformat(), "to": end.isoformat(), **page.envelope(), "meetings": items}
    return 200, body


# -- recordings ----------------------------------------------------------------------------
def _recordings(webinar: Webinar) -> list[tuple[dict[str, Any] | None, dict[str, Any]]]:
    instances = {i["uuid"]: i for i in webinar.data["instances"]}
    return [(instances.get(r["uuid"]), r) for r in webinar.data["recordings"]]


@route("GET", "/users/{userId}/recordings", MEDIUM)
def user_recordings(call: Call) -> Answer:
    user = resolve_user(call, call.args[0])
    start, end = report_window(call, required=False)
    found = []
    for webinar in call.account.webinars.values():
        if webinar.data.get("host_id") != user["id"]:
            continue
        for instance, recording in _recordings(webinar):
            when = instance["start_time"] if instance else webinar.data["start_time"]
            if start <= utc_date(parse_time(when)) <= end:
                found.append((when, webinar, instance, recording))
    found.sort(key=lambda item: (item[0], item[1].id))
    key = ("recordings", call.account.id, user["id"], start, end)
    page = call.sandbox.page_tokens.page(call.query, key, len(found))
    meetings = [
        render.recording_object(w, i, r, call.base_url)
        for _, w, i, r in found[page.offset : page.end]
    ]
    envelope = page.envelope(with_page_number=False)
    return 200, {"from": start.isoformat(), "to": end.isoformat(), **envelope, "meetings": meetings}


@route("GET", "/meetings/{meetingId}/recordings", LIGHT)
def meeting_recordings(call: Call) -> Answer:
    key = call.args[0]
    webinar = call.account.find_webinar(key)
    pairs = _recordings(webinar) if webinar else []
    if not key.isdigit():
        pairs = [p for p in pairs if p[1]["uuid"] == key]
    if not pairs:
        raise ZoomError(404, 3301, "There is no recording for this meeting.")
    instance, recording = pairs[-1]  # a numeric id means the latest instance
    return 200, render.recording_object(webinar, instance, recording, call.base_url)


def find_recording_file(call_account: Any, file_id: str, base_url: str) -> dict[str, Any] | None:
    for webinar in call_account.webinars.values():
        for instance, recording in _recordings(webinar):
            for item in render.recording_files(webinar, instance, recording, base_url):
                if item["id"] == file_id:
                    return item
    return None


# -- Zoom Events (rule Z1: the only place that says a webinar belongs to Zoom Events) -------
def event_id(webinar: Webinar) -> str:
    return webinar.data.get("event_id") or derive_id("event", webinar.id)


@route("GET", "/zoom_events/events", LIGHT)
def list_events(call: Call) -> Answer:
    events = [
        {
            "event_id": event_id(w),
            "name": w.data["topic"],
            "start_time": w.data["start_time"],
            "timezone": w.data["timezone"],
            "status": "PUBLISHED",
            "event_type": "SIMPLE_EVENT",
        }
        for w in call.account.webinars.values()
        if w.data["zoom_events"]
    ]
    return 200, {"total_records": len(events), "next_page_token": "", "events": events}


@route("GET", "/zoom_events/events/{eventId}/sessions", LIGHT)
def event_sessions(call: Call) -> Answer:
    for webinar in call.account.webinars.values():
        if webinar.data["zoom_events"] and call.args[0] in (event_id(webinar), str(webinar.id)):
            end = webinar.scheduled_end()
            session = {
                "session_id": derive_id("session", webinar.id),
                "name": webinar.data["topic"],
                "start_time": webinar.data["start_time"],
                "end_time": format_time(end),
                "timezone": webinar.data["timezone"],
                "type": 2,  # 2 = webinar
                "webinar_id": webinar.id,
                "meeting_id": None,
            }
            return 200, {"total_records": 1, "sessions": [session]}
    raise ZoomError(404, 404, "Event not found.")
