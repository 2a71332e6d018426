"""Applying stored webhook deliveries through the sync's pure planner (same rules, same
skips). Out-of-order and repeated deliveries converge: registrations and sessions are facts
keyed by Zoom ids and times; a `participant_left` that arrives before its `joined` waits for it.
During a live webinar durations are provisional; `webinar.ended` makes them final (rule B4)."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from crm.db import atomic_retried
from marketing_events.models import AttendanceSession, EventOccurrence
from marketing_events.plan import OccurrenceFact, Plan, SessionFact
from marketing_events.rules import normalize
from marketing_events.selectors import crm_snapshot
from marketing_events.selectors import registrant_emails as registrant_emails_of
from marketing_events.services import plan_apply

from ..legacy import contacts_recompute_legacy
from ..models import ConnectionStatus, DeliveryStatus, WebhookDelivery, ZoomWebinar
from ..registration.sync import answer_mappings
from ..sync.events import recordings_wanted, webinar_event_ensure, webinar_from_payload
from ..sync.planner import (
    SyncSettings,
    emails_of,
    plan_participants,
    plan_registrants,
    webinar_gate,
)
from ..sync.records import Instance, Participant, Registrant, WebinarInfo, parse_time
from .counting import OPEN_STATUSES, DeliveryTally

logger = logging.getLogger(__name__)


class Outcome(Exception):
    """Ends processing with a status and a short reason."""

    def __init__(self, status: str, reason: str = ""):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def delivery_process(*, delivery_id: int, tally: DeliveryTally | None = None) -> str:
    """Applies one open (received or waiting) delivery and sets its status; a final one is left
    as it is. Its final status is counted for /metrics with the caller's `tally` (a batch counts
    once), or on its own after the commit when no tally is given."""
    if tally is None:
        tally = DeliveryTally()
        try:
            return delivery_process(delivery_id=delivery_id, tally=tally)
        finally:
            tally.count_on_commit()
    delivery = WebhookDelivery.objects.select_related("connection").filter(pk=delivery_id).first()
    if delivery is None or delivery.status not in OPEN_STATUSES:
        return delivery.status if delivery else "missing"
    connection = delivery.connection
    try:
        if connection.status != ConnectionStatus.CONNECTED:
            raise Outcome(DeliveryStatus.IGNORED, "disconnected")
        if not from_its_account(delivery):
            raise Outcome(DeliveryStatus.IGNORED, WRONG_ACCOUNT)
        if not connection.sync_webinar_data:
            raise Outcome(DeliveryStatus.IGNORED, "sync_disabled")  # rule S1
        handler = HANDLERS.get(delivery.event)
        if handler is None:
            raise Outcome(DeliveryStatus.IGNORED, "event not used by the CRM")
        # A deadlock lost to a sync page or another drain: applied again (rule B4).
        atomic_retried(lambda: handler(delivery), label="zoom.webhooks.delivery")
        status, reason = DeliveryStatus.APPLIED, ""
    except Outcome as outcome:
        status, reason = outcome.status, outcome.reason
    now = timezone.now()
    # Only while it is still open: a worker that applied it meanwhile has set (and counted) its
    # final status, and this one neither overwrites nor counts it again.
    if WebhookDelivery.objects.filter(pk=delivery.pk, status__in=OPEN_STATUSES).update(
        status=status, outcome=reason[:300], processed_at=now
    ):
        tally.add(status, [delivery], now)
    if delivery.event == "webinar.participant_joined" and status == DeliveryStatus.APPLIED:
        _release_waiting_leaves(delivery, tally)
    return status


# -- helpers -------------------------------------------------------------------------------

WRONG_ACCOUNT = "wrong_account"


def from_its_account(delivery: WebhookDelivery) -> bool:
    """Rule Z10, checked again when applying: the receiver refuses another account's events,
    but one stored before it did (or before the connection was made with another account) is
    not applied either."""
    account_id = delivery.connection.zoom_account_id
    return bool(account_id) and delivery.payload.get("account_id") == account_id


def _event_time(delivery: WebhookDelivery) -> dt.datetime:
    if delivery.event_ts:
        return dt.datetime.fromtimestamp(delivery.event_ts / 1000, tz=dt.UTC)
    return delivery.received_at


def _context(delivery: WebhookDelivery):
    """The webinar, its event and planner inputs — or an Outcome when it is not synced."""
    connection = delivery.connection
    obj = delivery.payload.get("object") or {}
    webinar = webinar_from_payload(connection, obj)
    if webinar is None:
        raise Outcome(DeliveryStatus.FAILED, "payload without a webinar id")
    settings = SyncSettings(
        webinar_exclusion_domains=tuple(connection.webinar_exclusion_domains),
        contact_exclusion_domains=tuple(connection.contact_exclusion_domains),
    )
    info = WebinarInfo(
        zoom_webinar_id=webinar.zoom_webinar_id,
        topic=webinar.topic,
        host_email=webinar.host_email,
        is_zoom_events=webinar.is_zoom_events,
        sync_enabled=webinar.sync_enabled,
        join_url=webinar.join_url,
    )
    reason = webinar_gate(info, settings)
    if reason is not None:
        raise Outcome(DeliveryStatus.IGNORED, f"skipped: {reason}")  # same rules as the sync
    event = webinar_event_ensure(connection, webinar)
    info = WebinarInfo(**{**info.__dict__, "event_id": event.pk})
    return webinar, event, info, settings, obj


def _apply(plan: Plan, webinar: ZoomWebinar, delivery: WebhookDelivery) -> None:
    result = plan_apply(plan)
    contacts_recompute_legacy(result.contact_ids)
    if plan.skips:
        skip = plan.skips[0]
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            outcome=f"skipped: {skip.reason} {skip.email or skip.name}"[:300]
        )
        raise Outcome(DeliveryStatus.IGNORED, f"skipped: {skip.reason}")


def _occurrence(event, uuid: str) -> EventOccurrence | None:
    return EventOccurrence.objects.filter(event=event, external_id=uuid).first()


# -- handlers ------------------------------------------------------------------------------


def on_registration(delivery: WebhookDelivery) -> None:
    webinar, event, info, settings, obj = _context(delivery)
    person = obj.get("registrant") or {}
    cancelled = delivery.event in ("webinar.registration_cancelled", "webinar.registration_denied")
    status = "cancelled" if cancelled else person.get("status") or "approved"
    if status == "pending":
        raise Outcome(DeliveryStatus.IGNORED, "registration pending approval")
    registrant = Registrant.from_zoom({**person, "status": status})
    if cancelled or registrant.create_time is None:
        registrant = Registrant(**{**registrant.__dict__, "create_time": _event_time(delivery)})
    snapshot = crm_snapshot(emails_of([registrant]))
    plan = plan_registrants(
        info, [registrant], snapshot, settings, mappings=_answer_mappings(webinar, [registrant])
    )
    _apply(plan, webinar, delivery)
    if plan.registrations:
        _fill_blank_names(plan.registrations[0].email, registrant)


def _fill_blank_names(email: str, registrant: Registrant) -> None:
    """A contact first seen as a participant carries Zoom's display name; the names typed at
    registration fill what it lacks (never overwriting), so the order of arrival doesn't
    matter."""
    from crm.models import Contact

    if registrant.first_name:
        Contact.objects.filter(email=email, first_name="").update(first_name=registrant.first_name)
    if registrant.last_name:
        Contact.objects.filter(email=email, last_name="").update(last_name=registrant.last_name)


def on_participant(delivery: WebhookDelivery) -> None:
    webinar, event, info, settings, obj = _context(delivery)
    uuid = str(obj.get("uuid") or "")
    raw = obj.get("participant") or {}
    pid = str(raw.get("participant_user_id") or raw.get("id") or raw.get("user_id") or "")
    occurrence = _occurrence(event, uuid)
    if delivery.event == "webinar.participant_joined":
        join = parse_time(raw.get("join_time")) or _event_time(delivery)
        leave = None
    else:
        leave = parse_time(raw.get("leave_time")) or _event_time(delivery)
        sessions = AttendanceSession.objects.filter(
            occurrence__event=event,
            occurrence__external_id=uuid,
            external_participant_id=pid,
            join_at__lte=leave,
        ).order_by("-join_at")
        session = sessions.filter(leave_at__isnull=True).first()
        if session is None and occurrence is not None and occurrence.ends_at is not None:
            # `webinar.ended` came first and closed the session at the end: the real leave
            # replaces that.
            session = sessions.filter(leave_at=occurrence.ends_at).first()
        if session is None:
            # Its `joined` has not arrived yet (out of order): wait for it.
            raise Outcome(DeliveryStatus.WAITING, f"waiting for the join of {pid}")
        join = session.join_at
    participant = Participant(
        participant_id=pid,
        registrant_id=str(raw.get("registrant_id") or ""),
        name=raw.get("user_name") or "",
        email=raw.get("email") or "",
        join_time=join,
        leave_time=leave,
    )
    ended = occurrence is not None and occurrence.ends_at is not None
    instance = Instance(
        uuid=uuid,
        start_time=(occurrence.starts_at if occurrence else None) or join,
        end_time=occurrence.ends_at if occurrence else None,
    )
    # Rule B1: a hidden address through the registrant id (this participant's only).
    hidden = participant.registrant_id if not normalize(participant.email) else ""
    registrant_emails = registrant_emails_of(event.pk, [hidden])
    snapshot = crm_snapshot(emails_of([participant], registrant_emails))
    plan = plan_participants(
        info, instance, [participant], snapshot, settings, registrant_emails, event_over=ended
    )
    _apply(plan, webinar, delivery)


def _release_waiting_leaves(joined: WebhookDelivery, tally: DeliveryTally) -> None:
    pid = str(
        ((joined.payload.get("object") or {}).get("participant") or {}).get("participant_user_id")
        or ""
    )
    waiting = WebhookDelivery.objects.filter(
        connection=joined.connection,
        event="webinar.participant_left",
        status=DeliveryStatus.WAITING,
    )
    for delivery in waiting:
        raw = (delivery.payload.get("object") or {}).get("participant") or {}
        if str(raw.get("participant_user_id") or raw.get("id") or "") == pid:
            delivery_process(delivery_id=delivery.pk, tally=tally)


def on_started(delivery: WebhookDelivery) -> None:
    webinar, event, _info, _settings, obj = _context(delivery)
    uuid = str(obj.get("uuid") or "")
    start = parse_time(obj.get("start_time")) or _event_time(delivery)
    occurrence, created = EventOccurrence.objects.get_or_create(
        event=event, external_id=uuid, defaults={"starts_at": start}
    )
    # Once `webinar.ended` was applied, its start (and the durations computed with it) stand.
    if not created and occurrence.ends_at is None and occurrence.starts_at != start:
        occurrence.starts_at = start
        occurrence.save(update_fields=["starts_at"])


def on_ended(delivery: WebhookDelivery) -> None:
    """Closes the instance: sessions still open end with it, and every duration and percent
    is recomputed as final."""
    webinar, event, _info, _settings, obj = _context(delivery)
    uuid = str(obj.get("uuid") or "")
    end = parse_time(obj.get("end_time")) or _event_time(delivery)
    start = parse_time(obj.get("start_time"))
    occurrence = _occurrence(event, uuid)
    # The ended payload carries the instance's real start: it wins over a start guessed from an
    # early join.
    start = start or (occurrence.starts_at if occurrence else None)
    sessions = list(
        AttendanceSession.objects.filter(
            occurrence__event=event, occurrence__external_id=uuid
        ).select_related("participation__contact")
    )
    plan = Plan(
        event_id=event.pk,
        event_over=True,
        occurrences=[OccurrenceFact(uuid, start, end)],
        sessions=[
            SessionFact(
                email=s.participation.contact.email or "",
                occurrence_key=uuid,
                external_participant_id=s.external_participant_id,
                join_at=s.join_at,
                leave_at=s.leave_at or end,
                name=s.name,
            )
            for s in sessions
        ],
    )
    plan_apply(plan)
    if webinar.webinar_type not in (6, 9):
        event.ends_at = end
        event.save(update_fields=["ends_at"])
        from marketing_events.services import event_recompute_counters

        event_recompute_counters([event.pk])


def on_webinar_changed(delivery: WebhookDelivery) -> None:
    from ..services.metadata import webinar_fields

    connection = delivery.connection
    obj = delivery.payload.get("object") or {}
    webinar = webinar_from_payload(connection, obj)
    if webinar is None:
        raise Outcome(DeliveryStatus.FAILED, "payload without a webinar id")
    if delivery.event == "webinar.deleted":
        if webinar.event_id:
            webinar.event.cancelled = True
            webinar.event.save(update_fields=["cancelled"])
        return
    fields = {
        k: v
        for k, v in webinar_fields(
            {**obj, "host_id": obj.get("host_id") or webinar.host_zoom_id}
        ).items()
        if v not in (None, "", [])
    }
    for name, value in fields.items():
        setattr(webinar, name, value)
    # Only what the event changed: the admin's sync toggle (S6), or what a sync wrote since the
    # row was read, is not put back.
    webinar.save(update_fields=list(fields))
    if webinar.event_id:
        webinar_event_ensure(connection, webinar)


def on_recording(delivery: WebhookDelivery) -> None:
    from ..services.recordings import recording_upsert

    webinar, event, _info, _settings, obj = _context(delivery)
    connection = delivery.connection
    if not recordings_wanted(connection, webinar):
        raise Outcome(DeliveryStatus.IGNORED, "recordings not synced for this host (S2/S4)")
    recording_upsert(
        webinar=webinar, instance_uuid=str(obj.get("uuid") or ""), body=obj, event=event
    )


HANDLERS = {
    "webinar.registration_created": on_registration,
    "webinar.registration_approved": on_registration,
    "webinar.registration_cancelled": on_registration,
    "webinar.registration_denied": on_registration,
    "webinar.participant_joined": on_participant,
    "webinar.participant_left": on_participant,
    "webinar.started": on_started,
    "webinar.ended": on_ended,
    "webinar.created": on_webinar_changed,
    "webinar.updated": on_webinar_changed,
    "webinar.deleted": on_webinar_changed,
    "recording.completed": on_recording,
    "recording.transcript_completed": on_recording,
}


REGISTRATION_EVENTS = {
    "webinar.registration_created",
    "webinar.registration_approved",
    "webinar.registration_cancelled",
    "webinar.registration_denied",
}
BATCH_SIZE = 500


def deliveries_process_pending(*, connection_id: int) -> int:
    """Applies the connection's pending deliveries: registrations in one plan per webinar
    (the bulk path of the sync: a flood of sign-ups costs a few queries per batch, not per
    person), the others one by one in arrival order. Rows are locked with SKIP LOCKED, so
    several workers share the backlog without applying anything twice. The statuses the batch
    sets are counted for /metrics together, in one round trip after they are committed."""
    from django.db import connection as db

    skip_locked = db.features.has_select_for_update_skip_locked

    def apply_registrations():  # -> (batch, the other deliveries, its tally)
        tally = DeliveryTally()
        batch = list(
            WebhookDelivery.objects.select_for_update(skip_locked=skip_locked)
            .select_related("connection")
            .filter(connection_id=connection_id, status=DeliveryStatus.RECEIVED)
            .order_by("id")[:BATCH_SIZE]
        )
        if not batch:
            return [], [], tally
        foreign = [d.pk for d in batch if not from_its_account(d)]
        if foreign:
            now = timezone.now()
            WebhookDelivery.objects.filter(pk__in=foreign).update(
                status=DeliveryStatus.IGNORED, outcome=WRONG_ACCOUNT, processed_at=now
            )
            tally.add(DeliveryStatus.IGNORED, [d for d in batch if d.pk in foreign], now)
        own = [d for d in batch if d.pk not in foreign]
        registrations = [d for d in own if d.event in REGISTRATION_EVENTS]
        others = [d for d in own if d.event not in REGISTRATION_EVENTS]
        by_webinar: dict[str, list[WebhookDelivery]] = {}
        for delivery in registrations:
            key = str((delivery.payload.get("object") or {}).get("id"))
            by_webinar.setdefault(key, []).append(delivery)
        for group in by_webinar.values():
            _apply_registration_group(group, tally)
        return batch, others, tally

    # One transaction for the batch's registrations, which lock contacts of several webinars
    # (their rollups, legacy properties) while sync pages and other drains lock theirs: one
    # that lost a deadlock is rolled back whole and taken again (its tally with it).
    batch, others, tally = atomic_retried(apply_registrations, label="zoom.webhooks.batch")
    if not batch:
        return 0
    # Committed: what the block above tallied is counted even if one of the others fails (an
    # exception in the block rolls it back and leaves this function before anything is counted).
    try:
        for delivery in others:
            delivery_process(delivery_id=delivery.pk, tally=tally)
    finally:
        tally.count_on_commit()
    return len(batch)


def _apply_registration_group(group: list[WebhookDelivery], tally: DeliveryTally) -> None:
    connection = group[0].connection
    now = timezone.now()
    if connection.status != ConnectionStatus.CONNECTED or not connection.sync_webinar_data:
        reason = (
            "disconnected" if connection.status != ConnectionStatus.CONNECTED else "sync_disabled"
        )
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in group]).update(
            status=DeliveryStatus.IGNORED, outcome=reason, processed_at=now
        )
        tally.add(DeliveryStatus.IGNORED, group, now)
        return
    try:
        webinar, event, info, settings, _obj = _context(group[0])
    except Outcome as outcome:
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in group]).update(
            status=outcome.status, outcome=outcome.reason[:300], processed_at=now
        )
        tally.add(outcome.status, group, now)
        return
    registrants, owners, pending = [], {}, []
    for delivery in group:
        person = (delivery.payload.get("object") or {}).get("registrant") or {}
        cancelled = delivery.event in (
            "webinar.registration_cancelled",
            "webinar.registration_denied",
        )
        status = "cancelled" if cancelled else person.get("status") or "approved"
        if status == "pending":
            pending.append(delivery.pk)
            continue
        registrant = Registrant.from_zoom({**person, "status": status})
        if cancelled or registrant.create_time is None:
            registrant = Registrant(**{**registrant.__dict__, "create_time": _event_time(delivery)})
        registrants.append(registrant)
        owners.setdefault(registrant.email.strip().lower(), []).append(delivery.pk)
    snapshot = crm_snapshot(emails_of(registrants))
    plan = plan_registrants(
        info, registrants, snapshot, settings, mappings=_answer_mappings(webinar, registrants)
    )
    result = plan_apply(plan)
    contacts_recompute_legacy(result.contact_ids)
    skipped: dict[int, str] = {}
    for skip in plan.skips:
        for delivery_id in owners.get(skip.email, []):
            skipped[delivery_id] = f"skipped: {skip.reason}"
    from django.db.models import Q

    from crm.models import Contact

    named = {r.email.strip().lower(): r for r in registrants if r.first_name or r.last_name}
    blanks = Contact.objects.filter(
        Q(first_name="") | Q(last_name=""), email__in=list(named), archived_at__isnull=True
    ).values_list("email", flat=True)
    for email in blanks:
        _fill_blank_names(email, named[email])
    applied = {d.pk for d in group if d.pk not in skipped and d.pk not in pending}
    WebhookDelivery.objects.filter(pk__in=applied).update(
        status=DeliveryStatus.APPLIED, outcome="", processed_at=now
    )
    WebhookDelivery.objects.filter(pk__in=pending).update(
        status=DeliveryStatus.IGNORED, outcome="registration pending approval", processed_at=now
    )
    for reason in set(skipped.values()):
        WebhookDelivery.objects.filter(
            pk__in=[pk for pk, r in skipped.items() if r == reason]
        ).update(status=DeliveryStatus.IGNORED, outcome=reason, processed_at=now)
    # The rows are locked by the batch: these are their only status changes.
    ignored = set(pending) | set(skipped)
    tally.add(DeliveryStatus.APPLIED, [d for d in group if d.pk in applied], now)
    tally.add(DeliveryStatus.IGNORED, [d for d in group if d.pk in ignored], now)


def _answer_mappings(webinar, registrants):
    """Rule E2: mappings are read only when a registration carries answers."""
    return answer_mappings(webinar) if any(r.answers for r in registrants) else None
