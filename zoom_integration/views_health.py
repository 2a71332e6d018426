"""The webhook health panel of the Zoom Home tab (rule B4): the last event received, counts by
event type (last 24 hours and in total), deliveries waiting or failed with their outcome, and
the deliveries the receiver refused, with the reason in plain words.

Read-only for everyone signed in, like the rest of the page. The Home tab includes an empty
shell that loads this fragment at once and then every 5 s; a constant number of queries (three)
whatever the number of deliveries, and the refused ones come from the cache (the receiver keeps
no rows for them)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from .models import DeliveryStatus, WebhookDelivery, ZoomConnection
from .views import SKIP_TITLES, _fragment, _get_connection
from .webhooks.receiver import recent_rejections

RECENT_WINDOW = dt.timedelta(hours=24)
PROBLEMS_SHOWN = 5
REJECTIONS_SHOWN = 10
PROBLEM_STATUSES = (DeliveryStatus.WAITING, DeliveryStatus.FAILED)
# Columns the panel shows: the payload (possibly large) is never loaded.
DELIVERY_FIELDS = ("id", "connection_id", "event", "received_at", "status", "outcome")

REJECTION_REASONS = {
    "bad_signature": _("Bad signature (wrong secret token)"),
    "stale_timestamp": _("Stale timestamp (older than 5 minutes)"),
    "malformed_body": _("Malformed body"),
    "wrong_account": _("Another Zoom account's event"),
    "account_unknown": _("Zoom account not known yet"),
    # No longer counted (nothing is kept for connections that do not exist); entries cached
    # before that still read well until they expire.
    "unknown_connection": _("Unknown connection"),
}
REJECTION_HINTS = {
    "bad_signature": _(
        "The secret token in your Zoom app's Feature > Event subscriptions differs from the "
        "one saved with this connection."
    ),
    "stale_timestamp": _(
        "The request was signed more than 5 minutes before it arrived: a replay, or a clock "
        "that is off."
    ),
    "malformed_body": _("The body was not a Zoom event (JSON with 'event' and 'payload')."),
    "wrong_account": _(
        "Correctly signed, but about another Zoom account than this connection's (rule Z10): "
        "another account's app uses this URL and secret token. Nothing was applied."
    ),
    "account_unknown": _(
        "This connection's Zoom account is known once its authorization completes; until "
        "then no event can be shown to be its own, so none is applied."
    ),
    "unknown_connection": _("The URL names a connection that does not exist."),
}

# Outcomes the receiver and the processing record as codes, in plain words; others are shown
# as recorded (they are already sentences).
OUTCOME_TEXTS = {
    "sync_disabled": _("Ignored: Sync webinar data is off"),
    "wrong_account": _("Ignored: sent for another Zoom account"),
    "disconnected": _("Ignored: the connection is disconnected"),
    # The processing's fixed outcomes (`webhooks.processing`), stored in English.
    "event not used by the CRM": _("event not used by the CRM"),
    "payload without a webinar id": _("payload without a webinar id"),
    "registration pending approval": _("registration pending approval"),
    "recordings not synced for this host (S2/S4)": _("recordings not synced for this host (S2/S4)"),
}
# Outcomes stored with a detail after a fixed start, e.g. "skipped: no_email ana@example.com".
OUTCOME_PREFIXES = {
    "skipped: ": _("skipped: %(detail)s"),
    "waiting for the join of ": _("waiting for the join of %(detail)s"),
}


def outcome_text(outcome: str) -> str:
    """A recorded outcome in the reader's language (unknown ones as recorded). A skip names its
    reason code first ("skipped: no_email ana@example.com"): the reason's title replaces it."""
    if outcome in OUTCOME_TEXTS:
        return str(OUTCOME_TEXTS[outcome])
    for start, text in OUTCOME_PREFIXES.items():
        if outcome.startswith(start):
            detail = outcome[len(start) :]
            reason, _space, who = detail.partition(" ")
            if start == "skipped: " and reason in SKIP_TITLES:
                detail = f"{SKIP_TITLES[reason]} ({who})" if who else str(SKIP_TITLES[reason])
            return text % {"detail": detail}
    return outcome


def _with_outcome_text(delivery: WebhookDelivery | None) -> WebhookDelivery | None:
    if delivery is not None:
        delivery.outcome_text = outcome_text(delivery.outcome or "")
    return delivery


def _event_counts(connection: ZoomConnection, since: dt.datetime) -> list[dict]:
    """Per event type: deliveries in the window, in total, waiting and failed. One grouped
    query."""
    return list(
        WebhookDelivery.objects.filter(connection=connection)
        .order_by()
        .values("event")
        .annotate(
            recent=Count("id", filter=Q(received_at__gte=since)),
            total=Count("id"),
            waiting=Count("id", filter=Q(status=DeliveryStatus.WAITING)),
            failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
        )
        .order_by("-total", "event")
    )


def _rejections(connection_id: int) -> list[dict]:
    rows = []
    for item in recent_rejections(connection_id):
        reason = str(item.get("reason", ""))
        at = item.get("at")
        rows.append(
            {
                "at": parse_datetime(at) if isinstance(at, str) else None,
                "reason": reason,
                "reason_text": REJECTION_REASONS.get(reason, reason.replace("_", " ")),
                "status": item.get("status"),
            }
        )
    return rows


def health_context(connection: ZoomConnection, *, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    deliveries = WebhookDelivery.objects.filter(connection=connection).only(*DELIVERY_FIELDS)
    counts = _event_counts(connection, now - RECENT_WINDOW)
    last = _with_outcome_text(deliveries.order_by("-received_at", "-id").first())
    problems = [
        _with_outcome_text(delivery)
        for delivery in deliveries.filter(status__in=PROBLEM_STATUSES).order_by(
            "-received_at", "-id"
        )[:PROBLEMS_SHOWN]
    ]
    rejections = _rejections(connection.pk)
    rejection_counts: dict[str, int] = {}
    for row in rejections:
        rejection_counts[row["reason"]] = rejection_counts.get(row["reason"], 0) + 1
    return {
        "connection": connection,
        "health": {
            "loaded": True,
            "last": last,
            "counts": counts,
            "recent_total": sum(row["recent"] for row in counts),
            "total": sum(row["total"] for row in counts),
            "waiting": sum(row["waiting"] for row in counts),
            "failed": sum(row["failed"] for row in counts),
            "problems": problems,
            "rejections": rejections[:REJECTIONS_SHOWN],
            "rejection_total": len(rejections),
            "rejection_reasons": [
                {
                    "reason": reason,
                    "text": REJECTION_REASONS.get(reason, reason.replace("_", " ")),
                    "hint": REJECTION_HINTS.get(reason, ""),
                    "count": n,
                }
                for reason, n in sorted(rejection_counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ],
            "is_empty": last is None and not rejections,
        },
    }


@login_required
def webhook_health_fragment(request, connection_id: int):
    """The "Webhooks" card of the Home tab; polls itself every 5 s."""
    connection = _get_connection(connection_id)
    return _fragment(request, "zoom_integration/_webhook_health.html", health_context(connection))
