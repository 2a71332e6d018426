"""A per-Zoom-account rate limiter shared by all workers, on Django's cache (Redis in
production, so every worker sees the same counters). Zoom's limits are per account and label
(zoom-api.md §5); a 429's Retry-After pauses every worker of that account."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured

from crm.cache import redis_client

logger = logging.getLogger(__name__)

LABELS = ("light", "medium", "heavy")
# Requests per second by label and Zoom plan (zoom-api.md §5). Pro's are safe on every plan
# with webinars; Business and above (Education, Enterprise, Partners) get more.
PLAN_LIMITS: dict[str, dict[str, int]] = {
    "pro": {"light": 30, "medium": 20, "heavy": 10},
    "business": {"light": 80, "medium": 60, "heavy": 40},
}
DEFAULT_LIMITS = PLAN_LIMITS["pro"]


def limit_overrides(value: str | dict | None = None) -> dict[str, int | None]:
    """`settings.ZOOM_RATE_LIMITS` (the environment variable, e.g. "light=20,heavy=8", or a
    dict) as {label: requests per second}; 0 or None means no client-side limit."""
    if value is None:
        value = getattr(settings, "ZOOM_RATE_LIMITS", None)
    if not value:
        return {}
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = [part.partition("=")[::2] for part in str(value).split(",") if part.strip()]
    out: dict[str, int | None] = {}
    for label, limit in items:
        label = str(label).strip().lower()
        try:
            number = 0 if limit is None else int(str(limit).strip())
        except ValueError:
            number = -1
        if label not in LABELS or number < 0:
            raise ImproperlyConfigured(
                f"ZOOM_RATE_LIMITS: {label}={limit} is not a limit; expected e.g. "
                "light=80,medium=60,heavy=40 (requests per second, 0 for none)."
            )
        out[label] = number or None
    return out


def configured_limits(plan: str = "pro") -> dict[str, int | None]:
    """The plan's limits, overridden label by label by `settings.ZOOM_RATE_LIMITS` if set (an
    account whose other apps use part of its budget, say; 0 for a label means no client-side
    limit). An unknown plan gets Pro's limits."""
    return {**PLAN_LIMITS.get(plan, DEFAULT_LIMITS), **limit_overrides()}


# Zoom counts requests over a sliding second. Fixed one-second windows would let 2 x limit
# through across a boundary, so requests are spaced: each label keeps the time its next
# request may start, and a request takes that time (or now, if later) and moves it on by
# 1 / (limit - 2) s; any sliding second then holds at most `limit - 2` requests, which leaves
# one of slack for network jitter. Reserving is one atomic step, whatever the number of
# threads and workers waiting; the request then sleeps until its time.
#
# The key holds a time, not a slot number of one limit's grid: a changed limit (the plan, the
# environment, an older worker still running) spaces the next requests by the new limit, and
# a key of any other shape or too far ahead (`MAX_AHEAD`) is taken as absent instead of being
# waited for.
MAX_AHEAD = 600.0

# On Redis, one round trip: KEYS[1] the account's blocked-until time, KEYS[2] (absent when the
# label has no limit) the label's next free time; ARGV: now, the spacing, MAX_AHEAD.
# Returns {blocked-until, reserved start or "-1"} as strings (a number Lua returns is cut to
# an integer); nothing is reserved while the account is blocked.
_RESERVE_LUA = """
local now = tonumber(ARGV[1])
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if blocked > now or #KEYS < 2 then
  return {string.format('%.6f', blocked), '-1'}
end
local start = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if start ~= start or start > now + tonumber(ARGV[3]) or start < now then
  start = now
end
local after = start + tonumber(ARGV[2])
redis.call('SET', KEYS[2], string.format('%.6f', after), 'EX', math.ceil(after - now) + 5)
return {string.format('%.6f', blocked), string.format('%.6f', start)}
"""
_reserve_script = None
_local_lock = threading.Lock()


class _RedisCounters:
    """The counters in Redis (the cache's own client and key prefix): every worker sees them."""

    def __init__(self, backend: RedisCache):
        self.backend = backend
        self.client = redis_client()

    def reserve(self, keys: list[str], now: float, spacing: float):
        global _reserve_script
        if _reserve_script is None:
            _reserve_script = self.client.register_script(_RESERVE_LUA)
        blocked, start = _reserve_script(
            keys=[self.backend.make_and_validate_key(k) for k in keys],
            args=[repr(now), repr(spacing), repr(MAX_AHEAD)],
            client=self.client,
        )
        start = float(start)
        return float(blocked), (None if start < 0 else start)

    def blocked_until(self, key: str) -> float:
        return _as_time(self.client.get(self.backend.make_and_validate_key(key)))

    def block_until(self, key: str, until: float, seconds: int) -> None:
        self.client.set(self.backend.make_and_validate_key(key), repr(until), ex=seconds)


class _CacheCounters:
    """The counters in any other cache (local memory in development and tests: one process),
    made atomic by a lock of this process."""

    def __init__(self, backend):
        self.backend = backend

    def reserve(self, keys: list[str], now: float, spacing: float):
        with _local_lock:
            blocked = self.blocked_until(keys[0])
            if blocked > now or len(keys) < 2:
                return blocked, None
            start = _as_time(self.backend.get(keys[1]))
            if not now <= start <= now + MAX_AHEAD:
                start = now
            after = start + spacing
            self.backend.set(keys[1], after, timeout=math.ceil(after - now) + 5)
            return blocked, start

    def blocked_until(self, key: str) -> float:
        return _as_time(self.backend.get(key))

    def block_until(self, key: str, until: float, seconds: int) -> None:
        self.backend.set(key, until, timeout=seconds)


def _as_time(value) -> float:
    """A stored time; 0 for an absent or unreadable one."""
    try:
        number = float(value or 0)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _counters():
    backend = caches["default"]
    return _RedisCounters(backend) if isinstance(backend, RedisCache) else _CacheCounters(backend)


class AccountRateLimiter:
    def __init__(
        self,
        account_id: str,
        *,
        limits: dict[str, int] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.account_id = account_id
        self.limits = limits or configured_limits()
        self.clock = clock
        self.sleep = sleep

    def _blocked_key(self) -> str:
        return f"zoom-rl:{self.account_id}:blocked-until"

    def block(self, seconds: float) -> None:
        """Everyone waits: Zoom said so (Retry-After)."""
        until = self.clock() + max(0.0, seconds)
        counters = _counters()
        if until > counters.blocked_until(self._blocked_key()):
            counters.block_until(self._blocked_key(), until, int(seconds) + 5)

    def _slot_key(self, label: str) -> str:
        return f"zoom-rl:{self.account_id}:{label}:next-at"

    def acquire(self, label: str) -> None:
        """Waits until a request of this label may go, then counts it."""
        limit = self.limits.get(label, self.limits["medium"])
        keys = [self._blocked_key()]
        spacing = 0.0
        if limit:  # else no client-side limit for this label; a 429's pause still holds
            keys.append(self._slot_key(label))
            spacing = 1.0 / max(1, limit - 2)
        counters = _counters()
        while True:
            now = self.clock()
            blocked_until, start = counters.reserve(keys, now, spacing)
            if blocked_until > now:
                # A Retry-After is seconds; a stored pause beyond MAX_AHEAD is not one.
                self.sleep(min(blocked_until - now, MAX_AHEAD))
                continue
            if start is not None and start > now:
                self.sleep(start - now)
            return
