"""The pure core of the engagement pull (rules E6, E7): Zoom's report bodies → records → a plan
of answers and views attached to participations, anonymous rows counted, skips by reason.
No I/O: the person rules are `marketing_events.rules.resolve_person`, as for participants."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import orjson

from marketing_events.plan import NewContact, Skip
from marketing_events.rules import CrmSnapshot, normalize, resolve_person

from ..sync.planner import SyncSettings
from ..sync.records import WebinarInfo, parse_time
from .kinds import POLL, QUESTION, REPORT_POLLS, REPORT_QA, REPORT_SURVEY, SURVEY

ANONYMOUS_NAME = "Anonymous Attendee"


@dataclass(frozen=True)
class AnswerRecord:
    """One poll or survey answer, or one question asked, as a report gave it."""

    kind: str
    email: str
    name: str
    question_id: str
    question: str
    answer: str
    status: str = ""
    answered_by: str = ""
    answered_at: dt.datetime | None = None


@dataclass(frozen=True)
class ViewRecord:
    email: str
    name: str
    viewed_at: dt.datetime
    seconds: int


# Polls and surveys have one shape under different names: where a report keeps its rows, each
# row its answers, and each answer its question's id.
_CHOICE_REPORTS = {
    REPORT_POLLS: (POLL, "questions", "question_details", "polling_id"),
    REPORT_SURVEY: (SURVEY, "survey_answers", "answer_details", "question_id"),
}


def report_rows_key(report: str) -> str | None:
    """Where a `polls`, `qa` or `survey` report body keeps its rows (one person's answers
    each); None for another report."""
    if report == REPORT_QA:
        return "questions"
    choice = _CHOICE_REPORTS.get(report)
    return choice[1] if choice else None


def answer_records(report: str, body: dict | None) -> list[AnswerRecord]:
    """Zoom's `polls`, `qa` or `survey` report body → records (its empty shape → none)."""
    key = report_rows_key(report)
    rows = (body or {}).get(key) or [] if key else []
    return [record for row in rows for record in row_records(report, row)]


def row_records(report: str, row: dict) -> list[AnswerRecord]:
    """One row of a `polls`, `qa` or `survey` report (a person's answers) → records; the
    report can be read row by row (`engagement.pull` streams it)."""
    if not isinstance(row, dict):
        return []
    if report == REPORT_QA:
        return _question_records(row)
    kind, _rows_key, details_key, id_key = _CHOICE_REPORTS[report]
    return [
        AnswerRecord(
            kind=kind,
            email=row.get("email") or "",
            name=row.get("name") or "",
            question_id=str(item.get(id_key) or ""),
            question=item.get("question") or "",
            answer=item.get("answer") or "",
            answered_at=parse_time(item.get("date_time")),
        )
        for item in row.get(details_key) or []
    ]


def _question_records(row: dict) -> list[AnswerRecord]:
    records = []
    for item in row.get("question_details") or []:
        answers = item.get("answer_details") or []
        records.append(
            AnswerRecord(
                kind=QUESTION,
                email=row.get("email") or "",
                name=row.get("name") or "",
                question_id=str(item.get("question_id") or ""),
                question=item.get("question") or "",
                answer="\n".join(a.get("content") or "" for a in answers)
                or (item.get("answer") or ""),
                status=item.get("question_status") or "",
                answered_by=(answers[0].get("name") or "") if answers else "",
                answered_at=parse_time(item.get("create_time")),
            )
        )
    return records


def view_records(rows: Iterable[dict]) -> list[ViewRecord]:
    out = []
    for row in rows:
        when = parse_time(row.get("date_time"))
        if when is None:
            continue
        out.append(
            ViewRecord(
                email=row.get("email") or "",
                name=row.get("name") or "",
                viewed_at=when,
                seconds=max(0, int(row.get("duration") or 0)),
            )
        )
    return out


class ReportDigest:
    """What a report says, independent of row order, taken record by record (a report is read
    as a stream): the sum of the records' SHA-256 modulo 2**256, a multiset hash (the same
    records in any order give the same digest, a record twice counts twice). Equal digests →
    nothing to write."""

    def __init__(self) -> None:
        self._sum = 0

    def add(self, r: AnswerRecord) -> None:
        item = (
            r.kind,
            normalize(r.email),
            r.name,
            r.question_id,
            r.question,
            r.answer,
            r.status,
            r.answered_by,
            r.answered_at.isoformat() if r.answered_at else "",
        )
        value = int.from_bytes(hashlib.sha256(orjson.dumps(item)).digest(), "big")
        self._sum = (self._sum + value) % (1 << 256)

    def hexdigest(self) -> str:
        return f"{self._sum:064x}"


