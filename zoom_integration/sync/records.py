"""Zoom payloads → frozen dataclasses the planner works on (zoom-api.md §3)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.dateparse import parse_datetime


def parse_time(value) -> dt.datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class WebinarInfo:
    """What the planner must know of a webinar and its settings."""

    zoom_webinar_id: int
    topic: str
    host_email: str = ""
    is_zoom_events: bool = False
    sync_enabled: bool = True
    event_id: int = 0
    join_url: str = ""


@dataclass(frozen=True)
class Registrant:
    id: str
    email: str
    first_name: str
    last_name: str
    status: str
    create_time: dt.datetime | None
    join_url: str = ""
    # Rule E1: (question, value) pairs; rule E4: the tracking source.
    answers: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    source_id: str = ""
    source_name: str = ""

    @classmethod
    def from_zoom(cls, payload: dict) -> Registrant:
        source = payload.get("tracking_source")
        source = source if isinstance(source, dict) else {}
        return cls(
            id=str(payload.get("id") or payload.get("registrant_id") or ""),
            email=payload.get("email") or "",
            first_name=payload.get("first_name") or "",
            last_name=payload.get("last_name") or "",
            status=payload.get("status") or "approved",
            create_time=parse_time(payload.get("create_time")),
            join_url=payload.get("join_url") or "",
            answers=registrant_answers(payload),
            source_id=str(payload.get("source_id") or source.get("id") or ""),
            source_name=str(source.get("source_name") or ""),
        )


# Zoom's standard registration fields that are answers (rule E1); the name and e-mail are the
# contact's own fields.
ANSWER_FIELDS = (
    "address",
    "city",
    "state",
    "zip",
    "country",
    "phone",
    "industry",
    "org",
    "job_title",
    "purchasing_time_frame",
    "role_in_purchase_process",
    "no_of_employees",
    "comments",
)


Answer = str | tuple[str, ...]


def _answer(value) -> Answer | None:
    """A scalar as its trimmed text; a list (a multi-choice answer, rule E1) as the tuple of
    its non-empty items; None when nothing was answered."""
    if type(value) is str:
        return value.strip() or None
    if isinstance(value, list | tuple):
        items = tuple(
            str(v).strip() for v in value if isinstance(v, str | int | float) and str(v).strip()
        )
        return items or None
    if isinstance(value, str | int | float) and str(value).strip():
        return str(value).strip()
    return None


def registrant_answers(payload: dict) -> tuple[tuple[str, Answer], ...]:
    """The non-empty standard fields, then the custom questions by title (rule E1). Zoom
    sends a multi-choice answer as one string (`registration.mappings.choice_answers` splits
    it by the webinar's form); a list, if one comes, is kept as a list. Strings, nearly every
    answer, take a path of their own (a first sync reads every registrant's fields: 6 µs a
    registrant of the benchmark's against 2 µs this way, 2026-12-06)."""
    answers: dict[str, Answer] = {}
    get = payload.get
    for name in ANSWER_FIELDS:
        value = get(name)
        if value is None:
            continue
        if type(value) is str:
            text = value.strip()
            if text:
                answers[name] = text
        elif isinstance(value, int | float) and str(value).strip():
            answers[name] = str(value).strip()
    for item in get("custom_questions") or ():
        if not isinstance(item, dict):
            continue
        title, value = str(item.get("title") or "").strip(), _answer(item.get("value"))
        if title and value is not None:
            answers[title] = value
    return tuple(answers.items())


@dataclass(frozen=True)
class Participant:
    """One join of one instance (Zoom reports one row per join)."""

    participant_id: str
    registrant_id: str
    name: str
    email: str
    join_time: dt.datetime
    leave_time: dt.datetime | None

    @classmethod
    def from_zoom(cls, payload: dict) -> Participant | None:
        join = parse_time(payload.get("join_time"))
        if join is None:
            return None
        return cls(
            participant_id=str(
                payload.get("participant_user_id")
                or payload.get("user_id")
                or payload.get("id")
                or ""
            ),
            registrant_id=str(payload.get("registrant_id") or ""),
            name=payload.get("name") or "",
            email=payload.get("user_email") or payload.get("email") or "",
            join_time=join,
            leave_time=parse_time(payload.get("leave_time")),
        )


@dataclass(frozen=True)
class Instance:
    uuid: str
    start_time: dt.datetime | None
    end_time: dt.datetime | None
