"""The pull sync of one connection: for each webinar, registrants (while upcoming, and once
for webinars first seen after they ended), then each past instance's report participants, then
recordings per S2/S4. One transaction per page; a constant number of queries per page.

Zoom's pages are fetched ahead in background threads (`prefetch`, HTTP only) while the pages
already fetched are planned and applied here, in the run's thread; the registrants (medium)
and report (heavy) listings of a webinar and of the next one are fetched side by side, so each
rate-limit label's budget is used while the others wait."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DatabaseError, transaction
from django.db import connection as db
from django.db.models import Count
from django.utils import timezone

from crm.models import TimelineEvent
from marketing_events.bulk import on_postgresql
from marketing_events.models import Participation
from marketing_events.plan import Plan, Skip
from marketing_events.selectors import crm_snapshot
from marketing_events.services import event_recompute_counters, plan_apply

from ..client import ZoomClient, ZoomNotFound
from ..legacy import contacts_recompute_legacy, legacy_affected
from ..models import SyncRun, SyncSkip, ZoomConnection, ZoomRecording, ZoomWebinar
from .events import recordings_wanted, webinar_event_ensure
from .listings import NO_REPORT, participant_pages, registrant_pages
from .planner import SyncSettings, emails_of, plan_participants, plan_registrants, webinar_gate
from .prefetch import FetchThreads, InlinePages, PrefetchedPages
from .ratelimit import AccountRateLimiter, configured_limits
from .records import Instance, WebinarInfo, parse_time
from .retry import call_zoom

logger = logging.getLogger(__name__)
# Reports can still change for a while after a webinar ends: pull them again until then.
REPORT_SETTLING = dt.timedelta(days=2)
# Pages a fetch thread may hold ahead of the pipeline, and webinars whose listings are fetched
# while an earlier one is applied.
PREFETCH_DEPTH = 6
LOOKAHEAD_WEBINARS = 1
# Seconds between saves of the run's progress within a webinar (its end always saves it).
PROGRESS_INTERVAL = 0.5


@dataclass
class WebinarFetch:
    """What a webinar's sync pulls this run, decided from its cached row, and the listings
    already under way: registrants (while upcoming, or once if first seen ended), then the
    report participants of each past instance (once held, until its report settled)."""

    registrants: PrefetchedPages | InlinePages | None = None
    participants: PrefetchedPages | InlinePages | None = None

    def close(self) -> None:
        for pages in (self.registrants, self.participants):
            if pages is not None:
                pages.close()


@contextmanager
def _asynchronous_commits() -> Iterator[None]:
    """On PostgreSQL, the run's commits do not wait for their WAL flush (one statement per run,
    not per page). Safe: WAL is written in order, so a database crash can lose only the last
    commits, never one without those before it. The run's progress and "done" marks are
    committed after the pages they count, so what survives is consistent, and a resumed run
    pulls the lost pages again (idempotent upserts) and converges. What a page queues on commit
    (workflow sweeps) only re-reads the CRM, and is queued again when the page is re-applied.
    The run's final status is committed afterwards, synchronously."""
    if not on_postgresql():
        yield
        return
    with db.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        try:
            with db.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")
        except DatabaseError:
            # Either the connection broke (Django discards it) or the caller's transaction
            # failed, which undoes the SET as well.
            logger.warning("zoom.sync.synchronous_commit_not_reset")


