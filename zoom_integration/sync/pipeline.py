"""Syncing one webinar of a run: fetch pages from Zoom → plan → apply, one transaction per page
and a constant number of queries per page.

What is pulled: registrants (while the webinar is upcoming, and once for a webinar first seen
after it ended), then each past instance's report participants (until the report settled),
then recordings per S2/S4. Zoom's pages are fetched ahead in background threads (`prefetch`,
HTTP only) while the pages already fetched are planned and applied; the registrants (medium)
and report (heavy) listings are fetched side by side.

Which webinar a worker syncs, and when a run ends, is decided by the run's rows
(zoom_integration/services/sync_webinars.py). Every page's transaction also writes the
webinar's row (its pages, records, counts and heartbeat) under the worker's claim: a worker
that lost its claim (its heartbeat lapsed and another took the webinar) has its page rolled
back, so what a row counts was applied exactly once."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db import connection as db
from django.utils import timezone

from marketing_events.bulk import on_postgresql, pg_fetch
from marketing_events.plan import Plan, Skip
from marketing_events.registration_details import sources_write
from marketing_events.rules import normalize
from marketing_events.selectors import crm_snapshot, registrant_emails
from marketing_events.services import event_recompute_counters, plan_apply, plan_contacts_ensure

from ..client import ZoomClient, ZoomNotFound, ZoomValidationError
from ..engagement.pull import webinar_engagement_sync
from ..legacy import contacts_recompute_legacy, legacy_affected
from ..models import SyncRunWebinar, SyncSkip, ZoomConnection, ZoomWebinar
from ..registration.sync import (
    answer_mappings,
    log_refusals,
    registration_form_store,
    tracking_source_names,
)
from ..services.recordings import recording_upsert
from .events import recordings_wanted, webinar_event_ensure
from .listings import NO_REPORT, listing_pages, participant_pages, registrant_pages
from .planner import SyncSettings, emails_of, plan_participants, plan_registrants, webinar_gate
from .prefetch import FetchThreads, InlinePages, PrefetchedPages
from .ratelimit import AccountRateLimiter, configured_limits
from .records import Instance, WebinarInfo
from .retry import call_zoom

logger = logging.getLogger(__name__)
# Reports can still change for a while after a webinar ends: pull them again until then.
REPORT_SETTLING = dt.timedelta(days=2)
# Pages a fetch thread may hold ahead of the pipeline.
PREFETCH_DEPTH = 6
# A page whose transaction lost a deadlock (or a serialization conflict) is applied again.
PAGE_ATTEMPTS = 4
# Deadlock, serialization failure; a foreign key violation means the page's snapshot of the
# CRM went stale (the page is planned again).
_FOREIGN_KEY_VIOLATION = "23503"
_RETRYABLE_SQLSTATES = {"40P01", "40001", _FOREIGN_KEY_VIOLATION}
# How often a worker waiting for Zoom (rate limiter, Retry-After) tells it is alive; the
# reclaim sweep takes a webinar whose heartbeat is older than `services.sync_webinars.STALE`.
HEARTBEAT_SECONDS = 5.0

_SAVE_ROW_SQL = (
    f"UPDATE {SyncRunWebinar._meta.db_table} SET pages_done = %(pages_done)s, "
    "records_done = %(records_done)s, records_total = %(records_total)s, "
    "counts = %(counts)s::jsonb, heartbeat_at = %(heartbeat_at)s "
    "WHERE id = %(id)s AND claimed_by = %(claim)s RETURNING id"
)


class ClaimLost(Exception):
    """The webinar's row is no longer this worker's: another one took it (this one was taken
    for dead). The page is rolled back and the webinar left to the other."""


@dataclass
class WebinarFetch:
    """The listings a webinar's sync reads this run, already under way."""

    registrants: PrefetchedPages | InlinePages | None = None
    participants: PrefetchedPages | InlinePages | None = None

    def close(self) -> None:
        for pages in (self.registrants, self.participants):
            if pages is not None:
                pages.close()


