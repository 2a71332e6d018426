"""`/metrics`' figures as Prometheus metric families, gathered at scrape time by one custom
collector: the tables' figures through `selectors` (a bounded number of aggregate queries), the
events no table holds, or that only a scan of the deliveries table would give, from the shared
counters (`crm.counters`: Zoom calls and 429s by rate-limit label, refused webhook deliveries,
webhook deliveries by final status and their latency, segment count timings), and Celery's
queue depth from the broker. No figure is a per-process counter: the web process that answers
a scrape reports what every process did.

Every name starts with `zoomcrm_`; labels take values from fixed sets only."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from crm.counters import counter_key, counters_read, histogram_keys
from segments.selectors import COUNT_BUCKETS, COUNT_KINDS, COUNT_LATENCY
from zoom_integration.client.api import CALLS_COUNTER, RATE_LABELS, RATE_LIMITED_COUNTER
from zoom_integration.webhooks.counting import (
    DELIVERIES_COUNTER,
    FINAL_STATUSES,
    LATENCY_BUCKETS,
    LATENCY_HISTOGRAM,
    LATENCY_LABEL,
)
from zoom_integration.webhooks.receiver import METRIC_REASONS, REFUSED_COUNTER

from . import selectors
from .queues import queue_depths

ZOOM_LABELS = (*sorted(RATE_LABELS), "unlabelled")


def _buckets(histogram: selectors.Histogram) -> list[tuple[str, float]]:
    rows = [(_bound(bound), float(n)) for bound, n in histogram.buckets.items()]
    return [*rows, ("+Inf", float(histogram.count))]


def _bound(bound: float) -> str:
    return repr(float(bound))


def _counted_buckets(keys: dict[str, str], bounds, values: dict[str, int]):
    """A histogram kept in the shared counters (`crm.counters.histogram_keys`), as buckets."""
    rows = [(_bound(b), float(values[keys[f"le={b}"]])) for b in bounds]
    return [*rows, ("+Inf", float(values[keys["count"]]))]


def _sum(keys: dict[str, str], values: dict[str, int]) -> float:
    return values[keys["sum_us"]] / 1_000_000


def _labelled(family_type, name: str, help_text: str, label: str, values: dict) -> object:
    """A metric family with one label, one sample per (label value, figure) of `values`."""
    family = family_type(name, help_text, labels=[label])
    for key, n in values.items():
        family.add_metric([str(key)], n)
    return family


class CrmCollector(Collector):
    def collect(self) -> Iterator:
        yield from self._sync()
        yield from self._webhooks()
        yield from self._workflows()
        yield from self._shared_counters()
        yield from self._queues()

    def _sync(self):
        figures = selectors.sync_figures()
        yield _labelled(
            CounterMetricFamily,
            "zoomcrm_sync_runs",
            "Sync runs by status (queued and running ones too).",
            "status",
            figures.runs_by_status,
        )
        yield CounterMetricFamily(
            "zoomcrm_sync_records_read",
            "Records read from Zoom by sync runs (registrants and participants).",
            value=figures.records_read,
        )
        yield _labelled(
            CounterMetricFamily,
            "zoomcrm_sync_records_written",
            "What sync runs wrote, by kind.",
            "kind",
            figures.records_written,
        )
        yield _labelled(
            CounterMetricFamily,
            "zoomcrm_sync_skips",
            "People and webinars sync runs skipped, by reason (rule Z9).",
            "reason",
            figures.skips,
        )
        duration = HistogramMetricFamily(
            "zoomcrm_sync_run_duration_seconds",
            "How long finished (succeeded or failed) sync runs took, start to finish.",
        )
        duration.add_metric([], _buckets(figures.duration), figures.duration.sum_seconds)
        yield duration

    def _webhooks(self):
        yield _labelled(
            GaugeMetricFamily,
            "zoomcrm_webhook_deliveries_open",
            "Accepted Zoom webhook deliveries not applied yet, by status.",
            "status",
            selectors.webhook_deliveries_open(),
        )

    def _workflows(self):
        yield _labelled(
            CounterMetricFamily,
            "zoomcrm_workflow_executions",
            "Workflow action executions by status.",
            "status",
            selectors.workflow_executions_by_status(),
        )

    def _shared_counters(self):
        calls = {label: counter_key(CALLS_COUNTER, label) for label in ZOOM_LABELS}
        limited = {label: counter_key(RATE_LIMITED_COUNTER, label) for label in ZOOM_LABELS}
        refused = {reason: counter_key(REFUSED_COUNTER, reason) for reason in METRIC_REASONS}
        timings = {kind: histogram_keys(COUNT_LATENCY, kind, COUNT_BUCKETS) for kind in COUNT_KINDS}
        ended = {status: counter_key(DELIVERIES_COUNTER, status) for status in FINAL_STATUSES}
        latency = histogram_keys(LATENCY_HISTOGRAM, LATENCY_LABEL, LATENCY_BUCKETS)
        keys = [*calls.values(), *limited.values(), *refused.values(), *ended.values()]
        keys += [key for per_kind in timings.values() for key in per_kind.values()]
        keys += latency.values()
        values = counters_read(keys)  # one round trip

        def read(source: dict) -> dict:
            return {label: values[key] for label, key in source.items()}

        yield _labelled(
            CounterMetricFamily,
            "zoomcrm_zoom_api_calls",
            "Zoom API calls by rate-limit label.",
            "label",
            read(calls),
        )
        yield _labelled(
            CounterMetricFamily,
            "zoomcrm_zoom_api_rate_limited",
            "Zoom API 429 answers by rate-limit label.",
            "label",
            read(limited),
        )
        yield _labelled(
            CounterMetricFamily,
            "zoomcrm_webhook_refused",
            "Zoom webhook deliveries refused before being stored, by reason.",
            "reason",
            read(refused),
        )
        yield _labelled(
            CounterMetricFamily,
            "zoomcrm_webhook_deliveries",
            "Accepted Zoom webhook deliveries that reached a final status, by that status.",
            "status",
            read(ended),
        )
        family = HistogramMetricFamily(
            "zoomcrm_webhook_apply_latency_seconds",
            "From a webhook delivery's receipt to its being applied.",
        )
        family.add_metric(
            [], _counted_buckets(latency, LATENCY_BUCKETS, values), _sum(latency, values)
        )
        yield family
        family = HistogramMetricFamily(
            "zoomcrm_segment_count_duration_seconds",
            "How long counting a segment's contacts took in the database, by kind.",
            labels=["kind"],
        )
        for kind, per_kind in timings.items():
            family.add_metric(
                [kind], _counted_buckets(per_kind, COUNT_BUCKETS, values), _sum(per_kind, values)
            )
        yield family

    def _queues(self):
        depths = queue_depths()
        known = GaugeMetricFamily(
            "zoomcrm_celery_queue_length_known",
            "1 when the broker's queue lengths can be read (Redis, filesystem), else 0.",
            value=0 if depths is None else 1,
        )
        yield known
        yield _labelled(
            GaugeMetricFamily,
            "zoomcrm_celery_queue_length",
            "Messages waiting in a Celery queue.",
            "queue",
            depths or {},
        )


registry = CollectorRegistry(auto_describe=False)
registry.register(CrmCollector())
