"""Event counters shared by every process: counts of things no table holds (Zoom API calls,
429s, refused webhook deliveries, segment count timings) or that a table would give only by
scanning it (webhook deliveries by final status, and their latency), kept in the default cache
so that the web, the workers and the beat add to the same figures and `/metrics` reads them
wherever it runs. Per-process counters would be wrong here: each process would report its own
share.

On Redis an increment is one `INCRBY` (pipelined when several keys move together) on a key
without expiry: about one local round trip. On any other cache (local memory in the embedded
demo) the figures are this process's own. Counting never fails the work it counts: a cache
that is down loses the increment and logs it.

Keys are `metrics:<name>:<label>`; names and labels come from fixed sets chosen by the code,
never from a request, so the number of keys stays bounded."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from .cache import redis_client

logger = logging.getLogger(__name__)
PREFIX = "metrics"
_local_lock = threading.Lock()


def counter_key(name: str, label: str = "") -> str:
    return f"{PREFIX}:{name}:{label}"


def counters_add(increments: Mapping[str, int]) -> None:
    """Adds each amount to its counter key (made with `counter_key`), all in one round trip on
    Redis."""
    backend = caches["default"]
    try:
        if isinstance(backend, RedisCache):
            client = redis_client()
            if len(increments) == 1:
                ((key, amount),) = increments.items()
                client.incrby(backend.make_and_validate_key(key), amount)
                return
            pipe = client.pipeline(transaction=False)
            for key, amount in increments.items():
                pipe.incrby(backend.make_and_validate_key(key), amount)
            pipe.execute()
            return
        with _local_lock:  # get-then-set made atomic within this process
            for key, amount in increments.items():
                backend.set(key, (backend.get(key) or 0) + amount, timeout=None)
    except Exception:  # noqa: BLE001 - a metric must never fail the work it measures
        logger.warning("metrics.counter_failed", exc_info=True)


def counter_incr(name: str, label: str = "", amount: int = 1) -> None:
    counters_add({counter_key(name, label): amount})


def counters_read(keys: Iterable[str]) -> dict[str, int]:
    """The current value of each key (0 for one never counted), in one round trip."""
    keys = list(keys)
    found = caches["default"].get_many(keys)
    return {key: int(found.get(key) or 0) for key in keys}


# Histograms in the same shared counters: one counter per bucket (observations at or below its
# upper bound, cumulative as Prometheus reads them), the count, and the sum in microseconds (an
# integer, so that every cache can add it).
def histogram_observe(name: str, label: str, seconds: float, buckets: Iterable[float]) -> None:
    counters_add(histogram_increments(name, label, [seconds], buckets))


def histogram_increments(
    name: str, label: str, observations: Iterable[float], buckets: Iterable[float]
) -> dict[str, int]:
    """What observing each of `observations` adds to one labelled histogram, as increments for
    `counters_add` (so that a batch of observations moves it in one round trip). Pure."""
    buckets = tuple(buckets)
    increments: dict[str, int] = {}
    count = sum_us = 0
    for seconds in observations:
        for bound in buckets:
            if seconds <= bound:
                key = counter_key(name, f"{label}:le={bound}")
                increments[key] = increments.get(key, 0) + 1
        count += 1
        sum_us += max(0, round(seconds * 1_000_000))
    if count:
        increments[counter_key(name, f"{label}:count")] = count
        increments[counter_key(name, f"{label}:sum_us")] = sum_us
    return increments


def histogram_keys(name: str, label: str, buckets: Iterable[float]) -> dict[str, str]:
    """The keys of one labelled histogram: {"le=<bound>" …, "count", "sum_us": key}."""
    keys = {f"le={bound}": counter_key(name, f"{label}:le={bound}") for bound in buckets}
    keys["count"] = counter_key(name, f"{label}:count")
    keys["sum_us"] = counter_key(name, f"{label}:sum_us")
    return keys
