"""Webhook deliveries counted for `/metrics` when they reach a final status (applied, ignored,
failed), with the receipt → applied latency of the applied ones, in the shared counters
(`crm.counters`). Counting at that moment, rather than scanning the deliveries table at every
scrape, keeps a scrape's cost independent of the table's size, and pruning old deliveries
never makes a counter go down.

Counts are sent after the transaction that set the statuses commits (`transaction.on_commit`),
so a rolled-back apply is never counted, and a batch's deliveries move the counters in one
round trip. A delivery retried after a crash is counted once, when it finally ends: only open
deliveries (received, waiting) are taken and updated, and a final status is never set twice.
If a process dies after the commit but before the counters are sent, those deliveries are not
counted at all: the figures may under-count by what such a crash loses, never double-count."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction

from crm.counters import counter_key, counters_add, histogram_increments

from ..models import DeliveryStatus, WebhookDelivery

DELIVERIES_COUNTER = "webhook_deliveries"
LATENCY_HISTOGRAM = "webhook_apply_latency"
LATENCY_LABEL = "all"
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
FINAL_STATUSES = (DeliveryStatus.APPLIED, DeliveryStatus.IGNORED, DeliveryStatus.FAILED)
# Deliveries still to be applied: only these are taken and updated by processing, so a final
# status is set (and counted) once.
OPEN_STATUSES = (DeliveryStatus.RECEIVED, DeliveryStatus.WAITING)


def ended_increments(ended: Iterable[tuple[str, float]]) -> dict[str, int]:
    """What deliveries that reached a final status add to the counters: one per status, and the
    latency of each applied one (`(status, seconds from receipt to processing)` pairs). Pure."""
    increments: dict[str, int] = {}
    latencies = []
    for status, seconds in ended:
        key = counter_key(DELIVERIES_COUNTER, status)
        increments[key] = increments.get(key, 0) + 1
        if status == DeliveryStatus.APPLIED:
            latencies.append(seconds)
    increments.update(
        histogram_increments(LATENCY_HISTOGRAM, LATENCY_LABEL, latencies, LATENCY_BUCKETS)
    )
    return increments


class DeliveryTally:
    """The deliveries a batch ended, counted together once their statuses are committed."""

    def __init__(self) -> None:
        self._ended: list[tuple[str, float]] = []

    def add(self, status: str, deliveries: Iterable[WebhookDelivery], processed_at: dt.datetime):
        """`deliveries` were just set to `status` (final ones are kept; others are not counted)."""
        if status not in FINAL_STATUSES:
            return
        self._ended.extend(
            (status, (processed_at - d.received_at).total_seconds()) for d in deliveries
        )

    def count_on_commit(self) -> None:
        """Sends what was tallied, in one round trip, once the current transaction commits (at
        once outside one); a rollback discards it."""
        increments = ended_increments(self._ended)
        self._ended = []
        if increments:
            transaction.on_commit(lambda: counters_add(increments))


def count_ended_at_receipt(status: str) -> None:
    """A delivery stored already final (ignored at receipt: disconnected, rule S1)."""
    if status in FINAL_STATUSES:
        increments = ended_increments([(status, 0.0)])
        transaction.on_commit(lambda: counters_add(increments))
