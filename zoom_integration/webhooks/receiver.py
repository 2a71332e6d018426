"""`POST /integrations/zoom/webhooks/<connection_id>/`: verify the signature over the raw body
and the timestamp's freshness, answer `endpoint.url_validation` at once, store an accepted event
once (a replay is a no-op) and answer 200 fast; a task applies it after the commit.

Refused deliveries store nothing. Those to a connection that exists are counted, with their
reason, in the cache for the health panel: one key per connection holding at most
`REJECTIONS_KEPT` entries of a fixed size, reasons from a fixed set. Nothing is kept for a
connection id that does not exist: the URL is anyone's to make up, and every made-up id would
otherwise leave a key behind."""

from __future__ import annotations

import hashlib
import json
import logging
import time

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.counters import counter_incr

from ..models import ConnectionStatus, DeliveryStatus, WebhookDelivery, ZoomConnection
from .counting import count_ended_at_receipt
from .signature import signature_valid, timestamp_fresh, url_validation_answer

logger = logging.getLogger(__name__)
EVENT_TS_RANGE = (-(2**63), 2**63 - 1)
REJECTIONS_KEPT = 50
REJECTIONS_TTL = 7 * 24 * 3600
# Every reason a refusal can be counted under (the health panel labels each).
COUNTED_REASONS = frozenset(
    {"bad_signature", "stale_timestamp", "malformed_body", "wrong_account", "account_unknown"}
)

# Refused deliveries by reason, in the shared counters that /metrics reads (no row holds them).
REFUSED_COUNTER = "webhook_refused"
METRIC_REASONS = (*sorted(COUNTED_REASONS), "unknown_connection")


def _reject(connection_id: int, status: int, reason: str, message: str) -> JsonResponse:
    """Refuses a delivery to a connection that exists, and counts it for its health panel.
    `message` is read by Zoom's servers, not by people: English, like the logs (the health
    panel shows each `reason` in the reader's language)."""
    logger.warning("zoom.webhook.rejected", extra={"connection": connection_id, "reason": reason})
    if reason in COUNTED_REASONS:  # a fixed set: never a value taken from the request
        counter_incr(REFUSED_COUNTER, reason)  # for /metrics, all connections together
        key = _rejections_key(connection_id)
        recent = cache.get(key) or []
        recent.insert(0, {"at": timezone.now().isoformat(), "reason": reason, "status": status})
        cache.set(key, recent[:REJECTIONS_KEPT], timeout=REJECTIONS_TTL)
    return JsonResponse({"error": reason, "message": message}, status=status)


def _unknown_connection(connection_id: int) -> JsonResponse:
    """No such connection: answered, logged, and nothing kept (see the module's docstring)."""
    logger.info("zoom.webhook.unknown_connection", extra={"connection": connection_id})
    counter_incr(REFUSED_COUNTER, "unknown_connection")  # one key, whatever the id
    return JsonResponse(
        {"error": "unknown_connection", "message": "No Zoom connection has this webhook URL."},
        status=404,
    )


def _rejections_key(connection_id: int) -> str:
    return f"zoom-webhook-rejections:{connection_id}"


def recent_rejections(connection_id: int) -> list[dict]:
    return cache.get(_rejections_key(connection_id)) or []


