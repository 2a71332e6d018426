"""Retrying a Zoom call from a task: transient errors and 429s back off (honouring Retry-After);
everything else is raised at once. The client itself never retries."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from ..client import ZoomRateLimited, ZoomTransientError, rate_label
from .ratelimit import AccountRateLimiter

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 6
BACKOFF = (0.5, 1, 2, 4, 8, 15)


def call_zoom(
    fn: Callable[[], T],
    *,
    limiter: AccountRateLimiter,
    label: str,
    sleep: Callable[[float], None] = time.sleep,
    what: str = "",
) -> T:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        limiter.acquire(label)
        try:
            with rate_label(label):
                return fn()
        except ZoomRateLimited as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            limiter.block(exc.retry_after)
            logger.info(
                "zoom.sync.rate_limited",
                extra={"what": what, "attempt": attempt, "retry_after": exc.retry_after},
            )
        except ZoomTransientError as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            delay = BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]
            logger.info(
                "zoom.sync.transient_error",
                extra={"what": what, "attempt": attempt, "delay": delay, "error": str(exc)},
            )
            sleep(delay)
    raise AssertionError("unreachable")
