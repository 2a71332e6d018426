"""Engagement reports: polls, Q&A and surveys per webinar instance, and recording viewers
(``reference/zoom-sandbox.md``; shapes as Zoom's OpenAPI documents them).

State: an instance may hold ``polls`` and ``qa`` (lists of per-person rows) and ``survey``
(``{"survey_id", "survey_name", "answers": [...]}``); a recording may hold ``views``. Rows whose
``email`` is empty are anonymous answers ("Anonymous Attendee"), as Zoom reports them. The keys
are optional: a scenario without them answers Zoom's empty shapes, and nothing is added to the
state on load (dump → load → dump stays byte-identical).

Labels: the ``/report/webinars/…`` reports are Heavy, the ``/past_webinars/…`` ones Medium (as
each operation's description says); ``analytics_details`` has no documented label: Medium.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from .api_reports import resolve_instance
from .errors import ZoomError, report_not_found
from .ratelimit import HEAVY, MEDIUM
from .routing import Answer, Call, route
from .timeutil import format_time, parse_date, parse_time, utc_date

ANONYMOUS = "Anonymous Attendee"
MAX_WINDOW_DAYS = 31  # "Maximum duration: 1 month." (spec)


def _instance(call: Call, *, report: bool) -> tuple[Any, dict[str, Any]]:
    found = resolve_instance(call, call.args[0])
    if found is None:
        if report:
            raise report_not_found(call.args[0])
        raise ZoomError(404, 3001, "Webinar does not exist.")
    return found


def _poll_rows(instance: dict[str, Any], *, report: bool) -> list[dict[str, Any]]:
    rows = []
    for row in instance.get("polls") or []:
        item: dict[str, Any] = {"email": row.get("email", ""), "name": row.get("name", "")}
        if report:
            first, _, last = item["name"].partition(" ")
            item["first_name"], item["last_name"] = first, last
        item["question_details"] = [
            {
                "answer": d.get("answer", ""),
                "date_time": d.get("date_time", ""),
                "polling_id": d.get("polling_id", ""),
                "question": d.get("question", ""),
            }
            for d in row.get("question_details", [])
        ]
        rows.append(item)
    return rows


@route("GET", "/report/webinars/{webinarId}/polls", HEAVY)
def report_polls(call: Call) -> Answer:
    webinar, instance = _instance(call, report=True)
    return 200, {
        "id": webinar.id,
        "uuid": instance["uuid"],
        "start_time": instance["start_time"],
        "questions": _poll_rows(instance, report=True),
    }


@route("GET", "/past_webinars/{webinarId}/polls", MEDIUM)
def past_polls(call: Call) -> Answer:
    webinar, instance = _instance(call, report=False)
    return 200, {
        "id": webinar.id,
        "uuid": instance["uuid"],
        "start_time": instance["start_time"],
        "questions": _poll_rows(instance, report=False),
    }


@route("GET", "/report/webinars/{webinarId}/qa", HEAVY)
def report_qa(call: Call) -> Answer:
    webinar, instance = _instance(call, report=True)
    rows = []
    for row in instance.get("qa") or []:
        rows.append(
            {
                "user_id": row.get("user_id", ""),
                "email": row.get("email", ""),
                "name": row.get("name", ""),
                "question_details": [
                    {
                        "question": d.get("question", ""),
                        "question_id": d.get("question_id", ""),
                        "create_time": d.get("create_time", ""),
                        "question_status": d.get("question_status", "default"),
                        "answer_details": [
                            {
                                "user_id": a.get("user_id", ""),
                                "name": a.get("name", ""),
                                "email": a.get("email", ""),
                                "content": a.get("content", ""),
                                "create_time": a.get("create_time", ""),
                                "type": a.get("type", "default"),
                            }
                            for a in d.get("answer_details", [])
                        ],
                    }
                    for d in row.get("question_details", [])
                ],
            }
        )
    return 200, {
        "id": webinar.id,
        "uuid": instance["uuid"],
        "start_time": instance["start_time"],
        "questions": rows,
    }


@route("GET", "/past_webinars/{webinarId}/qa", MEDIUM)
def past_qa(call: Call) -> Answer:
    webinar, instance = _instance(call, report=False)
    rows = [
        {
            "email": row.get("email", ""),
            "name": row.get("name", ""),
            "question_details": [
                {
                    "question": d.get("question", ""),
                    "answer": "; ".join(a.get("content", "") for a in d.get("answer_details", [])),
                }
                for d in row.get("question_details", [])
            ],
        }
        for row in instance.get("qa") or []
    ]
    return 200, {
        "id": webinar.id,
        "uuid": instance["uuid"],
        "start_time": instance["start_time"],
        "questions": rows,
    }


@route("GET", "/report/webinars/{webinarId}/survey", HEAVY)
def report_survey(call: Call) -> Answer:
    webinar, instance = _instance(call, report=True)
    survey = instance.get("survey") or {}
    answers = []
    for row in survey.get("answers", []):
        first, _, last = row.get("name", "").partition(" ")
        answers.append(
            {
                "email": row.get("email", ""),
                "name": row.get("name", ""),
                "first_name": first,
                "last_name": last,
                "answer_details": [
                    {
                        "question": d.get("question", ""),
                        "question_id": d.get("question_id", ""),
                        "answer": d.get("answer", ""),
                        "date_time": d.get("date_time", ""),
                    }
                    for d in row.get("answer_details", [])
                ],
            }
        )
    return 200, {
        "webinar_id": webinar.id,
        "webinar_uuid": instance["uuid"],
        "start_time": instance["start_time"],
        "survey_id": survey.get("survey_id", ""),
        "survey_name": survey.get("survey_name", ""),
        "survey_answers": answers,
    }


# -- recording viewers ---------------------------------------------------------------------
def _window(call: Call) -> tuple[date, date]:
    """``from``/``to`` (yyyy-mm-dd), at most one month apart; defaults: the last month."""
    try:
        end = parse_date(call.query["to"]) if call.query.get("to") else utc_date(call.now)
        start = (
            parse_date(call.query["from"])
            if call.query.get("from")
            else end - timedelta(days=MAX_WINDOW_DAYS - 1)
        )
    except ValueError as exc:
        raise ZoomError(400, 300, f"Invalid parameter: {exc}.") from exc
    if end < start or (end - start).days > MAX_WINDOW_DAYS:
        raise ZoomError(
            400,
            300,
            "The date range defined by the from and to parameters should only be one month.",
        )
    return start, end


@route("GET", "/meetings/{meetingId}/recordings/analytics_details", MEDIUM)
def analytics_details(call: Call) -> Answer:
    key = call.args[0]
    webinar = call.account.find_webinar(key)
    recordings = list(webinar.data["recordings"]) if webinar else []
    if not key.isdigit():
        recordings = [r for r in recordings if r["uuid"] == key]
    if not recordings:
        raise ZoomError(404, 3301, "There is no recording for this meeting.")
    recording = recordings[-1]  # a numeric id means the latest instance, as for /recordings
    start, end = _window(call)
    kind = call.query.get("type", "by_view")
    views = [
        v
        for v in recording.get("views") or []
        if kind == "by_view" and start <= utc_date(parse_time(v["date_time"])) <= end
    ]
    views.sort(key=lambda v: (v["date_time"], v.get("email", "")))
    page_key = ("analytics", call.account.id, recording["uuid"], start, end, kind)
    page = call.sandbox.page_tokens.page(call.query, page_key, len(views))
    rows = [
        {
            "date_time": v["date_time"],
            "name": v.get("name", ""),
            "email": v.get("email", ""),
            "duration": int(v.get("duration", 0)),
        }
        for v in views[page.offset : page.end]
    ]
    return 200, {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "next_page_token": page.next_token,
        "page_size": page.size,
        "total_records": page.total,
        "analytics_details": rows,
    }


# -- the generator's share -------------------------------------------------------------------
POLL_QUESTIONS = (
    ("When do you plan to buy?", ("This quarter", "Next quarter", "Just researching")),
    ("Which plan fits you?", ("Basic", "Pro", "Enterprise")),
)
QA_QUESTIONS = (
    "How much does the Pro plan cost?",
    "Is SSO included?",
    "Can we export the data?",
    "Is there a free trial?",
    "Do you integrate with our CRM?",
)
SURVEY_QUESTIONS = (
    ("sq1", "How useful was this webinar?", ("1", "2", "3", "4", "5")),
    ("sq2", "Would you recommend it?", ("Yes", "No")),
)


def add_engagement(scenario: dict[str, Any], seed: int, now: float) -> None:
    """Adds polls, Q&A, a survey and recording views to a share of the ended instances.

    Its own random stream (seeded from ``seed``), so the rest of the scenario is what it was
    without engagement data, byte for byte."""
    rng = random.Random(f"engagement:{seed}")
    for account in scenario["accounts"]:
        hosts = {u["id"]: u for u in account["users"]}
        people = [
            (r["email"].strip(), f"{r['first_name']} {r['last_name']}")
            for w in account["webinars"]
            for r in w["registrants"]
        ]
        for number, webinar in enumerate(account["webinars"]):
            if webinar.get("zoom_events") or number % 3 == 2:
                continue  # a share of the webinars has no engagement data at all
            host = hosts.get(webinar.get("host_id", ""), {})
            for k, instance in enumerate(webinar["instances"]):
                if instance.get("end_time") is None:
                    continue
                _fill_instance(rng, instance, host, f"{webinar['id']}-{k}")
            for recording in webinar["recordings"]:
                recording["views"] = _views(rng, webinar, recording, people, now)


def _attendees(instance: dict[str, Any]) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for p in instance["participants"]:
        if p.get("user_email"):
            seen.setdefault(p["user_email"], p["name"])
    return list(seen.items())


def _fill_instance(rng: random.Random, instance: dict[str, Any], host: Any, tag: str) -> None:
    start, end = parse_time(instance["start_time"]), parse_time(instance["end_time"])
    people = _attendees(instance)

    def moment() -> str:
        return format_time(rng.uniform(start, max(start, end - 60)))

    polls = []
    for email, name in people:
        if rng.random() < 0.5:
            polls.append(_poll_row(rng, email, name, moment(), tag))
    for _ in range(rng.randint(1, 2)):  # anonymous answers: counted, attached to no one
        polls.append(_poll_row(rng, "", ANONYMOUS, moment(), tag))
    qa = []
    for n, (email, name) in enumerate(people):
        if rng.random() < 0.12:
            qa.append(_qa_row(rng, email, name, moment(), host, f"{tag}-q{n}"))
    qa.append(_qa_row(rng, "", ANONYMOUS, moment(), host, f"{tag}-qa"))
    answers = []
    for email, name in people:
        if rng.random() < 0.3:
            answers.append(_survey_row(rng, email, name, format_time(end + 120)))
    answers.append(_survey_row(rng, "", ANONYMOUS, format_time(end + 180)))
    instance["polls"] = polls
    instance["qa"] = qa
    instance["survey"] = {"survey_id": f"s-{tag}", "survey_name": "Feedback", "answers": answers}


def _poll_row(rng: random.Random, email: str, name: str, when: str, tag: str) -> Any:
    details = []
    for n, (question, choices) in enumerate(POLL_QUESTIONS):
        if n == 0 or rng.random() < 0.6:
            details.append(
                {
                    "polling_id": f"p-{tag}-{n}",
                    "question": question,
                    "answer": rng.choice(choices),
                    "date_time": when,
                }
            )
    return {"email": email, "name": name, "question_details": details}


def _qa_row(rng: random.Random, email: str, name: str, when: str, host: Any, qid: str) -> Any:
    status = rng.choice(("answered", "answered", "open", "dismissed"))
    answer_details = []
    if status == "answered":
        answer_details.append(
            {
                "name": f"{host.get('first_name', '')} {host.get('last_name', '')}".strip(),
                "email": host.get("email", ""),
                "content": rng.choice(("Yes.", "Not yet, it is on the roadmap.", "See the FAQ.")),
                "create_time": format_time(parse_time(when) + 60),
                "type": "host_answered_publicly",
            }
        )
    detail = {
        "question_id": qid,
        "question": rng.choice(QA_QUESTIONS),
        "create_time": when,
        "question_status": status,
        "answer_details": answer_details,
    }
    return {"email": email, "name": name, "question_details": [detail]}


def _survey_row(rng: random.Random, email: str, name: str, when: str) -> Any:
    details = [
        {"question_id": qid, "question": question, "answer": rng.choice(choices), "date_time": when}
        for qid, question, choices in SURVEY_QUESTIONS
    ]
    return {"email": email, "name": name, "answer_details": details}


def _views(
    rng: random.Random,
    webinar: dict[str, Any],
    recording: dict[str, Any],
    people: list[tuple[str, str]],
    now: float,
) -> list[dict[str, Any]]:
    instance = next((i for i in webinar["instances"] if i["uuid"] == recording["uuid"]), None)
    if instance is None or instance.get("end_time") is None or not people:
        return []
    ended = parse_time(instance["end_time"])
    if ended >= now - 3600:
        return []
    length = 60 * int(webinar.get("duration", 60))
    views = []
    for email, name in rng.sample(people, min(len(people), rng.randint(2, 8))):
        for _ in range(rng.choice((1, 1, 2))):  # some watch the replay twice
            when = rng.uniform(ended + 3600, min(now - 60, ended + 20 * 86400))
            views.append(
                {
                    "email": email,
                    "name": name,
                    "date_time": format_time(when),
                    "duration": rng.randint(60, length),
                }
            )
    views.sort(key=lambda v: v["date_time"])
    return views