def digest(records: Iterable[AnswerRecord]) -> str:
    total = ReportDigest()
    for record in records:
        total.add(record)
    return total.hexdigest()


def is_anonymous(record: AnswerRecord | ViewRecord) -> bool:
    """Rule E6: a row without an e-mail is an anonymous answer, as Zoom reports them."""
    return not normalize(record.email)


@dataclass(frozen=True)
class AnswerFact:
    record: AnswerRecord
    participation_id: int | None  # None: anonymous
    contact_id: int | None


@dataclass
class AnswerPlan:
    answers: list[AnswerFact] = field(default_factory=list)
    anonymous_rows: int = 0  # people (rows of the report) answering anonymously
    skips: list[Skip] = field(default_factory=list)
    # Answers of people with no participation in the event (or not in the CRM): not attached.
    unmatched: int = 0


def _skip(reason, email, name, webinar: WebinarInfo) -> Skip:
    return Skip(
        reason=reason,
        email=normalize(email),
        name=name.strip(),
        webinar_id=str(webinar.zoom_webinar_id),
    )


def _dedupe(skips: Iterable[Skip]) -> list[Skip]:
    seen, out = set(), []
    for skip in skips:  # rule Z9: one per (reason, person, webinar)
        key = (skip.reason, skip.email or skip.name, skip.webinar_id)
        if key not in seen:
            seen.add(key)
            out.append(skip)
    return out


def _people(records, snapshot: CrmSnapshot, settings: SyncSettings, webinar: WebinarInfo):
    """Each record with its person as the rules resolve them (Z2-Z8; None for an anonymous
    record, rule E6), and the skips (Z9, deduplicated) of the people the rules refuse: those
    records are left out."""
    people, skips = [], []
    for record in records:
        if is_anonymous(record):
            people.append((record, None))
            continue
        resolution = resolve_person(
            record.email, snapshot, contact_exclusion_domains=settings.contact_exclusion_domains
        )
        if resolution.skip is not None:
            skips.append(_skip(resolution.skip, record.email, record.name, webinar))
        else:
            people.append((record, resolution))
    return people, _dedupe(skips)


def plan_answers(
    webinar: WebinarInfo,
    records: Iterable[AnswerRecord],
    snapshot: CrmSnapshot,
    settings: SyncSettings,
    participations: Mapping[int, int],
) -> AnswerPlan:
    """`participations`: the event's participation id by contact id, for the snapshot's
    contacts. Anonymous answers are kept (for the event's results) and attached to no one;
    people the person rules refuse are skips (Z2-Z9), never answers."""
    records = list(records)
    plan = AnswerPlan()
    people, plan.skips = _people(records, snapshot, settings, webinar)
    for record, resolution in people:
        if resolution is None:
            plan.answers.append(AnswerFact(record, None, None))
            continue
        contact = resolution.contact
        participation_id = participations.get(contact.id) if contact is not None else None
        if participation_id is None:
            plan.unmatched += 1
            continue
        plan.answers.append(AnswerFact(record, participation_id, contact.id))
    plan.anonymous_rows = _anonymous_rows(records)
    return plan


def _anonymous_rows(records: Iterable[AnswerRecord]) -> int:
    """Anonymous rows of the report: a row is one person's set of answers, so rows are told
    apart by the moment they answered (Zoom gives no other key for them)."""
    return len({(r.name, r.answered_at) for r in records if is_anonymous(r)})


@dataclass
class ViewPlan:
    views: list[tuple[str, ViewRecord]] = field(default_factory=list)  # (e-mail, view)
    new_contacts: list[NewContact] = field(default_factory=list)
    contact_ids: dict[str, int] = field(default_factory=dict)
    skips: list[Skip] = field(default_factory=list)
    anonymous: int = 0


def plan_views(
    webinar: WebinarInfo,
    records: Iterable[ViewRecord],
    snapshot: CrmSnapshot,
    settings: SyncSettings,
) -> ViewPlan:
    """Rule E7: every viewer goes through the person rules; a viewer who may be created is, and
    one who never registered gets a state-less participation (the caller's write)."""
    plan = ViewPlan()
    new = {}
    people, plan.skips = _people(records, snapshot, settings, webinar)
    for record, resolution in people:
        if resolution is None:
            plan.anonymous += 1
            continue
        if resolution.contact is not None:
            plan.contact_ids[resolution.email] = resolution.contact.id
        elif resolution.email not in new:
            first, _space, last = record.name.strip().partition(" ")
            new[resolution.email] = NewContact(resolution.email, first, last)  # rule Z8
        plan.views.append((resolution.email, record))
    plan.new_contacts = list(new.values())
    return plan


def emails_of(records: Iterable[AnswerRecord | ViewRecord]) -> set[str]:
    return {n for n in (normalize(r.email) for r in records) if n}
