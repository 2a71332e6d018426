import datetime as dt
from decimal import Decimal

import pytest

from marketing_events.attendance import event_level, merged_seconds, percent_of

T0 = dt.datetime(2026, 9, 10, 15, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("sessions", "expected_minutes"),
    [
        ([], 0),
        ([(at(0), at(30))], 30),
        # Rejoin with overlap: 0-30 and 20-50 cover 50 minutes, not 60 (rule M2).
        ([(at(0), at(30)), (at(20), at(50))], 50),
        # Disjoint rejoin: summed.
        ([(at(0), at(10)), (at(20), at(30))], 20),
        # Nested and unordered.
        ([(at(20), at(25)), (at(0), at(60)), (at(10), at(15))], 60),
        # Touching sessions.
        ([(at(0), at(10)), (at(10), at(20))], 20),
        # A leave before the join counts nothing.
        ([(at(10), at(5))], 0),
    ],
)
def test_overlapping_sessions_are_merged_never_summed(sessions, expected_minutes):  # rule M2
    assert merged_seconds(sessions) == expected_minutes * 60


def test_an_open_session_runs_until_now_only_when_asked():
    assert merged_seconds([(at(0), None)]) == 0
    assert merged_seconds([(at(0), None), (at(5), at(10))], now=at(30)) == 30 * 60


@pytest.mark.parametrize(
    ("duration", "length", "expected"),
    [
        (1800, 3600, "50.0"),
        (2100, 3600, "58.3"),
        (4000, 3600, "100.0"),
        (10, 0, "0.0"),
        (0, 3600, "0.0"),
        (1, 3, "33.3"),
    ],
)
def test_percent_has_one_decimal_and_is_capped_at_100(duration, length, expected):  # rule M2
    assert percent_of(duration, length) == Decimal(expected)


def test_event_level_sums_durations_and_averages_percents():
    assert event_level([]) == (0, None)
    assert event_level([(1800, Decimal("50.0")), (600, Decimal("25.0"))]) == (2400, Decimal("37.5"))
