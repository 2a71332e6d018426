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
database the webinars are applied one by one in the run's thread, by the same code.

Python applies pages under one interpreter lock, so one process keeps at most one core busy
planning. With `ZOOM_SYNC_PROCESSES` above 1 (PostgreSQL, a cache shared by the workers for
the rate limiter, tasks not run inline) the run is shared with helper tasks, each in a worker
process of its own: every share claims webinars on the run's row (the largest first, by
`size_hint`), merges its progress and counts into the row under a row lock, and the main share
waits for the helpers' webinars before the run ends, taking back those of a helper gone silent.

Near a run's end webinars run out before apply threads do: a thread without a webinar joins a
listing another thread of its process is applying (`streams`)."""

from __future__ import annotations

import datetime as dt
import gc
import logging
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.core.cache import caches
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
from ..models import SyncRun, SyncSkip, SyncStatus, ZoomConnection, ZoomRecording, ZoomWebinar
from .events import recordings_wanted, webinar_event_ensure
from .listings import NO_REPORT, participant_pages, registrant_pages
from .planner import SyncSettings, emails_of, plan_participants, plan_registrants, webinar_gate
from .prefetch import FetchThreads, InlinePages, PrefetchedPages
from .ratelimit import AccountRateLimiter, configured_limits
from .records import Instance, WebinarInfo, parse_time
from .retry import call_zoom
from .streams import END, PageStream, StreamFailed

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


# A run shared between worker processes (`ZOOM_SYNC_PROCESSES`): the process that runs it is
# the main share; helpers are queued as tasks and claim webinars from the other end of the
# list. A helper silent for this long (no progress saved) is taken for dead: the main share
# applies the webinars it had claimed and not finished.
MAIN_SHARE = "main"
SHARE_STALE_SECONDS = 180.0
# How often the main share looks whether the helpers are done, once it has nothing left.
SHARE_POLL_SECONDS = 0.2


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


# The garbage collector's thresholds during a run: a page allocates tens of thousands of
# short-lived records, plans and rows, none in reference cycles, and the default first
# threshold (700 allocations) had the collector walk the young objects some hundred times per
# page (about a tenth of the run's Python time). The old generations are still collected.
RUN_GC_THRESHOLDS = (50_000, 20, 20)
_gc_runs = 0
_gc_lock = threading.Lock()
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """`RUN_GC_THRESHOLDS` while at least one run of this process executes (process-wide: the
    thresholds in force before the first run are restored after the last one)."""
    global _gc_runs, _gc_saved
    with _gc_lock:
        if _gc_runs == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(*RUN_GC_THRESHOLDS)
        _gc_runs += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_runs -= 1
            if _gc_runs == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)


class Pipeline:
    def __init__(
        self,
        run: SyncRun,
        connection: ZoomConnection,
        client: ZoomClient,
        *,
        sleep: Callable[[float], None] | None = None,
        prefetch: bool = True,
        share: str = MAIN_SHARE,
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
        self.share = share
        self.shared = False  # the run is shared with other processes (merge, claim)
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
        # The listings being applied, by webinar, that idle apply threads may join (`streams`),
        # and how many threads own a webinar; guarded by the condition.
        self._streams: dict[int, PageStream] = {}
        self._owners = 0
        self._streams_changed = threading.Condition()

    # -- the run ---------------------------------------------------------------------------

    def execute(self) -> None:
        """The run's main share: every webinar not done yet, some maybe by helpers."""
        with _fewer_collections():
            self._execute()

    def help(self) -> None:
        """A helper's share of a run under way: webinars claimed in the list's order,
        until none is left; those claimed and not finished are handed back at the end."""
        self.shared = True
        with _fewer_collections():
            try:
                self._execute()
            finally:
                self._release()

    def _execute(self) -> None:
        webinars = list(
            ZoomWebinar.objects.filter(connection=self.connection)
            .select_related("host", "event")
            .order_by("-size_hint", "start_time", "id")  # the largest first (`size_hint`)
        )
        self._webinars = {w.zoom_webinar_id: w for w in webinars}
        self._done = set(self.run.done_webinars or [])
        # What this process merges into the run's row (shared runs): its own work since these.
        self._saved = (self.run.progress_done, self.run.progress_total, Counter(self.counts))
        todo = [w for w in webinars if w.zoom_webinar_id not in self._done]
        helpers = []
        if self.share == MAIN_SHARE:
            self.run.progress_total = max(self.run.progress_total, len(webinars))
            helpers = [uuid.uuid4().hex[:12] for _ in range(self.helpers_wanted(len(todo)))]
            # A resumed run whose helpers may still be at work stays shared, so that what they
            # hold is not applied twice at once.
            held = any(
                owner != MAIN_SHARE and int(wid) not in self._done
                for wid, owner in (self.run.claims or {}).items()
            )
            if helpers or held:
                self.shared = True
                self._reclaim_own()
        self._save_progress()
        self._todo = deque() if self.shared else deque(todo)
        for share in helpers:
            self._enqueue_helper(share)
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
            if self.shared and self.share == MAIN_SHARE:
                self._await_helpers()
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

    def helpers_wanted(self, webinars: int) -> int:
        """Helper processes to share the run with: `ZOOM_SYNC_PROCESSES` - 1 (at most one per
        webinar after the first) when the run can be shared: on PostgreSQL, outside a caller's
        transaction, fetching ahead, with tasks going to workers (not run inline) and a cache
        that every worker sees (Redis), so the per-account rate limiter stays one."""
        wanted = max(1, int(getattr(settings, "ZOOM_SYNC_PROCESSES", 1)))
        if wanted == 1 or webinars < 2:
            return 0
        if not on_postgresql() or db.in_atomic_block or self.pages is InlinePages:
            return 0
        if current_app.conf.task_always_eager or not _cache_is_shared():
            return 0
        return min(wanted - 1, webinars - 1)

    def _enqueue_helper(self, share: str) -> None:
        from ..tasks import run_sync_share

        run_sync_share.delay(self.run.pk, share)

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
                try:
                    self.sync_webinar(webinar, fetch)
                finally:
                    with self._streams_changed:
                        self._owners -= 1
                        self._streams_changed.notify_all()
                with self._lock:
                    self._done.add(webinar.zoom_webinar_id)
                    self.run.done_webinars = sorted(self._done)
                    self._save_progress(done_webinars=True)
            self._join_streams()

    def _join_streams(self) -> None:
        """No webinar left for this thread: it applies pages of the listings other threads of
        this process are applying (`streams`), until they own no webinar any more."""
        while not self._stop.is_set():
            with self._streams_changed:
                stream = next((s for s in self._streams.values() if not s.ended), None)
                if stream is None:
                    if not self._owners:
                        return
                    self._streams_changed.wait(0.05)
                    continue
            stream.run()

    def _run_stream(self, webinar: ZoomWebinar, items, prepare, apply) -> None:
        """Applies a listing of this webinar (see `streams`), open to idle apply threads."""
        stream = PageStream(items, prepare=prepare, apply=apply)
        with self._streams_changed:
            self._streams[webinar.pk] = stream
            self._streams_changed.notify_all()
        try:
            stream.run()
        finally:
            with self._streams_changed:
                self._streams.pop(webinar.pk, None)
        try:
            stream.wait_applied()
        except StreamFailed:
            raise _Stopped from None  # the thread that failed raises the error itself

    def _next_webinar(self) -> tuple[ZoomWebinar, WebinarFetch | None] | None:
        """The next webinar to apply, its listings already under way, and the listings of the
        ones after it started."""
        with self._lock:
            if self.shared and not self._stop.is_set():
                wanted = 1 + LOOKAHEAD_WEBINARS - len(self._todo)
                if wanted > 0:
                    self._todo.extend(self._claim(wanted))
            if self._stop.is_set() or not self._todo:
                return None
            webinar = self._todo.popleft()
            with self._streams_changed:
                self._owners += 1  # until `_apply_webinars` is done with it
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

    # -- sharing the run between processes --------------------------------------------------

    def _locked_run(self) -> SyncRun:
        return SyncRun.objects.select_for_update().get(pk=self.run.pk)

    def _claim(self, wanted: int) -> list[ZoomWebinar]:
        """Claims up to `wanted` webinars nobody applies, on the run's row (under `_lock`):
        free ones, and those of a helper gone silent. Stops this share if the run ended."""
        with transaction.atomic():
            row = self._locked_run()
            if row.status != SyncStatus.RUNNING:
                self._stop.set()
                return []
            done = self._done | set(row.done_webinars or [])
            now = time.time()
            free = [
                wid
                for wid in self._webinars
                if wid not in done and self._claimable(row, row.claims.get(str(wid)), now)
            ]
            taken = free[:wanted]  # in list order, the largest first, whichever the share
            for wid in taken:
                row.claims[str(wid)] = self.share
            if self.share != MAIN_SHARE:
                row.shares[self.share] = now
            if taken or self.share != MAIN_SHARE:
                row.save(update_fields=["claims", "shares"])
        return [self._webinars[wid] for wid in taken]

    def _claimable(self, row: SyncRun, owner: str | None, now: float) -> bool:
        if owner is None:
            return True
        if owner in (self.share, MAIN_SHARE):
            return False  # ours already, or the main share's (its run is resumed if it dies)
        beat = row.shares.get(owner)
        return beat is None or now - beat > SHARE_STALE_SECONDS

    def _reclaim_own(self) -> None:
        """A resumed run's main share: the webinars the dead one had claimed are free again
        (those of helpers still at work stay theirs)."""
        with transaction.atomic():
            row = self._locked_run()
            self._drop_claims(row, MAIN_SHARE)
            row.save(update_fields=["claims"])

    @staticmethod
    def _drop_claims(row: SyncRun, share: str) -> None:
        """Frees the webinars `share` claimed and did not finish, on the locked run row."""
        done = set(row.done_webinars or [])
        row.claims = {
            wid: owner for wid, owner in row.claims.items() if owner != share or int(wid) in done
        }

    def _await_helpers(self) -> None:
        """The main share, nothing left to claim: waits until the helpers' webinars are done,
        applying those of a helper gone silent (and any handed back) itself."""
        beat_at = time.monotonic()
        while not self._stop.is_set():
            row = SyncRun.objects.only("status", "claims", "shares", "done_webinars").get(
                pk=self.run.pk
            )
            if row.status != SyncStatus.RUNNING:
                return
            done = self._done | set(row.done_webinars or [])
            pending = [(wid, owner) for wid, owner in row.claims.items() if int(wid) not in done]
            left = [wid for wid in self._webinars if wid not in done and str(wid) not in row.claims]
            if not pending and not left:
                return
            now = time.time()
            if left or any(self._claimable(row, owner, now) for _, owner in pending):
                self._apply_webinars()
                continue
            if time.monotonic() - beat_at > 5:
                with self._lock:
                    self._save_progress()  # the run is alive: its heartbeat
                beat_at = time.monotonic()
            time.sleep(SHARE_POLL_SECONDS)

    def _release(self) -> None:
        """A helper's end: its claims not done are handed back, its share removed."""
        try:
            with transaction.atomic():
                row = self._locked_run()
                self._drop_claims(row, self.share)
                row.shares.pop(self.share, None)
                row.save(update_fields=["claims", "shares"])
        except DatabaseError:
            # The main share takes the claims back once this share is silent long enough.
            logger.warning("zoom.sync.share_not_released", extra={"run": self.run.pk})

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
        first = [True]

        def prepare(page):  # in listing order
            if first[0]:
                self._add_total(page.total_records)
                first[0] = False
            emails.update({r.id: r.email for r in page.records if r.id})
            return page.records

        def apply(records):
            def plan_page():
                snapshot = crm_snapshot(emails_of(records))
                return plan_registrants(info, records, snapshot, self.settings)

            self._apply(plan_page, webinar, records=len(records), kind="registrations")

        self._run_stream(webinar, pages, prepare, apply)
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
        state = {"instance": None, "first": True, "report": True}

        def prepare(item):  # in listing order: an instance's pages follow it
            if item is NO_REPORT:
                state["report"] = False
                return END
            if isinstance(item, Instance):
                state["instance"], state["first"] = item, True
                return None
            if state["first"]:
                self._add_total(item.total_records)
                state["first"] = False
            return state["instance"], item.records

        def apply(work):
            instance, records = work

            def plan_page():
                snapshot = crm_snapshot(emails_of(records, registrant_emails))
                return plan_participants(
                    info, instance, records, snapshot, self.settings, registrant_emails
                )

            self._apply(plan_page, webinar, records=len(records), kind="attendance_rows")

        self._run_stream(webinar, pages, prepare, apply)
        return state["report"]

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
            self.counts["zoom_records"] += records
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
        recounted = {}
        if self._skip_reasons_to_count:
            # Counted from the table, so a resumed run never counts a person twice (nor a
            # shared run a person two processes skipped).
            for reason, count in (
                SyncSkip.objects.filter(run=self.run, reason__in=self._skip_reasons_to_count)
                .values_list("reason")
                .annotate(n=Count("id"))
            ):
                self.skip_counts[reason] = recounted[reason] = count
            self._skip_reasons_to_count.clear()
        if self.shared:
            self._merge_progress(recounted, done_webinars=done_webinars)
            return
        self.run.counts = dict(self.counts)
        self.run.skips = dict(self.skip_counts)
        self.run.heartbeat_at = timezone.now()
        fields = ["progress_done", "progress_total", "counts", "skips", "heartbeat_at"]
        if done_webinars:
            fields.append("done_webinars")
        self.run.save(update_fields=fields)

    def _merge_progress(self, skips: dict[str, int], *, done_webinars: bool) -> None:
        """A shared run's save: this process's work since its last save is added to the row
        (the other shares add theirs), under the row's lock."""
        done, total, counts = self._saved
        with transaction.atomic():
            row = self._locked_run()
            row.progress_done += self.run.progress_done - done
            row.progress_total += self.run.progress_total - total
            merged = Counter(row.counts or {})
            for key, value in self.counts.items():
                if isinstance(value, int) and value != counts.get(key, 0):
                    merged[key] += value - counts.get(key, 0)
            row.counts = dict(merged)
            row.skips = {**(row.skips or {}), **skips}
            row.heartbeat_at = timezone.now()
            fields = ["progress_done", "progress_total", "counts", "skips", "heartbeat_at"]
            if done_webinars:
                row.done_webinars = sorted(set(row.done_webinars or []) | self._done)
                fields.append("done_webinars")
            if self.share != MAIN_SHARE:
                row.shares[self.share] = time.time()
                fields.append("shares")
            row.save(update_fields=fields)
        self._saved = (self.run.progress_done, self.run.progress_total, Counter(self.counts))
        if row.status != SyncStatus.RUNNING:
            self._stop.set()  # the run ended (failed, say): the other shares stop


def _cache_is_shared() -> bool:
    """Whether every worker process sees this cache (the rate limiter's counters)."""
    backend = type(caches["default"]).__module__
    return not backend.endswith(("locmem", "dummy"))


__all__ = ["MAIN_SHARE", "Pipeline"]
