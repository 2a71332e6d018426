"""A per-Zoom-account rate limiter shared by all workers, on Django's cache (Redis in
production, so every worker sees the same counters). Zoom's limits are per account and label
(zoom-api.md §5); a 429's Retry-After pauses every worker of that account."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# Requests per second by label; Zoom's Pro figures, safe on every paid plan.
DEFAULT_LIMITS = {"light": 30, "medium": 20, "heavy": 10}


def configured_limits() -> dict[str, int | None]:
    """`DEFAULT_LIMITS`, overridden label by label by `settings.ZOOM_RATE_LIMITS` if set (an
    account on a bigger plan; None or 0 for a label means no client-side limit)."""
    return {**DEFAULT_LIMITS, **(getattr(settings, "ZOOM_RATE_LIMITS", None) or {})}


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
        current = cache.get(self._blocked_key()) or 0
        if until > current:
            cache.set(self._blocked_key(), until, timeout=int(seconds) + 5)

    def acquire(self, label: str) -> None:
        """Waits until a request of this label may go, then counts it."""
        limit = self.limits.get(label, self.limits["medium"])
        while True:
            now = self.clock()
            blocked_until = cache.get(self._blocked_key()) or 0
            if blocked_until > now:
                self.sleep(blocked_until - now)
                continue
            if not limit:
                return  # no client-side limit for this label; a 429's pause still holds
            second = int(now)
            key = f"zoom-rl:{self.account_id}:{label}:{second}"
            cache.add(key, 0, timeout=5)
            try:
                used = cache.incr(key)
            except ValueError:  # expired between add and incr
                continue
            if used <= limit:
                return
            self.sleep(max(0.0, second + 1 - now))
