"""Times as Zoom writes them (ISO-8601 UTC, ``Z`` suffix) and the sandbox's movable clock."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache


@lru_cache(maxsize=1 << 16)
def parse_time(value: str) -> float:
    """Epoch seconds of an ISO-8601 time (``Z`` or an offset; fractions allowed). Cached: a
    report's rows are read for every page and every summary of it."""
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def format_time(epoch: float) -> str:
    """Zoom's shape: whole seconds, UTC, ``Z`` (e.g. ``2021-07-13T21:44:51Z``)."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_date(epoch: float) -> date:
    return datetime.fromtimestamp(epoch, tz=UTC).date()


def parse_date(value: str) -> date:
    """``yyyy-mm-dd`` as report and recording windows take it; ValueError when malformed."""
    return date.fromisoformat(value)


def date_start(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def next_utc_midnight(epoch: float) -> str:
    """Daily limits reset at 00:00 UTC; Zoom's daily 429 names that instant in Retry-After."""
    day = utc_date(epoch) + timedelta(days=1)
    return f"{day.isoformat()}T00:00:00Z"


class Clock:
    """Real time plus an offset that the control surface can advance.

    Token lifetimes (1 h), page-token expiry (15 min) and "unexpired" webinar listings all read
    this clock, so tests move time forward instead of waiting.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def reset(self) -> None:
        self.offset = 0.0