@csrf_exempt
@require_POST
def webhook(request, connection_id: int):
    # Only what the check needs: no other secret is decrypted on this hot path.
    found = (
        ZoomConnection.objects.filter(pk=connection_id)
        .values_list("status", "sync_webinar_data", "webhook_secret_token", "zoom_account_id")
        .first()
    )
    if found is None:
        return _unknown_connection(connection_id)
    connection_status, sync_webinar_data, secret, zoom_account_id = found
    body = request.body
    timestamp = request.headers.get("x-zm-request-timestamp", "")
    if not timestamp_fresh(timestamp, time.time()):
        return _reject(
            connection_id,
            401,
            "stale_timestamp",
            "x-zm-request-timestamp is missing or older than five minutes.",
        )
    if not signature_valid(secret, timestamp, body, request.headers.get("x-zm-signature", "")):
        return _reject(
            connection_id,
            401,
            "bad_signature",
            "x-zm-signature does not match the connection's secret token.",
        )
    try:
        # An escaped NUL is valid JSON, but PostgreSQL's text and jsonb cannot hold it, and
        # Zoom never sends one.
        if b"\\u0000" in body:
            raise ValueError
        envelope = json.loads(body)
        event = envelope["event"]
        payload = envelope.get("payload", {})
        if not isinstance(event, str) or not isinstance(payload, dict):
            raise TypeError
        event_ts = int(envelope.get("event_ts") or 0)
        if not EVENT_TS_RANGE[0] <= event_ts <= EVENT_TS_RANGE[1]:
            raise ValueError  # the column is a 64-bit integer
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
        return _reject(
            connection_id,
            400,
            "malformed_body",
            "The body is not a Zoom event: JSON with 'event' and 'payload'.",
        )
    if event == "endpoint.url_validation":
        plain = str(payload.get("plainToken", ""))
        return JsonResponse(url_validation_answer(secret, plain))

    # Rule Z10: applied only to the connection whose Zoom account sent it. A valid signature
    # proves the sender knows the app's secret token, not which account the event is about: one
    # Zoom app, and so one secret token, serves every account that added it. Checked after the
    # signature, so an unsigned request learns nothing about the account. 403, not 401: the
    # sender is authenticated but this connection does not take its events, and signing again
    # will not change that (Zoom retries a refused delivery a few times, then drops it).
    # A connection whose account is not known yet (an OAuth connection before its
    # authorization completes) cannot tell its own events from another account's: it refuses
    # them all, and stores none to apply later. URL validation, answered above, needs no account.
    if not zoom_account_id:
        return _reject(
            connection_id,
            403,
            "account_unknown",
            "This connection's Zoom account is not known yet: complete its authorization.",
        )
    if payload.get("account_id") != zoom_account_id:
        return _reject(
            connection_id,
            403,
            "wrong_account",
            "payload.account_id is not the Zoom account of this connection.",
        )

    outcome, status = "", DeliveryStatus.RECEIVED
    if connection_status != ConnectionStatus.CONNECTED:
        outcome, status = "disconnected", DeliveryStatus.IGNORED
    elif not sync_webinar_data:
        outcome, status = "sync_disabled", DeliveryStatus.IGNORED  # rule S1
    now = timezone.now()
    try:
        stored = _store(
            connection_id=connection_id,
            delivery_key=hashlib.sha256(body).hexdigest(),
            event=event[:80],
            event_ts=event_ts,
            payload=payload,
            received_at=now,
            status=status,
            outcome=outcome,
            processed_at=now if status == DeliveryStatus.IGNORED else None,
        )
    except IntegrityError:  # the connection was deleted since it was read
        return _unknown_connection(connection_id)
    if not stored:
        return JsonResponse({"status": "duplicate"})  # a replay: already stored, no effect
    count_ended_at_receipt(status)  # for /metrics: stored ignored, it ends here
    if status == DeliveryStatus.RECEIVED:
        transaction.on_commit(lambda: _enqueue(connection_id))
    if outcome:
        return JsonResponse({"status": "ignored", "reason": outcome})
    return JsonResponse({"status": "accepted"})


def _store(**values) -> bool:
    """Stores one delivery unless its key is stored already (a replay); True when it was new.

    One `INSERT … ON CONFLICT DO NOTHING` on the unique (connection, delivery key): outside a
    transaction it commits by itself, so the hot path opens and closes none, and inside a
    caller's transaction a replay raises nothing that would break it. Values are prepared by the
    model's own fields, as `save()` would."""
    meta = WebhookDelivery._meta
    fields = [meta.get_field(name) for name in values]
    quote = db.ops.quote_name
    key = ", ".join(quote(meta.get_field(name).column) for name in ("connection", "delivery_key"))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({key}) DO NOTHING"
    )
    params = [
        f.get_db_prep_save(v, connection=db) for f, v in zip(fields, values.values(), strict=True)
    ]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


# The drain flag is held from the moment a drain is queued until it has finished, so at most one
# drain per connection is queued or running and the deliveries stored meanwhile wait for it. It
# expires on its own in case a worker dies holding it; the beat's `drain_webhooks` then applies
# what was left.
FLAG_SECONDS = 60
# A queued drain starts this much later, so that a steady flow is applied in batches of some
# dozens (one plan, a constant number of queries each) rather than a few at a time; it bounds
# what it adds to a delivery's delay.
GATHER_SECONDS = 0.1


def _enqueue(connection_id: int) -> None:
    from ..tasks import process_webhook

    if not shared_cache():
        process_webhook.delay(connection_id=connection_id)
    elif cache.add(pending_flag(connection_id), 1, timeout=FLAG_SECONDS):
        process_webhook.apply_async(
            kwargs={"connection_id": connection_id}, countdown=GATHER_SECONDS
        )


def drain_finished(connection_id: int, *, look_again: bool = True) -> None:
    """Releases the drain flag, then looks once more: a delivery stored after the drain read its
    last batch found the flag held and queued nothing, so a drain is queued for it now."""
    if not shared_cache():
        return
    cache.delete(pending_flag(connection_id))
    if (
        look_again
        and WebhookDelivery.objects.filter(
            connection_id=connection_id, status=DeliveryStatus.RECEIVED
        ).exists()
    ):
        _enqueue(connection_id)


def shared_cache() -> bool:
    """The flag needs a cache every process sees (Redis); a local-memory cache (embedded mode)
    is per process, so there every delivery queues a drain of its own."""
    from django.conf import settings

    return "locmem" not in settings.CACHES["default"]["BACKEND"].lower()


def pending_flag(connection_id: int) -> str:
    return f"zoom-webhooks-pending:{connection_id}"
