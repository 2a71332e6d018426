"""`POST /integrations/zoom/webhooks/<connection_id>/`: verify the signature over the raw body
and the timestamp's freshness, answer `endpoint.url_validation` at once, store an accepted event
once (a replay is a no-op) and answer 200 fast; a task applies it after the commit.

Refused deliveries store nothing: they are counted, with their reason, in the cache for the
health panel."""

from __future__ import annotations

import hashlib
import json
import logging
import time

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..models import ConnectionStatus, DeliveryStatus, WebhookDelivery, ZoomConnection
from .signature import signature_valid, timestamp_fresh, url_validation_answer

logger = logging.getLogger(__name__)
REJECTIONS_KEPT = 50


def _reject(connection_id: int, status: int, reason: str, message: str) -> JsonResponse:
    logger.warning("zoom.webhook.rejected", extra={"connection": connection_id, "reason": reason})
    key = f"zoom-webhook-rejections:{connection_id}"
    recent = cache.get(key) or []
    recent.insert(0, {"at": timezone.now().isoformat(), "reason": reason, "status": status})
    cache.set(key, recent[:REJECTIONS_KEPT], timeout=7 * 24 * 3600)
    return JsonResponse({"error": reason, "message": message}, status=status)


def recent_rejections(connection_id: int) -> list[dict]:
    return cache.get(f"zoom-webhook-rejections:{connection_id}") or []


@csrf_exempt
@require_POST
def webhook(request, connection_id: int):
    # Only what the check needs: no other secret is decrypted on this hot path.
    connection = (
        ZoomConnection.objects.only("id", "status", "sync_webinar_data", "webhook_secret_token")
        .filter(pk=connection_id)
        .first()
    )
    if connection is None:
        return _reject(
            connection_id, 404, "unknown_connection", "No Zoom connection has this webhook URL."
        )
    body = request.body
    timestamp = request.headers.get("x-zm-request-timestamp", "")
    if not timestamp_fresh(timestamp, time.time()):
        return _reject(
            connection_id,
            401,
            "stale_timestamp",
            "x-zm-request-timestamp is missing or older than five minutes.",
        )
    if not signature_valid(
        connection.webhook_secret_token, timestamp, body, request.headers.get("x-zm-signature", "")
    ):
        return _reject(
            connection_id,
            401,
            "bad_signature",
            "x-zm-signature does not match the connection's secret token.",
        )
    try:
        envelope = json.loads(body)
        event = envelope["event"]
        if not isinstance(event, str) or not isinstance(envelope.get("payload", {}), dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return _reject(
            connection_id,
            400,
            "malformed_body",
            "The body is not a Zoom event: JSON with 'event' and 'payload'.",
        )
    if event == "endpoint.url_validation":
        plain = str((envelope.get("payload") or {}).get("plainToken", ""))
        return JsonResponse(url_validation_answer(connection.webhook_secret_token, plain))

    outcome, status = "", DeliveryStatus.RECEIVED
    if connection.status != ConnectionStatus.CONNECTED:
        outcome, status = "disconnected", DeliveryStatus.IGNORED
    elif not connection.sync_webinar_data:
        outcome, status = "sync_disabled", DeliveryStatus.IGNORED  # rule S1
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                connection=connection,
                delivery_key=hashlib.sha256(body).hexdigest(),
                event=event[:80],
                event_ts=int(envelope.get("event_ts") or 0),
                payload=envelope.get("payload") or {},
                status=status,
                outcome=outcome,
                processed_at=timezone.now() if status == DeliveryStatus.IGNORED else None,
            )
            if status == DeliveryStatus.RECEIVED:
                transaction.on_commit(lambda: _enqueue(connection.pk, delivery.pk))
    except IntegrityError:
        return JsonResponse({"status": "duplicate"})  # a replay: already stored, no effect
    return JsonResponse(
        {"status": "accepted" if not outcome else "ignored", "reason": outcome}
        if outcome
        else {"status": "accepted"}
    )


def _enqueue(connection_id: int, delivery_id: int) -> None:
    """One pending task per connection is enough: it drains everything stored before it
    starts (it clears this flag first), so a burst costs a handful of tasks, not one each."""
    from ..tasks import process_webhook

    if not shared_cache() or cache.add(pending_flag(connection_id), 1, timeout=60):
        process_webhook.delay(delivery_id)


def shared_cache() -> bool:
    """The flag needs a cache every process sees (Redis); a local-memory cache (embedded mode)
    is per process, so there every delivery queues its task."""
    from django.conf import settings

    return "locmem" not in settings.CACHES["default"]["BACKEND"].lower()


def pending_flag(connection_id: int) -> str:
    return f"zoom-webhooks-pending:{connection_id}"