@contextmanager
def asynchronous_commits() -> Iterator[None]:
    """On PostgreSQL, the webinar's commits do not wait for their WAL flush (one statement per
    webinar, not per page). Safe: WAL is written in order, so a database crash can lose only the
    last commits, never one without those before it; the row's counts are committed with the
    pages they count, and a webinar whose row was not marked done is synced again (idempotent
    upserts). The row's final state and the run's end are committed afterwards, synchronously."""
    if not on_postgresql() or db.in_atomic_block:
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
            logger.warning("zoom.sync.synchronous_commit_not_reset")


def rate_limiter(connection: ZoomConnection) -> AccountRateLimiter:
    """The connection's Zoom account limiter, shared by every worker through the cache."""
    return AccountRateLimiter(
        connection.zoom_account_id or str(connection.pk),
        limits=configured_limits(connection.zoom_plan),
    )


class WebinarSync:
    """Syncs the webinar of one claimed row (`row`, held under `claim`)."""

    def __init__(
        self,
        row: SyncRunWebinar,
        connection: ZoomConnection,
        client: ZoomClient,
        *,
        claim: str,
        sleep: Callable[[float], None] | None = None,
        prefetch: bool = True,
        on_progress: Callable[[], None] | None = None,
    ):
        self.row = row
        self.webinar: ZoomWebinar = row.webinar
        self.connection = connection
        self.client = client
        self.claim = claim
        self.limiter = rate_limiter(connection)
        self.sleep = sleep
        self.pages = PrefetchedPages if prefetch else InlinePages
        self.on_progress = on_progress or (lambda: None)
        self.settings = SyncSettings(
            webinar_exclusion_domains=tuple(connection.webinar_exclusion_domains),
            contact_exclusion_domains=tuple(connection.contact_exclusion_domains),
        )
        # A reclaimed webinar is synced again from its first page: it counts from zero, except
        # the contacts its earlier attempt created (they exist now, and are not created again).
        self.counts: Counter = Counter(
            {k: v for k, v in (row.counts or {}).items() if k == "contacts_created"}
        )
        self.now = timezone.now()
        self._beat_at = time.monotonic()
        # Whether Zoom's registrant list named anyone's tracking source (rule E4).
        self.sources_listed = False

    # -- the webinar -------------------------------------------------------------------------

    def execute(self) -> str:
        """Syncs the webinar; returns "done", or "skipped" when a rule gates it (S3, S6, Z1).
        Zoom's errors are raised (the caller records them on the row)."""
        webinar = self.webinar
        reason = webinar_gate(self.webinar_info(), self.settings)
        if reason is not None:
            # Once per webinar per run (decisions on details).
            skip = Skip(reason=reason, name=webinar.topic, webinar_id=str(webinar.zoom_webinar_id))
            with transaction.atomic():
                self.insert_skips([skip])
                self.counts["webinars_skipped"] += 1
                self.save_row(records=0)
            return "skipped"
        threads = FetchThreads(workers=2, base_url=self.client.base_url)
        fetch = None
        try:
            with asynchronous_commits():
                fetch = self._start_fetch(threads)
                self._sync(fetch)
        finally:
            if fetch is not None:
                fetch.close()
            threads.shutdown()
        return "done"

    def _start_fetch(self, threads: FetchThreads) -> WebinarFetch:
        webinar, fetch = self.webinar, WebinarFetch()
        ended = webinar.has_ended
        # Once its start has passed a webinar may have been held (early, or a recurring one
        # with occurrences still to come, B3): its report is asked for; 3001 = not yet.
        held = ended or (webinar.start_time is not None and webinar.start_time < self.now)
        wid, kw = webinar.zoom_webinar_id, self.sleep_kw()
        if not ended or webinar.registrants_synced_at is None:
            fetch.registrants = self._fetch(
                registrant_pages(wid, limiter=self.limiter, **kw), f"registrants {wid}", threads
            )
        if held and self._participants_due():
            fetch.participants = self._fetch(
                participant_pages(wid, limiter=self.limiter, **kw), f"participants {wid}", threads
            )
        return fetch

    def _fetch(self, produce, name: str, threads: FetchThreads):
        return self.pages(
            produce,
            client=self.client,
            depth=PREFETCH_DEPTH,
            name=name,
            threads=threads,
            idle=self.heartbeat,
        )

    def _sync(self, fetch: WebinarFetch) -> None:
        webinar = self.webinar
        event = webinar_event_ensure(self.connection, webinar)
        info = self.webinar_info(event_id=event.pk)
        refused: dict[str, str] = {}
        if fetch.registrants is not None:
            self._sync_registration_form()
            refused = self._sync_registrants(info, fetch.registrants)
            self._sync_registrant_sources(info)
            ZoomWebinar.objects.filter(pk=webinar.pk).update(registrants_synced_at=self.now)
        reported = False
        if fetch.participants is not None:
            if self._sync_participants(info, refused, fetch.participants):
                ZoomWebinar.objects.filter(pk=webinar.pk).update(participants_synced_at=self.now)
                reported = True
            if recordings_wanted(self.connection, webinar):
                self._sync_recordings(event)
        # Rules E6-E8: polls, Q&A, surveys, recording viewers and the scores.
        webinar_engagement_sync(
            self,
            event,
            reports=reported,
            views=recordings_wanted(self.connection, webinar),
        )
        event_recompute_counters([event.pk])  # rule M3
        with transaction.atomic():
            self.counts["webinars_synced"] += 1
            self.save_row(records=0)

    def webinar_info(self, event_id: int = 0) -> WebinarInfo:
        """The webinar as the pure rules read it (`event_id`: its marketing event, if known)."""
        webinar = self.webinar
        return WebinarInfo(
            zoom_webinar_id=webinar.zoom_webinar_id,
            topic=webinar.topic,
            host_email=webinar.host_email,
            is_zoom_events=webinar.is_zoom_events,
            sync_enabled=webinar.sync_enabled,
            event_id=event_id,
            join_url=webinar.join_url,
        )

    def sleep_kw(self) -> dict:
        """The keyword that hands this sync's `sleep` (tests' fake clock) to the client."""
        return {"sleep": self.sleep} if self.sleep else {}

    def _participants_due(self) -> bool:
        webinar = self.webinar
        if webinar.participants_synced_at is None:
            return True
        return webinar.end_time is None or (
            webinar.participants_synced_at < webinar.end_time + REPORT_SETTLING
        )

    # -- listings ----------------------------------------------------------------------------

    def _sync_registrants(self, info: WebinarInfo, pages) -> dict[str, str]:
        """Applies the registrant pages; returns {registrant id: e-mail} of the registrants the
        rules refused (rule B1 finds the others through their participations, which hold their
        ids; these have none, and a guest of theirs is refused for the same reason)."""
        refused: dict[str, str] = {}
        first = True
        # Rules E2, E4: read once per webinar, not per page.
        mappings = answer_mappings(self.webinar)
        sources = tracking_source_names(self.webinar)
        for page in pages:
            if first:
                self.row.records_total += page.total_records
                first = False
            records = page.records
            self.sources_listed = self.sources_listed or any(r.source_id for r in records)

            def plan_page(records=records):
                snapshot = crm_snapshot(emails_of(records))
                plan = plan_registrants(
                    info, records, snapshot, self.settings, sources=sources, mappings=mappings
                )
                skipped = {skip.email for skip in plan.skips}
                refused.update(
                    (r.id, r.email) for r in records if r.id and normalize(r.email) in skipped
                )
                return plan

            self._apply(plan_page, records=len(records), kind="registrations")
        return refused

    def _sync_registrant_sources(self, info: WebinarInfo) -> None:
        """Rule E4 where the registrant list named no one's source, as Zoom's own API lists
        them (only its `tracking_source_id` filter tells who came through a source): each of
        the webinar's tracking sources, its registrants' participations get it; one medium
        call per 300 of them, each page counted and applied in a transaction of its own (other
        details kept, so a re-sync rewrites nothing)."""
        if self.sources_listed:
            return
        path = f"/webinars/{self.webinar.zoom_webinar_id}/registrants"
        for source_id, name in tracking_source_names(self.webinar).items():
            first = True
            for body in listing_pages(
                self.client,
                path,
                limiter=self.limiter,
                label="medium",
                sleep_kw=self.sleep_kw(),
                tracking_source_id=source_id,
            ):
                registrants = body.get("registrants") or []
                if first:
                    self.row.records_total += int(body.get("total_records") or 0)
                    first = False
                ids = [str(r.get("id") or "") for r in registrants if isinstance(r, dict)]
                with transaction.atomic():
                    found = sources_write(info.event_id, ids, source_id, name, self.now)
                    counts = self.counts.copy()
                    counts["zoom_records"] += len(registrants)
                    if found:
                        counts["registration_sources"] += found
                    self.save_row(records=len(registrants), counts=counts)
                self.counts = counts
                self.row.pages_done += 1 if registrants else 0
                self.row.records_done += len(registrants)
                self.on_progress()

    def _sync_participants(self, info: WebinarInfo, refused: dict[str, str], pages) -> bool:
        """Applies each past instance's report pages; False when Zoom has no report yet.

        Rule B1: a guest whose address Zoom hides is matched through their registrant id, the
        page's ids looked up in the event's participations (one query a page: the worker holds
        no map of the webinar's registrants); this run's refused registrants (`refused`) are
        not among those and keep their reason."""
        instance, first = None, True
        for item in pages:
            if item is NO_REPORT:
                return False
            if isinstance(item, Instance):
                instance, first = item, True
                continue
            if first:
                self.row.records_total += item.total_records
                first = False
            records = item.records

            def plan_page(records=records, instance=instance):
                hidden = {
                    p.registrant_id for p in records if p.registrant_id and not normalize(p.email)
                }
                emails = registrant_emails(info.event_id, hidden - refused.keys())
                emails.update((i, refused[i]) for i in hidden if i in refused)
                snapshot = crm_snapshot(emails_of(records, emails))
                return plan_participants(info, instance, records, snapshot, self.settings, emails)

            self._apply(plan_page, records=len(records), kind="attendance_rows")
        return True

    def _sync_registration_form(self) -> None:
        """The webinar's questions and tracking sources, stored for pages, pickers and the
        registrants' source names (rules E1, E2, E4)."""
        webinar_id = self.webinar.zoom_webinar_id
        try:
            questions = call_zoom(
                lambda: self.client.registration_questions(webinar_id),
                limiter=self.limiter,
                label="light",
                what="questions",
                **self.sleep_kw(),
            )
            sources = call_zoom(
                lambda: self.client.tracking_sources(webinar_id),
                limiter=self.limiter,
                label="medium",
                what="tracking_sources",
                **self.sleep_kw(),
            )
        except (ZoomNotFound, ZoomValidationError):
            return  # no registration on this webinar (Zoom's 3000), or gone
        registration_form_store(self.webinar, questions or {}, sources or [])

    def _sync_recordings(self, event) -> None:
        webinar = self.webinar
        instances = call_zoom(
            lambda: self.client.past_instances(webinar.zoom_webinar_id),
            limiter=self.limiter,
            label="light",
            what="instances",
            **self.sleep_kw(),
        )
        for item in instances:
            uuid = item.get("uuid")
            try:
                body = call_zoom(
                    lambda u=uuid: self.client.meeting_recordings(u),
                    limiter=self.limiter,
                    label="light",
                    what="recordings",
                    **self.sleep_kw(),
                )
            except ZoomNotFound:
                continue  # 3301: no recording for this instance
            if recording_upsert(webinar=webinar, instance_uuid=uuid, body=body, event=event):
                self.counts["recordings"] += 1
            self.heartbeat()

    # -- pages -------------------------------------------------------------------------------

    def _apply(self, plan_page: Callable[[], Plan], *, records: int, kind: str) -> None:
        """Plans a page (`plan_page`: a snapshot of the CRM, then the planner) and applies it in
        one transaction with the row's counts; a page that lost a deadlock is applied again,
        one whose snapshot went stale (a contact it names was deleted meanwhile: a foreign key
        fails) is planned again first."""
        plan = plan_page()
        for attempt in range(1, PAGE_ATTEMPTS + 1):
            try:
                # New contacts are committed at once, so that other workers, whose pages name
                # the same people, wait for that insert and not for this page.
                contacts = plan_contacts_ensure(plan)
                with transaction.atomic():
                    self.insert_skips(plan.skips)
                    result = plan_apply(
                        plan,
                        recompute_counters=False,  # once per webinar, at its end
                        contacts=contacts,
                    )
                    if legacy_affected(plan):
                        contacts_recompute_legacy(result.contact_ids)  # rules P1-P5
                    counts = self.counts.copy()
                    counts[kind] += len(plan.registrations) + len(plan.sessions)
                    counts["zoom_records"] += records
                    counts["contacts_created"] += result.contacts_created
                    if plan.property_refusals:  # rule E2: answers a property does not take
                        counts["answers_refused"] += len(plan.property_refusals)
                        log_refusals(plan.property_refusals, self.webinar)
                    self.save_row(records=records, counts=counts)
                self.counts = counts
                self.row.pages_done += 1
                self.row.records_done += records
                break
            except (OperationalError, IntegrityError) as exc:
                sqlstate = getattr(exc.__cause__, "sqlstate", None)
                if attempt == PAGE_ATTEMPTS or sqlstate not in _RETRYABLE_SQLSTATES:
                    raise
                logger.info(
                    "zoom.sync.page_retried",
                    extra={
                        "run": self.row.run_id,
                        "webinar": self.webinar.zoom_webinar_id,
                        "sqlstate": sqlstate,
                    },
                )
                if sqlstate == _FOREIGN_KEY_VIOLATION:
                    plan = plan_page()
                else:
                    time.sleep(0.01 * attempt)
        self.on_progress()

    def insert_skips(self, skips: list[Skip]) -> None:
        """Records skips on the run (rule Z9); one already recorded is left as it is."""
        if not skips:
            return
        SyncSkip.objects.bulk_create(
            [
                SyncSkip(
                    run_id=self.row.run_id,
                    reason=str(s.reason),
                    email=s.email,
                    name=s.name[:300],
                    webinar_id=s.webinar_id,
                )
                for s in skips
            ],
            ignore_conflicts=True,
        )

    def save_row(self, *, records: int, counts: Counter | None = None) -> None:
        """The row's pages, records, counts and heartbeat, in the page's transaction and only
        while this worker holds the claim (else `ClaimLost` rolls the page back)."""
        row = self.row
        counts = self.counts if counts is None else counts
        values = {
            "pages_done": row.pages_done + (1 if records else 0),
            "records_done": row.records_done + records,
            "records_total": row.records_total,
            "counts": dict(counts),
            "heartbeat_at": timezone.now(),
        }
        if on_postgresql():
            # Once per page: one prepared statement, where the ORM's update compiled and
            # quoted it anew each time (a third of a millisecond of the worker's CPU a page).
            params = {**values, "counts": orjson.dumps(values["counts"]).decode()}
            saved = bool(pg_fetch(_SAVE_ROW_SQL, {**params, "id": row.pk, "claim": self.claim}))
        else:
            saved = SyncRunWebinar.objects.filter(pk=row.pk, claimed_by=self.claim).update(**values)
        if not saved:
            raise ClaimLost(row.pk)
        self._beat_at = time.monotonic()

    def heartbeat(self) -> None:
        """While waiting for Zoom: tells the run this worker is alive (every few seconds)."""
        if time.monotonic() - self._beat_at < HEARTBEAT_SECONDS:
            return
        self._beat_at = time.monotonic()
        saved = SyncRunWebinar.objects.filter(pk=self.row.pk, claimed_by=self.claim).update(
            heartbeat_at=timezone.now()
        )
        if not saved:
            raise ClaimLost(self.row.pk)


__all__ = ["ClaimLost", "WebinarSync", "rate_limiter"]
