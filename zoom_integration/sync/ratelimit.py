"""A per-Zoom-account rate limiter shared by all workers, on Django's cache (Redis in
production, so every worker sees the same counters). Zoom's limits are per account and label
(zoom-api.md §5); a 429's Retry-After pauses every worker of that account."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

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
            # Zoom counts requests over a sliding second. Fixed one-second windows would let
            # 2 x limit through across a boundary, so time is cut into slots of one request
            # each, `limit - 2` slots a second: any sliding second spans at most `limit - 1`
            # of them, which leaves one request of slack for network jitter.
            slot_length = 1.0 / max(1, limit - 2)
            slot = int(now / slot_length + 1e-9)  # at a slot's start, that slot
            key = f"zoom-rl:{self.account_id}:{label}:{slot}"
            if cache.add(key, 1, timeout=5):
                return
            self.sleep(max(0.0, (slot + 1) * slot_length - now))
