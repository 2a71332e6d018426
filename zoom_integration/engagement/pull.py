"""Pulling engagement within the sync of one webinar (rules E6, E7), under the run's row and the
account's rate limiter (`zoom_integration.sync.pipeline.WebinarSync`).

- Polls, Q&A and survey, per occurrence, once the instance has ended and while its report may
  still change (the participants' settling window); an occurrence whose reports were read after
  that window is final and costs no call. Polls come from `/past_webinars/{uuid}/polls`
  (Medium); Q&A and survey only the Heavy `/report/webinars/{uuid}/qa|survey` give (Q&A with
  its status and answers). A report whose digest did not change writes nothing.
- Recording viewers, for webinars whose recordings sync (S2, S4), from each recording's
  `analytics_details` in windows of at most a month: the first time back to the recording (at
  most `ZOOM_RECORDING_VIEWS_BACKFILL_DAYS`), then from a few days before the last read.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from itertools import islice
from typing import IO, TYPE_CHECKING

import ijson
import orjson
from django.conf import settings
from django.db import transaction

from marketing_events.models import EventOccurrence, MarketingEvent, Participation
from marketing_events.selectors import crm_snapshot

from ..client import ZoomNotFound, ZoomTransientError, encode_uuid
from ..models import ZoomRecording
from ..sync.retry import call_zoom
from .kinds import REPORT_POLLS, REPORT_QA, REPORT_SURVEY, REPORT_VIEWS
from .models import EngagementReport
from .planner import (
    AnswerRecord,
    ReportDigest,
    answer_records,
    emails_of,
    is_anonymous,
    plan_answers,
    plan_views,
    report_rows_key,
    row_records,
    view_records,
)
from .services import (
    answers_chunk_apply,
    answers_clear,
    answers_report_record,
    event_engagement_recompute,
    report_unchanged,
    retrying,
    views_apply,
    views_window_record,
)

if TYPE_CHECKING:
    from ..sync.pipeline import WebinarSync

# (report, path template, rate-limit label)
REPORTS = (
    (REPORT_POLLS, "/past_webinars/{}/polls", "medium"),
    (REPORT_QA, "/report/webinars/{}/qa", "heavy"),
    (REPORT_SURVEY, "/report/webinars/{}/survey", "heavy"),
)
COUNT_OF_REPORT = {
    REPORT_POLLS: "poll_answers",
    REPORT_QA: "questions",
    REPORT_SURVEY: "survey_answers",
}
VIEWS_WINDOW_DAYS = 30  # Zoom: "Maximum duration: 1 month"
VIEWS_OVERLAP_DAYS = 3  # late analytics rows of the days already read
SETTLING = dt.timedelta(days=2)  # as the participants' report (sync.pipeline.REPORT_SETTLING)
# Answers planned and written at a time: a report is read as a stream, so the worker's memory
# holds one part of it whatever the webinar's size.
REPORT_PART = 2000
# A report body up to this size is parsed whole (orjson, several times faster than a parse row
# by row); a larger one row by row, twice (its digest, then the write), never held whole.
REPORT_WHOLE_BYTES = 512 * 1024


@dataclass
class ReadReport:
    """A report read once, to know whether anything changed: its digest, records and
    anonymous rows, and its records for the write. A body up to `REPORT_WHOLE_BYTES` was
    parsed whole (`records_kept`); a larger one stays spooled (`ZoomClient.get_spooled`) and
    is parsed again, row by row, for the write."""

    report: str
    digest: str
    records: int
    anonymous_rows: int
    records_kept: list[AnswerRecord] | None = None
    body: IO[bytes] | None = None

    def records_iter(self) -> Iterator[AnswerRecord]:
        if self.body is None:
            return iter(self.records_kept or ())
        self.body.seek(0)
        return _streamed_records(self.report, self.body)

    def close(self) -> None:
        if self.body is not None:
            self.body.close()


def _parts(records: Iterator[AnswerRecord], size: int) -> Iterator[list[AnswerRecord]]:
    while part := list(islice(records, size)):
        yield part


def _streamed_records(report: str, body: IO[bytes]) -> Iterator[AnswerRecord]:
    """The report's records, its rows parsed one at a time (Zoom's body is one JSON object
    whose rows are in one array): a row is a person's answers."""
    key = report_rows_key(report)
    if key is None or not body.read(1):  # no body (204): no records, as an empty report
        return
    body.seek(0)
    try:
        for row in ijson.items(body, f"{key}.item", use_float=True):
            yield from row_records(report, row)
    except ijson.JSONError as exc:
        raise ZoomTransientError(f"Zoom's {report} report is not JSON: {exc}")


