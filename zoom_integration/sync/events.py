"""The marketing event and cached webinar behind Zoom activity (rule M1), shared by the pull
sync and the webhooks."""

from __future__ import annotations

from django.utils import timezone

from marketing_events.models import MarketingEvent
from marketing_events.services import event_upsert

from ..models import ZoomConnection, ZoomUser, ZoomWebinar
from ..services.metadata import webinar_fields


def webinar_event_ensure(connection: ZoomConnection, webinar: ZoomWebinar) -> MarketingEvent:
    host = webinar.host
    organizer = (host.full_name or host.email) if host else webinar.host_email
    event = event_upsert(
        source="zoom",
        external_account_id=connection.zoom_account_id,
        external_event_id=str(webinar.zoom_webinar_id),
        defaults={
            "brand_id": connection.brand_id,
            "name": webinar.topic or "Webinar",
            "event_type": "WEBINAR",
            "organizer": organizer,
            "url": webinar.registration_url or webinar.join_url,
            "starts_at": webinar.start_time,
            "ends_at": webinar.end_time,
        },
    )
    if webinar.event_id != event.pk:
        ZoomWebinar.objects.filter(pk=webinar.pk).update(event=event)
        webinar.event_id = event.pk
    return event


def webinar_from_payload(connection: ZoomConnection, obj: dict) -> ZoomWebinar | None:
    """The cached webinar a webhook is about; a webinar not seen yet is cached from the
    payload, its sync toggle taken from its host's default (rule S6)."""
    try:
        webinar_id = int(obj.get("id"))
    except (TypeError, ValueError):
        return None
    webinar = (
        ZoomWebinar.objects.select_related("host", "event")
        .filter(connection=connection, zoom_webinar_id=webinar_id)
        .first()
    )
    if webinar is not None:
        return webinar
    fields = webinar_fields(obj)
    host = ZoomUser.objects.filter(
        connection=connection, zoom_user_id=fields["host_zoom_id"]
    ).first()
    webinar, _created = ZoomWebinar.objects.get_or_create(
        connection=connection,
        zoom_webinar_id=webinar_id,
        defaults={
            **fields,
            "host": host,
            "host_email": host.email if host else "",
            "sync_enabled": host.sync_new_webinars_by_default if host else True,
            "source": "webhook",
            "first_seen_at": timezone.now(),
        },
    )
    return webinar


def recordings_wanted(connection: ZoomConnection, webinar: ZoomWebinar) -> bool:
    """Rules S2 and S4: recordings sync for all users or the selected ones, never for hosts in
    a recording-exclusion domain."""
    from ..domains import domain_matches, email_domain
    from ..models import RecordingsSync

    mode = connection.recordings_sync
    if mode == RecordingsSync.NONE:
        return False
    if mode == RecordingsSync.SELECTED and not (webinar.host and webinar.host.sync_recordings):
        return False
    return not domain_matches(
        email_domain(webinar.host_email), connection.recording_exclusion_domains
    )
