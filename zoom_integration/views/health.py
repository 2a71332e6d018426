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
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .. import selectors
from ..models import WebhookDelivery, ZoomConnection
from ..presentation import REJECTION_HINTS, outcome_text, rejection_text
from ..webhooks.receiver import recent_rejections
from .common import connection_or_404, fragment

RECENT_WINDOW = dt.timedelta(hours=24)
PROBLEMS_SHOWN = 5
REJECTIONS_SHOWN = 10


def _with_outcome_text(delivery: WebhookDelivery | None) -> WebhookDelivery | None:
    if delivery is not None:
        delivery.outcome_text = outcome_text(delivery.outcome or "")
    return delivery


def _rejections(connection_id: int) -> list[dict]:
    rows = []
    for item in recent_rejections(connection_id):
        reason = str(item.get("reason", ""))
        at = item.get("at")
        rows.append(
            {
                "at": parse_datetime(at) if isinstance(at, str) else None,
                "reason": reason,
                "reason_text": rejection_text(reason),
                "status": item.get("status"),
            }
        )
    return rows


def health_context(connection: ZoomConnection, *, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    counts = selectors.webhook_event_counts(connection=connection, since=now - RECENT_WINDOW)
    last = _with_outcome_text(selectors.webhook_last_delivery(connection=connection))
    problems = [
        _with_outcome_text(delivery)
        for delivery in selectors.webhook_problem_deliveries(
            connection=connection, limit=PROBLEMS_SHOWN
        )
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
                    "text": rejection_text(reason),
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
    connection = connection_or_404(connection_id)
    return fragment(request, "zoom_integration/_webhook_health.html", health_context(connection))