def _records(report: str, body: IO[bytes]) -> tuple[Iterator[AnswerRecord], bool]:
    """(the records of a spooled report body, whether the body must stay open to give them):
    a small body is parsed whole by orjson, several times faster than a row-by-row parse; a
    large one row by row, so the worker never holds a whole large report."""
    size = body.seek(0, io.SEEK_END)
    body.seek(0)
    if size > REPORT_WHOLE_BYTES:
        return _streamed_records(report, body), True
    raw = body.read()
    try:
        parsed = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        raise ZoomTransientError(f"Zoom's {report} report is not JSON: {exc}")
    return iter(answer_records(report, parsed if isinstance(parsed, dict) else None)), False


def _report_read(sync: WebinarSync, path: str, report: str) -> ReadReport:
    """The report read through once (retried with the call: a body cut off or not JSON is
    read again): its digest, records and anonymous rows (rule E6: a row is one person's set of
    answers, told apart by its moment, as `planner._anonymous_rows` counts them)."""
    body = sync.client.get_spooled(path)
    try:
        records, streamed = _records(report, body)
        total, count, anonymous = ReportDigest(), 0, set()
        kept: list[AnswerRecord] | None = None if streamed else []
        for record in records:
            total.add(record)
            count += 1
            if is_anonymous(record):
                anonymous.add((record.name, record.answered_at))
            if kept is not None:
                kept.append(record)
    except BaseException:
        body.close()
        raise
    if not streamed:
        body.close()
    return ReadReport(
        report,
        total.hexdigest(),
        count,
        len(anonymous),
        records_kept=kept,
        body=body if streamed else None,
    )


def _timeline_data(sync: WebinarSync, event: MarketingEvent) -> dict:
    return {
        "webinar_id": str(sync.webinar.zoom_webinar_id),
        "webinar_name": sync.webinar.topic,
        "event_id": event.pk,
    }


def _count(sync: WebinarSync, records: int, **counts: int) -> tuple:
    """Writes the row's counts, in the caller's transaction, under the worker's claim; returns
    what `_counted` keeps in memory once that transaction committed."""
    updated = sync.counts.copy()
    for key, value in counts.items():
        if value:  # a count that stays zero is not listed
            updated[key] += value
    if records:
        updated["zoom_records"] += records
    # Engagement records are known only once read: the progress total grows with them.
    sync.row.records_total += records
    sync.save_row(records=records, counts=updated)
    return updated, records


def _counted(sync: WebinarSync, written: tuple) -> None:
    updated, records = written
    sync.counts = updated
    sync.row.records_done += records
    sync.row.pages_done += 1 if records else 0  # as `save_row` wrote it


def _row_write(sync: WebinarSync, write):
    """One write of the row and its facts, retried whole after a deadlock (`retrying`); the
    in-memory row is put back as it was when a try fails, and moves on once one committed."""

    def attempt():
        total = sync.row.records_total
        try:
            result, written = write()
        except BaseException:
            sync.row.records_total = total
            raise
        _counted(sync, written)
        return result

    return retrying(attempt)


def engagement_reports_pull(sync: WebinarSync, event: MarketingEvent) -> bool:
    """Polls, Q&A and survey of each ended occurrence still settling; True when something
    was written."""
    now = sync.now
    occurrences = list(
        EventOccurrence.objects.filter(event=event, ends_at__isnull=False).order_by("starts_at")
    )
    final = {
        (r.occurrence_id, r.kind)
        for r in EngagementReport.objects.filter(occurrence__in=occurrences).select_related(
            "occurrence"
        )
        if r.occurrence.ends_at and r.pulled_at >= r.occurrence.ends_at + SETTLING
    }
    info = sync.webinar_info(event_id=event.pk)
    changed = False
    for occurrence in occurrences:
        for report, template, label in REPORTS:
            if (occurrence.pk, report) in final:
                continue
            path = template.format(encode_uuid(occurrence.external_id))
            try:
                read = call_zoom(
                    lambda path=path, report=report: _report_read(sync, path, report),
                    limiter=sync.limiter,
                    label=label,
                    what=report,
                    **sync.sleep_kw(),
                )
            except ZoomNotFound:
                continue  # 3001: no report for this instance (yet)
            with closing(read):
                if report_unchanged(occurrence, report, read.digest):
                    with transaction.atomic():
                        EngagementReport.objects.filter(occurrence=occurrence, kind=report).update(
                            pulled_at=now
                        )
                        written = _count(sync, read.records, engagement_reports_unchanged=1)
                    _counted(sync, written)
                    sync.heartbeat()
                    continue

                def write(occurrence=occurrence, report=report, read=read):
                    # One transaction: the report's answers are replaced all at once, part by
                    # part (a retry after a deadlock reads the spooled body again).
                    attached = unmatched = rows = 0
                    with transaction.atomic():
                        answers_clear(occurrence, report)
                        for part in _parts(read.records_iter(), REPORT_PART):
                            snapshot = crm_snapshot(emails_of(part))
                            participations = dict(
                                Participation.objects.filter(
                                    event=event,
                                    contact_id__in=[c.id for c in snapshot.contacts.values()],
                                ).values_list("contact_id", "pk")
                            )
                            plan = plan_answers(info, part, snapshot, sync.settings, participations)
                            attached += answers_chunk_apply(
                                occurrence=occurrence, report=report, plan=plan
                            )
                            sync.insert_skips(plan.skips)
                            unmatched += plan.unmatched
                            rows += len(plan.answers)
                        answers_report_record(
                            occurrence,
                            report,
                            read.digest,
                            rows=rows,
                            anonymous=read.anonymous_rows,
                            now=now,
                            complete=not unmatched,
                        )
                        written = _count(
                            sync,
                            read.records,
                            **{COUNT_OF_REPORT[report]: attached},
                            anonymous_answers=read.anonymous_rows,
                            engagement_unmatched=unmatched,
                        )
                    return attached, written

                _row_write(sync, write)
                changed = True
                sync.on_progress()
    return changed


