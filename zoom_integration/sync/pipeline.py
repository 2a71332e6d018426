"""The pull sync of one connection: for each webinar, registrants (while upcoming, and once
for webinars first seen after they ended), then each past instance's report participants, then
recordings per S2/S4. One transaction per page; a constant number of queries per page."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterator

from django.db import transaction
from django.utils import timezone

from crm.models import TimelineEvent
from marketing_events.models import Participation
from marketing_events.plan import Plan, Skip
from marketing_events.selectors import crm_snapshot
from marketing_events.services import event_recompute_counters, plan_apply

from ..client import ZoomClient, ZoomNotFound, ZoomPageTokenExpired, encode_uuid
from ..legacy import contacts_recompute_legacy, legacy_affected
from ..models import SyncRun, SyncSkip, ZoomConnection, ZoomRecording, ZoomWebinar
from .events import recordings_wanted, webinar_event_ensure
from .planner import SyncSettings, emails_of, plan_participants, plan_registrants, webinar_gate
from .ratelimit import AccountRateLimiter
from .records import Instance, Participant, Registrant, WebinarInfo, parse_time
from .retry import call_zoom

logger = logging.getLogger(__name__)
PAGE_SIZE = 300
# Reports can still change for a while after a webinar ends: pull them again until then.
REPORT_SETTLING = dt.timedelta(days=2)


class Pipeline:
    def __init__(
        self,
        run: SyncRun,
        connection: ZoomConnection,
        client: ZoomClient,
        *,
        sleep: Callable[[float], None] | None = None,
    ):
        self.run = run
        self.connection = connection
        self.client = client
        self.limiter = AccountRateLimiter(connection.zoom_account_id or str(connection.pk))
        self.sleep = sleep
        self.settings = SyncSettings(
            webinar_exclusion_domains=tuple(connection.webinar_exclusion_domains),
            contact_exclusion_domains=tuple(connection.contact_exclusion_domains),
        )
        self.counts: Counter = Counter(run.counts or {})
        self.skip_counts: Counter = Counter(run.skips or {})
        self.now = timezone.now()

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
        for webinar in webinars:
            if webinar.zoom_webinar_id in done:
                continue
            self.sync_webinar(webinar)
            done.add(webinar.zoom_webinar_id)
            self.run.done_webinars = sorted(done)
            self._save_progress(done_webinars=True)

    def sync_webinar(self, webinar: ZoomWebinar) -> None:
        info = self._info(webinar)
        reason = webinar_gate(info, self.settings)
        if reason is not None:
            # Once per webinar per run (decisions on details).
            self._record_skips(
                [Skip(reason=reason, name=webinar.topic, webinar_id=str(webinar.zoom_webinar_id))]
            )
            self.counts["webinars_skipped"] += 1
            self.run.progress_done += 1
            return
        event = self._ensure_event(webinar)
        info = self._info(webinar, event_id=event.pk)
        ended = webinar.has_ended
        # Once its start has passed a webinar may have been held (early, or a recurring one
        # with occurrences still to come, B3): its report is asked for; 3001 = not yet.
        held = ended or (webinar.start_time is not None and webinar.start_time < self.now)
        registrant_emails: dict[str, str] = {}
        if not ended or webinar.registrants_synced_at is None:
            registrant_emails = self._sync_registrants(webinar, info)
            ZoomWebinar.objects.filter(pk=webinar.pk).update(registrants_synced_at=self.now)
        if held and self._participants_due(webinar):
            if self._sync_participants(webinar, info, registrant_emails):
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

    def _pages(self, path: str, items_key: str, *, label: str, **params) -> Iterator[dict]:
        """Pages of a listing, each fetched with retries; an expired page token restarts the
        listing from the top (writes are idempotent, so re-reading pages is harmless)."""
        restarts = 0
        token = None
        while True:
            query = {**params, "page_size": PAGE_SIZE}
            if token:
                query["next_page_token"] = token
            try:
                body = (
                    call_zoom(
                        lambda q=query: self.client.get(path, **q),
                        limiter=self.limiter,
                        label=label,
                        what=path,
                        **self._sleep_kw(),
                    )
                    or {}
                )
            except ZoomPageTokenExpired:
                restarts += 1
                if restarts > 3:
                    raise
                token = None
                continue
            yield body
            token = body.get("next_page_token")
            if not token:
                return

    def _sleep_kw(self) -> dict:
        return {"sleep": self.sleep} if self.sleep else {}

    def _sync_registrants(self, webinar: ZoomWebinar, info: WebinarInfo) -> dict[str, str]:
        emails: dict[str, str] = {}
        first = True
        for body in self._pages(
            f"/webinars/{webinar.zoom_webinar_id}/registrants", "registrants", label="medium"
        ):
            if first:
                self.run.progress_total += int(body.get("total_records") or 0)
                first = False
            records = [Registrant.from_zoom(r) for r in body.get("registrants", [])]
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

    def _sync_participants(self, webinar, info, registrant_emails) -> bool:
        try:
            instances = call_zoom(
                lambda: self.client.past_instances(webinar.zoom_webinar_id),
                limiter=self.limiter,
                label="light",
                what="instances",
                **self._sleep_kw(),
            )
        except ZoomNotFound:
            return False  # no report yet (code 3001): not a failure, try again next run
        # Guests without e-mail are matched through registrations seen before (rule B1).
        known = dict(
            Participation.objects.filter(event_id=info.event_id)
            .exclude(external_registrant_id="")
            .values_list("external_registrant_id", "contact__email")
        )
        registrant_emails = {**known, **registrant_emails}
        for item in instances:
            uuid = item.get("uuid")
            if not uuid:
                continue
            try:
                report = call_zoom(
                    lambda u=uuid: self.client.report_webinar(u),
                    limiter=self.limiter,
                    label="heavy",
                    what="report",
                    **self._sleep_kw(),
                )
            except ZoomNotFound:
                continue
            instance = Instance(
                uuid=uuid,
                start_time=parse_time(report.get("start_time") or item.get("start_time")),
                end_time=parse_time(report.get("end_time")),
            )
            first = True
            for body in self._pages(
                f"/report/webinars/{encode_uuid(uuid)}/participants",
                "participants",
                label="heavy",
                include_fields="registrant_id",
            ):
                if first:
                    self.run.progress_total += int(body.get("total_records") or 0)
                    first = False
                records = [
                    p for p in (Participant.from_zoom(r) for r in body.get("participants", [])) if p
                ]
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
            self._save_progress()

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
        # Counted from the table, so a resumed run never counts a person twice.
        for reason in {str(s.reason) for s in skips}:
            self.skip_counts[reason] = SyncSkip.objects.filter(run=self.run, reason=reason).count()

    def _save_progress(self, *, done_webinars: bool = False) -> None:
        self.run.counts = dict(self.counts)
        self.run.skips = dict(self.skip_counts)
        self.run.heartbeat_at = timezone.now()
        fields = ["progress_done", "progress_total", "counts", "skips", "heartbeat_at"]
        if done_webinars:
            fields.append("done_webinars")
        self.run.save(update_fields=fields)


__all__ = ["Pipeline"]