class Pipeline:
    def __init__(
        self,
        run: SyncRun,
        connection: ZoomConnection,
        client: ZoomClient,
        *,
        sleep: Callable[[float], None] | None = None,
        prefetch: bool = True,
    ):
        self.run = run
        self.connection = connection
        self.client = client
        self.limiter = AccountRateLimiter(
            connection.zoom_account_id or str(connection.pk),
            limits=configured_limits(connection.zoom_plan),
        )
        self.sleep = sleep
        self.pages = PrefetchedPages if prefetch else InlinePages
        self.threads: FetchThreads | None = None  # during `execute`
        self.settings = SyncSettings(
            webinar_exclusion_domains=tuple(connection.webinar_exclusion_domains),
            contact_exclusion_domains=tuple(connection.contact_exclusion_domains),
        )
        self.counts: Counter = Counter(run.counts or {})
        self.skip_counts: Counter = Counter(run.skips or {})
        self.now = timezone.now()
        self._progress_saved_at = float("-inf")  # by a page
        self._skip_reasons_to_count: set[str] = set()

    # -- the run ---------------------------------------------------------------------------

    def execute(self) -> None:
        webinars = list(
            ZoomWebinar.objects.filter(connection=self.connection)
            .select_related("host", "event")
            .order_by("start_time", "id")
        )
        done = set(self.run.done_webinars or [])
        self.run.progress_total = max(self.run.progress_total, len(webinars))
        self._save_progress()
        todo = [w for w in webinars if w.zoom_webinar_id not in done]
        fetches: dict[int, WebinarFetch | None] = {}
        # Two listings per webinar (registrants, report participants), this one and the next.
        self.threads = FetchThreads(workers=2 * (1 + LOOKAHEAD_WEBINARS))
        try:
            with _asynchronous_commits():
                for index, webinar in enumerate(todo):
                    for ahead in todo[index : index + 1 + LOOKAHEAD_WEBINARS]:
                        if ahead.pk not in fetches:
                            fetches[ahead.pk] = self._start_fetch(ahead)
                    self.sync_webinar(webinar, fetches.pop(webinar.pk))
                    done.add(webinar.zoom_webinar_id)
                    self.run.done_webinars = sorted(done)
                    self._save_progress(done_webinars=True)
        finally:
            for fetch in fetches.values():
                if fetch is not None:
                    fetch.close()
            self.threads.shutdown()
            self.threads = None

    def _start_fetch(self, webinar: ZoomWebinar) -> WebinarFetch | None:
        """Starts fetching what this webinar's sync will read (None: the webinar is gated)."""
        if webinar_gate(self._info(webinar), self.settings) is not None:
            return None
        fetch = WebinarFetch()
        ended = webinar.has_ended
        # Once its start has passed a webinar may have been held (early, or a recurring one
        # with occurrences still to come, B3): its report is asked for; 3001 = not yet.
        held = ended or (webinar.start_time is not None and webinar.start_time < self.now)
        if not ended or webinar.registrants_synced_at is None:
            fetch.registrants = self._fetch(
                self._registrant_pages(webinar), f"registrants {webinar.zoom_webinar_id}"
            )
        if held and self._participants_due(webinar):
            fetch.participants = self._fetch(
                self._participant_pages(webinar), f"participants {webinar.zoom_webinar_id}"
            )
        return fetch

    def _fetch(self, produce, name: str):
        return self.pages(
            produce, client=self.client, depth=PREFETCH_DEPTH, name=name, threads=self.threads
        )

    def sync_webinar(self, webinar: ZoomWebinar, fetch: WebinarFetch | None = None) -> None:
        if fetch is None:
            fetch = self._start_fetch(webinar)
        try:
            self._sync_webinar(webinar, fetch)
        finally:
            if fetch is not None:
                fetch.close()

    def _sync_webinar(self, webinar: ZoomWebinar, fetch: WebinarFetch | None) -> None:
        info = self._info(webinar)
        reason = webinar_gate(info, self.settings)
        if reason is not None or fetch is None:  # no fetch exactly when gated
            # Once per webinar per run (decisions on details).
            self._record_skips(
                [Skip(reason=reason, name=webinar.topic, webinar_id=str(webinar.zoom_webinar_id))]
            )
            self.counts["webinars_skipped"] += 1
            self.run.progress_done += 1
            return
        event = self._ensure_event(webinar)
        info = self._info(webinar, event_id=event.pk)
        registrant_emails: dict[str, str] = {}
        if fetch.registrants is not None:
            registrant_emails = self._sync_registrants(webinar, info, fetch.registrants)
            ZoomWebinar.objects.filter(pk=webinar.pk).update(registrants_synced_at=self.now)
        if fetch.participants is not None:
            if self._sync_participants(webinar, info, registrant_emails, fetch.participants):
                ZoomWebinar.objects.filter(pk=webinar.pk).update(participants_synced_at=self.now)
            if self._recordings_wanted(webinar):
                self._sync_recordings(webinar, event)
        event_recompute_counters([event.pk])  # rule M3
        self.counts["webinars_synced"] += 1
        self.run.progress_done += 1

    # -- pieces ----------------------------------------------------------------------------

    def _info(self, webinar: ZoomWebinar, event_id: int = 0) -> WebinarInfo:
        return WebinarInfo(
            zoom_webinar_id=webinar.zoom_webinar_id,
            topic=webinar.topic,
            host_email=webinar.host_email,
            is_zoom_events=webinar.is_zoom_events,
            sync_enabled=webinar.sync_enabled,
            event_id=event_id,
            join_url=webinar.join_url,
        )

    def _ensure_event(self, webinar: ZoomWebinar):
        return webinar_event_ensure(self.connection, webinar)

    def _sleep_kw(self) -> dict:
        return {"sleep": self.sleep} if self.sleep else {}

    def _registrant_pages(self, webinar: ZoomWebinar):
        return registrant_pages(webinar.zoom_webinar_id, limiter=self.limiter, **self._sleep_kw())

    def _participant_pages(self, webinar: ZoomWebinar):
        return participant_pages(webinar.zoom_webinar_id, limiter=self.limiter, **self._sleep_kw())

    # -- applying (the run's thread: the database) ------------------------------------------

    def _sync_registrants(self, webinar: ZoomWebinar, info: WebinarInfo, pages) -> dict[str, str]:
        emails: dict[str, str] = {}
        first = True
        for page in pages:
            if first:
                self.run.progress_total += page.total_records
                first = False
            records = page.records
            emails.update({r.id: r.email for r in records if r.id})
            snapshot = crm_snapshot(emails_of(records))
            self._apply(
                plan_registrants(info, records, snapshot, self.settings),
                webinar,
                records=len(records),
                kind="registrations",
            )
        return emails

    def _participants_due(self, webinar: ZoomWebinar) -> bool:
        if webinar.participants_synced_at is None:
            return True
        return webinar.end_time is None or (
            webinar.participants_synced_at < webinar.end_time + REPORT_SETTLING
        )

    def _sync_participants(self, webinar, info, registrant_emails, pages) -> bool:
        # Guests without e-mail are matched through registrations seen before (rule B1).
        known = dict(
            Participation.objects.filter(event_id=info.event_id)
            .exclude(external_registrant_id="")
            .values_list("external_registrant_id", "contact__email")
        )
        registrant_emails = {**known, **registrant_emails}
        instance = None
        first = True
        for item in pages:
            if item is NO_REPORT:
                return False
            if isinstance(item, Instance):
                instance, first = item, True
                continue
            if first:
                self.run.progress_total += item.total_records
                first = False
            records = item.records
            snapshot = crm_snapshot(emails_of(records, registrant_emails))
            plan = plan_participants(
                info, instance, records, snapshot, self.settings, registrant_emails
            )
            self._apply(plan, webinar, records=len(records), kind="attendance_rows")
        return True

    def _recordings_wanted(self, webinar: ZoomWebinar) -> bool:
        return recordings_wanted(self.connection, webinar)

    def _sync_recordings(self, webinar: ZoomWebinar, event) -> None:
        instances = call_zoom(
            lambda: self.client.past_instances(webinar.zoom_webinar_id),
            limiter=self.limiter,
            label="light",
            what="instances",
            **self._sleep_kw(),
        )
        for item in instances:
            uuid = item.get("uuid")
            try:
                body = call_zoom(
                    lambda u=uuid: self.client.meeting_recordings(u),
                    limiter=self.limiter,
                    label="light",
                    what="recordings",
                    **self._sleep_kw(),
                )
            except ZoomNotFound:
                continue  # 3301: no recording for this instance
            files = body.get("recording_files") or []
            if not files:
                continue
            url = body.get("share_url") or next(
                (f.get("play_url") for f in files if f.get("play_url")), ""
            )
            with transaction.atomic():
                recording, _ = ZoomRecording.objects.update_or_create(
                    webinar=webinar,
                    instance_uuid=uuid,
                    defaults={
                        "topic": body.get("topic") or webinar.topic,
                        "start_time": parse_time(body.get("start_time")),
                        "share_url": url,
                        "files": [
                            {"file_type": f.get("file_type"), "id": f.get("id")} for f in files
                        ],
                        "has_transcript": any(f.get("file_type") == "TRANSCRIPT" for f in files),
                        "synced_at": self.now,
                    },
                )
                contact_ids = Participation.objects.filter(event=event).values_list(
                    "contact_id", flat=True
                )
                TimelineEvent.objects.bulk_create(
                    [
                        TimelineEvent(
                            contact_id=cid,
                            kind="zoom_recording_available",
                            occurred_at=recording.start_time or self.now,
                            data={
                                "webinar_id": str(webinar.zoom_webinar_id),
                                "webinar_name": webinar.topic,
                                "recording_url": url,
                                "event_id": event.pk,
                            },
                            dedupe_key=f"zoom_recording:{recording.pk}:{cid}",
                        )
                        for cid in contact_ids
                    ],
                    update_conflicts=True,
                    unique_fields=["dedupe_key"],
                    update_fields=["data", "occurred_at"],
                )
            self.counts["recordings"] += 1

    def _apply(self, plan: Plan, webinar: ZoomWebinar, *, records: int, kind: str) -> None:
        with transaction.atomic():
            result = plan_apply(
                plan,
                timeline_data={
                    "webinar_id": str(webinar.zoom_webinar_id),
                    "webinar_name": webinar.topic,
                },
                recompute_counters=False,  # once per webinar, at its end
            )
            if legacy_affected(plan):
                contacts_recompute_legacy(result["contact_ids"])  # rules P1-P5
            self._record_skips(plan.skips)
            self.counts[kind] += len(plan.registrations) + len(plan.sessions)
            self.counts["contacts_created"] += result["contacts_created"]
            self.run.progress_done += records
            if time.monotonic() - self._progress_saved_at >= PROGRESS_INTERVAL:
                self._save_progress()  # in the page's transaction, with what it counted
                self._progress_saved_at = time.monotonic()

    def _record_skips(self, skips: list[Skip]) -> None:
        if not skips:
            return
        SyncSkip.objects.bulk_create(
            [
                SyncSkip(
                    run=self.run,
                    reason=str(s.reason),
                    email=s.email,
                    name=s.name[:300],
                    webinar_id=s.webinar_id,
                )
                for s in skips
            ],
            ignore_conflicts=True,
        )
        self._skip_reasons_to_count.update(str(s.reason) for s in skips)

    def _save_progress(self, *, done_webinars: bool = False) -> None:
        if self._skip_reasons_to_count:
            # Counted from the table, so a resumed run never counts a person twice.
            for reason, count in (
                SyncSkip.objects.filter(run=self.run, reason__in=self._skip_reasons_to_count)
                .values_list("reason")
                .annotate(n=Count("id"))
            ):
                self.skip_counts[reason] = count
            self._skip_reasons_to_count.clear()
        self.run.counts = dict(self.counts)
        self.run.skips = dict(self.skip_counts)
        self.run.heartbeat_at = timezone.now()
        fields = ["progress_done", "progress_total", "counts", "skips", "heartbeat_at"]
        if done_webinars:
            fields.append("done_webinars")
        self.run.save(update_fields=fields)


__all__ = ["Pipeline"]