def _windows(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    out = []
    while start <= end:
        stop = min(end, start + dt.timedelta(days=VIEWS_WINDOW_DAYS))
        out.append((start, stop))
        start = stop + dt.timedelta(days=1)
    return out


def recording_views_pull(sync: WebinarSync, event: MarketingEvent) -> bool:
    """Rule E7: each stored recording's viewers, window by window and page by page."""
    now = sync.now
    today = now.date()
    backfill = settings.ZOOM_RECORDING_VIEWS_BACKFILL_DAYS
    info = sync.webinar_info(event_id=event.pk)
    data = _timeline_data(sync, event)
    changed = False
    for recording in ZoomRecording.objects.filter(webinar=sync.webinar).order_by("pk"):
        occurrence = _occurrence_of(event, recording)
        stored = EngagementReport.objects.filter(occurrence=occurrence, kind=REPORT_VIEWS).first()
        start = max((recording.start_time or now).date(), today - dt.timedelta(days=backfill))
        if stored is not None and stored.read_until is not None:
            start = max(start, stored.read_until - dt.timedelta(days=VIEWS_OVERLAP_DAYS))
        path = f"/meetings/{encode_uuid(recording.instance_uuid)}/recordings/analytics_details"
        for date_from, date_to in _windows(start, today):
            token = ""
            while True:
                # Each page is one call, retried by itself (a generator would not survive it).
                query = {
                    "type": "by_view",
                    "from": date_from.isoformat(),
                    "to": date_to.isoformat(),
                    "page_size": 300,
                    "next_page_token": token or None,
                }
                try:
                    body = (
                        call_zoom(
                            lambda query=query, path=path: sync.client.get(path, **query),
                            limiter=sync.limiter,
                            label="medium",
                            what="recording views",
                            **sync.sleep_kw(),
                        )
                        or {}
                    )
                except ZoomNotFound:
                    break  # 3301: no recording (any more)
                records = view_records(body.get("analytics_details") or [])
                snapshot = crm_snapshot(emails_of(records))
                plan = plan_views(info, records, snapshot, sync.settings)

                def write(occurrence=occurrence, plan=plan, records=records):
                    with transaction.atomic():
                        added, created = views_apply(
                            occurrence=occurrence, plan=plan, timeline_data=data, now=now
                        )
                        sync.insert_skips(plan.skips)
                        written = _count(
                            sync, len(records), recording_views=added, contacts_created=created
                        )
                    return added, written

                added = _row_write(sync, write)
                changed = changed or bool(added)
                sync.on_progress()
                token = body.get("next_page_token") or ""
                if not token:
                    break
        views_window_record(occurrence, today, now)
    return changed


def _occurrence_of(event: MarketingEvent, recording: ZoomRecording) -> EventOccurrence:
    occurrence, _created = EventOccurrence.objects.get_or_create(
        event=event,
        external_id=recording.instance_uuid,
        defaults={"starts_at": recording.start_time},
    )
    return occurrence


def webinar_engagement_sync(
    sync: WebinarSync, event: MarketingEvent, *, reports: bool, views: bool
) -> None:
    """The engagement part of one webinar's sync, then its scores: recomputed from the stored
    facts every time (registrations and attendance change them too), only changed rows
    written."""
    if reports:
        engagement_reports_pull(sync, event)
    if views:
        recording_views_pull(sync, event)
    event_engagement_recompute(event.pk)
