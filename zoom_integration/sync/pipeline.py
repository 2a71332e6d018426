"""The pull sync of one connection: for each webinar, registrants (while upcoming, and once
for webinars first seen after they ended), then each past instance's report participants, then
recordings per S2/S4. One transaction per page; a constant number of queries per page.

Zoom's pages are fetched ahead in background threads (`prefetch`, HTTP only) while the pages
already fetched are planned and applied; the registrants (medium) and report (heavy) listings
of the webinars being applied and of the next one are fetched side by side, so each rate-limit
label's budget is used while the others wait.

On PostgreSQL, webinars are applied by `ZOOM_SYNC_APPLY_THREADS` apply threads at once, each
with its own database connection, so the database works on one webinar's page while Python
plans another's. Pages of different webinars touch different participations, sessions and
timeline keys; what they share is handled so that no order of commits changes the outcome:
new contacts are inserted in e-mail order (a concurrent insert of the same address waits, then
reads the winner's id), legacy properties lock their contacts first (`legacy`), and a page that
loses a deadlock anyway is applied again. The run's progress is saved after the commits it
counts, never inside a page's transaction. Inside a caller's transaction (tests) or on another
database the webinars are applied one by one in the run's thread, by the same code."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connections, transaction
from django.db import connection as db
from django.db.models import Count
from django.utils import timezone

from crm.models import TimelineEvent
from marketing_events.bulk import on_postgresql
from marketing_events.models import Participation
from marketing_events.plan import Plan, Skip
from marketing_events.selectors import crm_snapshot
from marketing_events.services import (
    event_recompute_counters,
    plan_apply,
    plan_contacts_ensure,
)

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
# A page whose transaction lost a deadlock (or a serialization conflict) is applied again.
PAGE_ATTEMPTS = 4
# Deadlock, serialization failure; a foreign key violation means the page's snapshot of the
# CRM went stale (the page is planned again).
_FOREIGN_KEY_VIOLATION = "23503"
_RETRYABLE_SQLSTATES = {"40P01", "40001", _FOREIGN_KEY_VIOLATION}


class _Stopped(Exception):
    """Ends an apply thread early because another one failed (that failure is raised)."""


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
        # Guards the run's counters and row between apply threads.
        self._lock = threading.RLock()
        self._stop = threading.Event()

    # -- the run ---------------------------------------------------------------------------

    def execute(self) -> None:
        webinars = list(
            ZoomWebinar.objects.filter(connection=self.connection)
            .select_related("host", "event")
            .order_by("start_time", "id")
        )
        self._done = set(self.run.done_webinars or [])
        self.run.progress_total = max(self.run.progress_total, len(webinars))
        self._save_progress()
        self._todo = deque(w for w in webinars if w.zoom_webinar_id not in self._done)
        self._fetches: dict[int, WebinarFetch | None] = {}
        workers = self.apply_threads()
        # Two listings per webinar (registrants, report participants): those being applied
        # and the next ones.
        self.threads = FetchThreads(
            workers=2 * (workers + LOOKAHEAD_WEBINARS), base_url=self.client.base_url
        )
        try:
            if workers == 1:
                self._apply_webinars()
            else:
                with ThreadPoolExecutor(workers, thread_name_prefix="zoom-apply") as pool:
                    futures = [pool.submit(self._apply_thread) for _ in range(workers)]
                failures = [f.exception() for f in futures if f.exception() is not None]
                failures = [e for e in failures if not isinstance(e, _Stopped)]
                if failures:
                    raise failures[0]
            with self._lock:
                self._save_progress(done_webinars=True)  # what the last pages counted
        finally:
            with self._lock:
                for fetch in self._fetches.values():
                    if fetch is not None:
                        fetch.close()
                self._fetches.clear()
            self.threads.shutdown()
            self.threads = None

    def apply_threads(self) -> int:
        """How many webinars are applied at once: `ZOOM_SYNC_APPLY_THREADS` on PostgreSQL when
        fetching ahead; one, in this thread, inside a caller's transaction (other connections
        would not see it) or on another database."""
        wanted = max(1, int(getattr(settings, "ZOOM_SYNC_APPLY_THREADS", 1)))
        if wanted == 1 or not on_postgresql() or db.in_atomic_block or self.pages is InlinePages:
            return 1
        return wanted

    def _apply_thread(self) -> None:
        """An apply thread: its own database connection, closed when it ends."""
        try:
            self._apply_webinars()
        except BaseException:
            self._stop.set()  # the others stop at their next page
            raise
        finally:
            connections.close_all()  # this thread's connections only

    def _apply_webinars(self) -> None:
        with _asynchronous_commits():
            while (item := self._next_webinar()) is not None:
                webinar, fetch = item
                self.sync_webinar(webinar, fetch)
                with self._lock:
                    self._done.add(webinar.zoom_webinar_id)
                    self.run.done_webinars = sorted(self._done)
                    self._save_progress(done_webinars=True)

    def _next_webinar(self) -> tuple[ZoomWebinar, WebinarFetch | None] | None:
        """The next webinar to apply, its listings already under way, and the listings of the
        ones after it started."""
        with self._lock:
            if self._stop.is_set() or not self._todo:
                return None
            webinar = self._todo.popleft()
            for ahead in [webinar, *list(self._todo)[:LOOKAHEAD_WEBINARS]]:
                if ahead.pk not in self._fetches:
                    self._fetches[ahead.pk] = self._start_fetch(ahead)
            return webinar, self._fetches.pop(webinar.pk)

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
            with self._lock:
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
        with self._lock:
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
                self._add_total(page.total_records)
                first = False
            records = page.records
            emails.update({r.id: r.email for r in records if r.id})

            def plan_page(records=records):
                snapshot = crm_snapshot(emails_of(records))
                return plan_registrants(info, records, snapshot, self.settings)

            self._apply(plan_page, webinar, records=len(records), kind="registrations")
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
                self._add_total(item.total_records)
                first = False
            records = item.records

            def plan_page(records=records, instance=instance):
                snapshot = crm_snapshot(emails_of(records, registrant_emails))
                return plan_participants(
                    info, instance, records, snapshot, self.settings, registrant_emails
                )

            self._apply(plan_page, webinar, records=len(records), kind="attendance_rows")
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
            with self._lock:
                self.counts["recordings"] += 1

    def _add_total(self, records: int) -> None:
        with self._lock:
            self.run.progress_total += records

    def _apply(
        self, plan_page: Callable[[], Plan], webinar: ZoomWebinar, *, records: int, kind: str
    ) -> None:
        """Plans a page (`plan_page`: a snapshot of the CRM, then the planner) and applies it in
        one transaction; then counts it. A page that lost a deadlock is applied again; one whose
        snapshot went stale (a contact it names was deleted meanwhile: a foreign key fails) is
        planned again first."""
        if self._stop.is_set():
            raise _Stopped
        plan = plan_page()
        for attempt in range(1, PAGE_ATTEMPTS + 1):
            try:
                # New contacts are committed at once, so that the other apply threads, whose
                # pages name the same people, wait for that insert and not for this page.
                contacts = plan_contacts_ensure(plan)
                with transaction.atomic():
                    result = plan_apply(
                        plan,
                        timeline_data={
                            "webinar_id": str(webinar.zoom_webinar_id),
                            "webinar_name": webinar.topic,
                        },
                        recompute_counters=False,  # once per webinar, at its end
                        contacts=contacts,
                    )
                    if legacy_affected(plan):
                        contacts_recompute_legacy(result["contact_ids"])  # rules P1-P5
                    self._insert_skips(plan.skips)
                break
            except (OperationalError, IntegrityError) as exc:
                sqlstate = getattr(exc.__cause__, "sqlstate", None)
                if attempt == PAGE_ATTEMPTS or sqlstate not in _RETRYABLE_SQLSTATES:
                    raise
                logger.info(
                    "zoom.sync.page_retried",
                    extra={
                        "run": self.run.pk,
                        "webinar": webinar.zoom_webinar_id,
                        "sqlstate": sqlstate,
                    },
                )
                if sqlstate == _FOREIGN_KEY_VIOLATION:
                    plan = plan_page()
                else:
                    time.sleep(0.01 * attempt)
        with self._lock:  # after the commit: the run's row only ever counts committed pages
            self._skip_reasons_to_count.update(str(s.reason) for s in plan.skips)
            self.counts[kind] += len(plan.registrations) + len(plan.sessions)
            self.counts["contacts_created"] += result["contacts_created"]
            self.run.progress_done += records
            if time.monotonic() - self._progress_saved_at >= PROGRESS_INTERVAL:
                self._save_progress()
                self._progress_saved_at = time.monotonic()

    def _record_skips(self, skips: list[Skip]) -> None:
        self._insert_skips(skips)
        with self._lock:
            self._skip_reasons_to_count.update(str(s.reason) for s in skips)

    def _insert_skips(self, skips: list[Skip]) -> None:
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

    def _save_progress(self, *, done_webinars: bool = False) -> None:
        """Under `_lock`, outside any page's transaction."""
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
