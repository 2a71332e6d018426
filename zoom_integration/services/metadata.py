"""Zoom users and webinars (metadata only) cached in the database: when the connection is made,
on "Refresh" and by every sync, whatever S1 says (rule A2).

Zoom lists only unexpired webinars per host, so ended ones come from the account's report of
past webinars, in one-month windows over the last six months at first, then since a week before
the previous refresh (zoom-api.md §0, DESIGN "How syncing runs")."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..client import ZoomAuthError, ZoomClient, ZoomNotFound, ZoomValidationError
from ..models import ConnectionStatus, ZoomConnection, ZoomUser, ZoomWebinar
from .client import zoom_client

logger = logging.getLogger(__name__)

FIRST_BACKFILL = dt.timedelta(days=182)
OVERLAP = dt.timedelta(days=7)
WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True)
class MetadataCounts:
    users: int
    webinars: int
    new_webinars: int

    def as_dict(self) -> dict:
        return {
            "zoom_users": self.users,
            "webinars": self.webinars,
            "new_webinars": self.new_webinars,
        }


def _parse_time(value) -> dt.datetime | None:
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def webinar_fields(payload: dict) -> dict:
    """Zoom webinar JSON → ZoomWebinar column values. The end is start + duration, or for a
    recurring webinar (type 9) the end of its last occurrence."""
    start = _parse_time(payload.get("start_time"))
    duration = int(payload.get("duration") or 0)
    occurrences = [
        {
            "occurrence_id": str(o.get("occurrence_id", "")),
            "start_time": o.get("start_time"),
            "duration": int(o.get("duration") or duration),
            "status": o.get("status", "available"),
        }
        for o in payload.get("occurrences") or []
    ]
    end = _parse_time(payload.get("end_time"))
    if end is None and start is not None:
        end = start + dt.timedelta(minutes=duration)
    live = [o for o in occurrences if o["status"] != "deleted" and o["start_time"]]
    if live:
        last = max(live, key=lambda o: o["start_time"])
        end = _parse_time(last["start_time"]) + dt.timedelta(minutes=last["duration"])
        start = start or _parse_time(min(o["start_time"] for o in live))
    return {
        "topic": (payload.get("topic") or "")[:300],
        "webinar_type": int(payload.get("type") or 5),
        "start_time": start,
        "end_time": end,
        "duration_minutes": duration,
        "timezone_name": payload.get("timezone") or "",
        "join_url": payload.get("join_url") or "",
        "registration_url": payload.get("registration_url") or "",
        "occurrences": occurrences,
        "host_zoom_id": payload.get("host_id") or "",
    }


def _report_windows(since: dt.datetime, until: dt.datetime) -> list[tuple[dt.date, dt.date]]:
    windows = []
    start = since.date()
    end = until.date()
    while start <= end:
        stop = min(start + WINDOW, end)
        windows.append((start, stop))
        start = stop + dt.timedelta(days=1)
    return windows


def connection_metadata_refresh(
    *, connection: ZoomConnection, client: ZoomClient | None = None
) -> MetadataCounts:
    """Fetches the account's users and webinars from Zoom (paged) and upserts them. A webinar
    seen for the first time takes its host's "newly scheduled" default as its sync toggle (S6).
    Idempotent; the per-user and per-webinar settings are never overwritten."""
    client = client or zoom_client(connection)
    now = timezone.now()
    me = client.get_user("me")
    users_payload = list(client.list_users())
    webinars: dict[int, dict] = {}
    for user in users_payload:
        for webinar in client.list_webinars(user["id"]):
            if int(webinar.get("type") or 5) in (6, 9) and not webinar.get("occurrences"):
                # Occurrences come only with the webinar itself, not in the host's list.
                try:
                    webinar = {**webinar, **client.get_webinar(webinar["id"])}
                except ZoomNotFound:
                    continue
            webinars[int(webinar["id"])] = dict(webinar, _source="list")
    since = (
        connection.metadata_refreshed_at - OVERLAP
        if connection.metadata_refreshed_at
        else now - FIRST_BACKFILL
    )
    since = max(since, now - FIRST_BACKFILL)
    known = set(
        ZoomWebinar.objects.filter(connection=connection).values_list("zoom_webinar_id", flat=True)
    )
    participants: dict[int, dict[str, int]] = {}  # webinar -> instance -> participants
    for date_from, date_to in _report_windows(since, now):
        for past in client.report_history_meetings(date_from=date_from, date_to=date_to):
            webinar_id = int(past.get("meeting_id") or past.get("id") or 0)
            if webinar_id:
                instance = str(
                    past.get("meeting_uuid") or past.get("uuid") or past.get("start_time")
                )
                participants.setdefault(webinar_id, {})[instance] = _count(past.get("participants"))
            if not webinar_id or webinar_id in webinars:
                continue
            if webinar_id in known:
                webinars[webinar_id] = {
                    "id": webinar_id,
                    "_source": "report",
                    "_known": True,
                    "end_time": past.get("end_time"),
                }
                continue
            try:
                detail = client.get_webinar(webinar_id)
            except ZoomNotFound:
                continue  # deleted since it ran
            webinars[webinar_id] = dict(
                detail,
                _source="report",
                end_time=past.get("end_time"),
                host_email=past.get("host_email", ""),
            )
    try:
        events_ids = client.zoom_events_webinar_ids()
    except (ZoomValidationError, ZoomNotFound, ZoomAuthError) as exc:
        # No Zoom Events licence or scope on this account: then it has no such webinars.
        logger.info(
            "zoom.metadata.no_zoom_events", extra={"connection": connection.pk, "error": str(exc)}
        )
        events_ids = set()
    hints = {webinar_id: sum(counts.values()) for webinar_id, counts in participants.items()}
    return _store(connection, me, users_payload, webinars, now, events_ids, hints)


def _count(value) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


@transaction.atomic
def _store(connection, me, users_payload, webinars, now, events_ids, hints) -> MetadataCounts:
    connection = ZoomConnection.objects.select_for_update().get(pk=connection.pk)
    existing_users = {u.zoom_user_id: u for u in ZoomUser.objects.filter(connection=connection)}
    to_create, to_update = [], []
    for payload in users_payload:
        values = {
            "email": (payload.get("email") or "").strip().lower(),
            "first_name": payload.get("first_name") or "",
            "last_name": payload.get("last_name") or "",
            "user_type": int(payload.get("type") or 1),
            "role_name": payload.get("role_name") or "",
            "status": payload.get("status") or "",
            "last_seen_at": now,
        }
        user = existing_users.get(payload["id"])
        if user is None:
            to_create.append(ZoomUser(connection=connection, zoom_user_id=payload["id"], **values))
        else:
            for name, value in values.items():
                setattr(user, name, value)
            to_update.append(user)
    ZoomUser.objects.bulk_create(to_create)
    ZoomUser.objects.bulk_update(
        to_update,
        ["email", "first_name", "last_name", "user_type", "role_name", "status", "last_seen_at"],
    )
    users = {u.zoom_user_id: u for u in ZoomUser.objects.filter(connection=connection)}
    users_by_email = {u.email: u for u in users.values()}

    existing = {
        w.zoom_webinar_id: w
        for w in ZoomWebinar.objects.filter(connection=connection, zoom_webinar_id__in=webinars)
    }
    new, changed = [], []
    update_fields = [
        "topic",
        "webinar_type",
        "start_time",
        "end_time",
        "duration_minutes",
        "timezone_name",
        "join_url",
        "registration_url",
        "occurrences",
        "host_zoom_id",
        "host_email",
        "host",
        "last_seen_at",
        "is_zoom_events",
    ]
    for webinar_id, payload in webinars.items():
        if payload.get("_known"):
            continue
        fields = webinar_fields(payload)
        host = users.get(fields["host_zoom_id"]) or users_by_email.get(
            (payload.get("host_email") or "").lower()
        )
        fields.update(
            host=host,
            host_email=host.email if host else payload.get("host_email", ""),
            last_seen_at=now,
            is_zoom_events=webinar_id in events_ids,
        )
        webinar = existing.get(webinar_id)
        if webinar is None:
            # Rule S6: a webinar's toggle takes its host's value when first seen.
            new.append(
                ZoomWebinar(
                    connection=connection,
                    zoom_webinar_id=webinar_id,
                    source=payload["_source"],
                    sync_enabled=host.sync_new_webinars_by_default if host else True,
                    first_seen_at=now,
                    **fields,
                )
            )
        else:
            for name, value in fields.items():
                setattr(webinar, name, value)
            changed.append(webinar)
    for webinar in new:
        webinar.size_hint = hints.get(webinar.zoom_webinar_id, 0)
    ZoomWebinar.objects.bulk_create(new)
    ZoomWebinar.objects.bulk_update(changed, update_fields)
    hinted = ZoomWebinar.objects.filter(connection=connection, zoom_webinar_id__in=hints).exclude(
        zoom_webinar_id__in=[w.zoom_webinar_id for w in new]
    )
    # A later refresh reads only the instances of its own window (the last days): their sum
    # is a part of the total a full backfill counted, so a hint only ever grows. Replacing it
    # made a recurring webinar's hint one instance's count the moment a run refreshed the
    # metadata, and the run claimed the largest webinar a third of the way in.
    resized = [w for w in hinted if w.size_hint < hints[w.zoom_webinar_id]]
    for webinar in resized:
        webinar.size_hint = hints[webinar.zoom_webinar_id]
    ZoomWebinar.objects.bulk_update(resized, ["size_hint"])

    connection.connected_user_id = me.get("id", connection.connected_user_id)
    connection.connected_user_email = (me.get("email") or connection.connected_user_email).lower()
    connection.metadata_refreshed_at = now
    connection.metadata_refreshing = False
    connection.save(
        update_fields=[
            "connected_user_id",
            "connected_user_email",
            "metadata_refreshed_at",
            "metadata_refreshing",
            "updated_at",
        ]
    )
    logger.info(
        "zoom.metadata.refreshed",
        extra={
            "connection": connection.pk,
            "users": len(users_payload),
            "webinars": len(webinars),
            "new": len(new),
        },
    )
    return MetadataCounts(users=len(users_payload), webinars=len(webinars), new_webinars=len(new))


def connection_metadata_refresh_queue(*, connection: ZoomConnection) -> None:
    """Queues a refresh after the current transaction commits; marks it as under way."""
    from ..tasks import refresh_connection_metadata

    if connection.status != ConnectionStatus.CONNECTED:
        return
    ZoomConnection.objects.filter(pk=connection.pk).update(metadata_refreshing=True)
    transaction.on_commit(lambda: refresh_connection_metadata.delay(connection.pk))
