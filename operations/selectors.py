"""The figures of `/metrics` that live in tables, read at scrape time with one aggregate query
each (four in all, whatever the size of the tables): the web, the workers and the beat run on
possibly separate machines, and only the database sees every run and execution. Webhook
deliveries, a far bigger table, are counted when they end instead
(`zoom_integration.webhooks.counting`); only the few still open are counted here, through a
partial index.

The histograms are counted in SQL (`COUNT(*) FILTER (WHERE duration <= bound)` per bucket, one
pass over the rows) so no row is loaded into Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, IntegerField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from marketing_events.rules import SkipReason
from workflows.models import ActionExecution, ExecutionStatus
from zoom_integration.models import SyncRun, SyncStatus, WebhookDelivery
from zoom_integration.webhooks.counting import OPEN_STATUSES

# What a run writes, as its `counts` name them (zoom_integration/sync/pipeline.py).
WRITTEN_KINDS = ("registrations", "attendance_rows", "contacts_created", "recordings")
SKIP_REASONS = tuple(reason.value for reason in SkipReason)
SYNC_DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0)


@dataclass(frozen=True)
class Histogram:
    buckets: dict[float, int]  # upper bound -> observations at or below it (cumulative)
    count: int
    sum_seconds: float


@dataclass(frozen=True)
class SyncFigures:
    runs_by_status: dict[str, int]
    records_read: int
    records_written: dict[str, int]
    skips: dict[str, int]
    duration: Histogram


def _duration(start: str, end: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def _json_int(field: str, key: str):
    return Coalesce(Sum(Cast(KT(f"{field}__{key}"), IntegerField())), 0)


def _histogram_aggregates(bounds: Sequence[float], among: Q) -> dict:
    """Aggregates of a histogram over the rows matching `among`, on a queryset annotated with
    `duration`: its count, sum and one cumulative count per bucket."""
    aggregates = {
        f"h_le_{i}": Count("pk", filter=among & Q(duration__lte=timedelta(seconds=bound)))
        for i, bound in enumerate(bounds)
    }
    aggregates["h_count"] = Count("pk", filter=among)
    aggregates["h_sum"] = Sum("duration", filter=among)
    return aggregates


def _histogram(row: dict, bounds: Sequence[float]) -> Histogram:
    return Histogram(
        buckets={bound: row[f"h_le_{i}"] for i, bound in enumerate(bounds)},
        count=row["h_count"],
        sum_seconds=row["h_sum"].total_seconds() if row["h_sum"] else 0.0,
    )


def sync_figures() -> SyncFigures:
    """Runs by status; records read and written, skips by reason (sums over every run's
    counts, running ones included: their counts only grow); durations of finished runs."""
    by_status = dict(SyncRun.objects.order_by().values_list("status").annotate(n=Count("pk")))
    finished = Q(
        status__in=(SyncStatus.SUCCEEDED, SyncStatus.FAILED),
        started_at__isnull=False,
        finished_at__isnull=False,
    )
    row = SyncRun.objects.annotate(duration=_duration("started_at", "finished_at")).aggregate(
        read=_json_int("counts", "zoom_records"),
        **{f"written_{kind}": _json_int("counts", kind) for kind in WRITTEN_KINDS},
        **{f"skip_{reason}": _json_int("skips", reason) for reason in SKIP_REASONS},
        **_histogram_aggregates(SYNC_DURATION_BUCKETS, finished),
    )
    return SyncFigures(
        runs_by_status={status: by_status.get(status, 0) for status in SyncStatus.values},
        records_read=row["read"],
        records_written={kind: row[f"written_{kind}"] for kind in WRITTEN_KINDS},
        skips={reason: row[f"skip_{reason}"] for reason in SKIP_REASONS},
        duration=_histogram(row, SYNC_DURATION_BUCKETS),
    )


def webhook_deliveries_open() -> dict[str, int]:
    """Deliveries waiting to be applied now, by status (received, waiting): read through the
    partial index `webhook_open_idx`, so the cost follows the backlog, not the table."""
    found = dict(
        WebhookDelivery.objects.filter(status__in=OPEN_STATUSES)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    return {status: found.get(status, 0) for status in OPEN_STATUSES}


def workflow_executions_by_status() -> dict[str, int]:
    found = dict(ActionExecution.objects.order_by().values_list("status").annotate(n=Count("pk")))
    return {status: found.get(status, 0) for status in ExecutionStatus.values}
