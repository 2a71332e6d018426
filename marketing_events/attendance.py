"""Attendance arithmetic (rule M2), pure: merge a person's join/leave sessions so overlapping
ones count once, and turn durations into a percent of the actual length, capped at 100."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

Interval = tuple[dt.datetime, dt.datetime | None]
_HUNDRED = Decimal("100.0")
_TENTH = Decimal("0.1")


def merged_seconds(sessions: Iterable[Interval], *, now: dt.datetime | None = None) -> int:
    """Total seconds covered by the sessions, overlaps merged, never summed. A session with no
    leave yet (live webinar) runs until `now`; without `now` it counts nothing yet."""
    spans = []
    for join, leave in sessions:
        end = leave if leave is not None else now
        if end is None or end <= join:
            continue
        spans.append((join, end))
    spans.sort()
    total = 0.0
    current_start = current_end = None
    for start, end in spans:
        if current_end is None or start > current_end:
            if current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_end is not None:
        total += (current_end - current_start).total_seconds()
    return int(total)


def percent_of(duration_seconds: int, length_seconds: int) -> Decimal:
    """Percent of the actual length with one decimal, capped at 100. An unknown length (0)
    gives 0 rather than a division by zero."""
    if length_seconds <= 0 or duration_seconds <= 0:
        return Decimal("0.0")
    # Tenths of a percent, rounded half up, in integers: duration * 1000 / length + 1/2.
    tenths = (2000 * duration_seconds + length_seconds) // (2 * length_seconds)
    return _HUNDRED if tenths >= 1000 else Decimal(tenths).scaleb(-1)


def event_level(per_occurrence: Iterable[tuple[int, Decimal]]) -> tuple[int, Decimal | None]:
    """Event-level attendance from (duration, percent) per attended occurrence: the durations
    summed, the percents averaged (DESIGN "Decisions on details")."""
    rows = list(per_occurrence)
    if not rows:
        return 0, None
    if len(rows) == 1:  # one occurrence (most webinars): its own values
        duration, percent = rows[0]
        return duration, Decimal(percent).quantize(_TENTH, rounding=ROUND_HALF_UP)
    total = sum(duration for duration, _percent in rows)
    mean = sum(percent for _duration, percent in rows) / len(rows)
    return total, Decimal(mean).quantize(_TENTH, rounding=ROUND_HALF_UP)
