"""Account-level rate limits by Zoom's labels and plan (zoom-api.md §5, Zoom's rate-limits page).

Per-second (per-minute for Resource-intensive) limits are sliding windows, so three quick calls
on a 2/s label reliably trip the third. Daily caps count per UTC day: Free has one per label;
Pro and Business+ share one cap between Heavy and Resource-intensive. Over a limit → ``429``
with ``X-RateLimit-Category``, ``X-RateLimit-Type`` (``QPS`` | ``Daily-limit``),
``X-RateLimit-Limit``, ``X-RateLimit-Remaining: 0`` and ``Retry-After`` (seconds for QPS, the next
00:00 UTC as an ISO timestamp for daily limits, as Zoom's former rate-limit page shows).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from typing import Any

from .errors import ZoomError
from .timeutil import next_utc_midnight, utc_date

LIGHT, MEDIUM, HEAVY, INTENSIVE = "Light", "Medium", "Heavy", "Resource-intensive"
QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
DAILY_MESSAGE = (
    "You have reached the maximum daily rate limit for this API. Refer to the response header "
    "for details on when you can make another request."
)

# (requests, window seconds, daily cap or None); "shared" caps Heavy + Resource-intensive.
_BUSINESS = {
    LIGHT: (80, 1, None),
    MEDIUM: (60, 1, None),
    HEAVY: (40, 1, "shared"),
    INTENSIVE: (20, 60, "shared"),
}
_PRO = {
    LIGHT: (30, 1, None),
    MEDIUM: (20, 1, None),
    HEAVY: (10, 1, "shared"),
    INTENSIVE: (10, 60, "shared"),
}
_FREE = {LIGHT: (4, 1, 6000), MEDIUM: (2, 1, 2000), HEAVY: (1, 1, 1000), INTENSIVE: (10, 60, 30000)}
TABLES: dict[str, dict[str, tuple[int, int, object]]] = {"free": _FREE, "pro": _PRO}
SHARED_DAILY = {"pro": 30_000}
BUSINESS_PLUS_SHARED_DAILY = 60_000
# Registration requests: 3 per registrant per webinar per UTC day (user-level limit).
REGISTRATIONS_PER_DAY = 3


def table_for(plan: str) -> dict[str, tuple[int, int, object]]:
    # Business, Education, Enterprise and Partners share the Business+ table.
    return TABLES.get(plan, _BUSINESS)


class RateLimiter:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._daily: dict[tuple[str, str, object], int] = {}
        # {"plan": {"Label": {"rate": n, "window": s, "daily": n}}} from /_sandbox/settings
        self.overrides: dict[str, dict[str, dict[str, Any]]] = {}

    def reset(self) -> None:
        self._windows.clear()
        self._daily.clear()

    def _limits(self, plan: str, category: str) -> tuple[int, int, int | None, str]:
        rate, window, daily = table_for(plan)[category]
        daily_key = category
        if daily == "shared":
            daily_key = "Heavy+Resource-intensive"
            daily = SHARED_DAILY.get(plan, BUSINESS_PLUS_SHARED_DAILY)
        override = self.overrides.get(plan, {}).get(category, {})
        rate = int(override.get("rate", rate))
        window = int(override.get("window", window))
        daily = override.get("daily", daily)
        return rate, window, daily if daily is None else int(daily), daily_key

    def check(self, account_id: str, plan: str, category: str) -> dict[str, str]:
        """Count one request; raise 429 when over; answer headers for a successful response."""
        now = self._now()
        rate, window, daily, daily_key = self._limits(plan, category)
        calls = self._windows.setdefault((account_id, category), deque())
        while calls and calls[0] <= now - window:
            calls.popleft()
        if len(calls) >= rate:
            retry = max(1, math.ceil(calls[0] + window - now))
            raise _too_many(category, "QPS", rate, str(retry), QPS_MESSAGE)
        remaining = ""
        if daily is not None:
            key = (account_id, daily_key, utc_date(now))
            used = self._daily.get(key, 0)
            if used >= daily:
                raise _too_many(
                    category, "Daily-limit", daily, next_utc_midnight(now), DAILY_MESSAGE
                )
            self._daily[key] = used + 1
            remaining = str(daily - used - 1)
        calls.append(now)
        if not remaining:
            remaining = str(rate - len(calls))
        return {"X-RateLimit-Category": category, "X-RateLimit-Remaining": remaining}

    def check_registration(self, account_id: str, webinar_id: int, email: str) -> None:
        now = self._now()
        key = (account_id, f"register:{webinar_id}:{email}", utc_date(now))
        used = self._daily.get(key, 0)
        if used >= REGISTRATIONS_PER_DAY:
            raise _too_many(
                LIGHT,
                "Daily-limit",
                REGISTRATIONS_PER_DAY,
                next_utc_midnight(now),
                "You have reached the maximum daily rate limit (3) of registration requests for "
                "this registrant in this webinar. You may resume these requests at GMT 00:00:00.",
            )
        self._daily[key] = used + 1


def _too_many(category: str, kind: str, limit: int, retry_after: str, message: str) -> ZoomError:
    return ZoomError(
        429,
        429,
        message,
        headers={
            "Retry-After": retry_after,
            "X-RateLimit-Category": category,
            "X-RateLimit-Type": kind,
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
        },
    )
