"""Writes of webinar recordings: one service for the sync and the webhooks (one writer per
fact), so that both store a recording and its timeline entries the same way."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from crm.models import TimelineEvent
from marketing_events.models import MarketingEvent, Participation, ParticipationState

from ..models import ZoomRecording, ZoomWebinar
from ..sync.records import parse_time

RECORDING_AVAILABLE = "zoom_recording_available"


def _merged_files(stored: list[dict], given: list[dict]) -> list[dict]:
    """Files by type: what Zoom sent now over what was stored (a transcript's webhook names
    only the transcript; the recording's files stay)."""
    by_type = {f.get("file_type"): f for f in stored if f.get("file_type")}
    for f in given:
        kind = f.get("file_type")
        if kind:
            by_type[kind] = {
                "file_type": kind,
                "id": f.get("id") or by_type.get(kind, {}).get("id"),
            }
    return [by_type[kind] for kind in sorted(by_type)]


@transaction.atomic
def recording_upsert(
    *, webinar: ZoomWebinar, instance_uuid: str, body: dict, event: MarketingEvent
) -> ZoomRecording | None:
    """Creates or updates the recording of a webinar instance from Zoom's recording object (the
    API's `GET /meetings/{uuid}/recordings` or a `recording.*` webhook's `payload.object`), and
    the "recording available" timeline entry of each participant of the event (rules S2, M4).
    Idempotent: keyed by (webinar, instance uuid) and one entry per (recording, contact).
    Nothing is written for an instance without files that was never stored (None)."""
    files = body.get("recording_files") or []
    recording = ZoomRecording.objects.filter(webinar=webinar, instance_uuid=instance_uuid).first()
    if recording is None:
        if not files:
            return None
        recording = ZoomRecording(webinar=webinar, instance_uuid=instance_uuid)
    now = timezone.now()
    recording.files = _merged_files(recording.files or [], files)
    recording.has_transcript = any(f["file_type"] == "TRANSCRIPT" for f in recording.files)
    recording.topic = body.get("topic") or recording.topic or webinar.topic
    recording.start_time = parse_time(body.get("start_time")) or recording.start_time
    recording.share_url = (
        body.get("share_url")
        or next((f.get("play_url") for f in files if f.get("play_url")), "")
        or recording.share_url
    )
    recording.synced_at = now
    recording.save()
    # Not to viewers who never registered (rule E7): they found the recording already.
    contact_ids = (
        Participation.objects.filter(event=event)
        .exclude(state=ParticipationState.VIEWED_RECORDING)
        .values_list("contact_id", flat=True)
    )
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                contact_id=cid,
                kind=RECORDING_AVAILABLE,
                occurred_at=recording.start_time or now,
                data={
                    "webinar_id": str(webinar.zoom_webinar_id),
                    "webinar_name": webinar.topic,
                    "recording_url": recording.share_url,
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
    return recording


__all__ = ["RECORDING_AVAILABLE", "recording_upsert"]
