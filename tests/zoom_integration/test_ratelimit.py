"""The client-side rate limits: Zoom's per plan (zoom-api.md §5), overridden label by label by
the ZOOM_RATE_LIMITS environment variable; and the limiter's per-second counting."""

import threading

import pytest
from django.core.exceptions import ImproperlyConfigured

from zoom_integration.models import ZoomPlan
from zoom_integration.sync.ratelimit import (
    PLAN_LIMITS,
    AccountRateLimiter,
    configured_limits,
    limit_overrides,
)


def test_every_plan_choice_has_limits():
    assert set(PLAN_LIMITS) == set(ZoomPlan.values)


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        ("pro", {"light": 30, "medium": 20, "heavy": 10}),
        ("business", {"light": 80, "medium": 60, "heavy": 40}),
        ("unknown", {"light": 30, "medium": 20, "heavy": 10}),  # the safe ones
    ],
)
def test_limits_follow_the_plan(settings, plan, expected):
    settings.ZOOM_RATE_LIMITS = ""
    assert configured_limits(plan) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", {}),
        ("light=20,heavy=8", {"light": 20, "heavy": 8}),
        (" Medium = 15 , ", {"medium": 15}),
        ("light=0,medium=0,heavy=0", {"light": None, "medium": None, "heavy": None}),
        ({"heavy": None, "light": 5}, {"heavy": None, "light": 5}),
    ],
)
def test_overrides_are_read_from_the_environment_value(value, expected):
    assert limit_overrides(value) == expected


@pytest.mark.parametrize("value", ["light", "light=fast", "heavy=-1", "huge=10", "light="])
def test_a_malformed_value_names_the_variable(value):
    with pytest.raises(ImproperlyConfigured, match="ZOOM_RATE_LIMITS"):
        limit_overrides(value)


def test_overrides_win_label_by_label(settings):
    settings.ZOOM_RATE_LIMITS = "heavy=8,medium=0"
    assert configured_limits("business") == {"light": 80, "medium": None, "heavy": 8}


@pytest.fixture(params=["local", "redis"])
def counters(request):
    """Where the limiter keeps its counters: the process's cache (development, one process),
    or Redis (production: one Lua step per request, shared by every worker)."""
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    return request.param


@pytest.mark.parametrize("limit", [10, 30, 80])
def test_no_sliding_second_holds_more_than_the_limit(limit, counters):
    # Zoom (and the sandbox) count over a sliding second: a burst at the end of one second
    # and another at the start of the next must not add up to more than the limit.
    now = [100.9]
    granted = []

    def sleep(seconds):
        now[0] += seconds

    limiter = AccountRateLimiter(
        f"acct-slide-{limit}-{counters}", limits={"light": limit, "medium": 1, "heavy": 1},
        clock=lambda: now[0], sleep=sleep,
    )  # fmt: skip
    for _ in range(limit * 3):
        limiter.acquire("light")
        granted.append(now[0])
    worst = max(sum(1 for t in granted if start <= t < start + 1) for start in granted)
    assert worst <= limit - 1
    assert granted[-1] - granted[0] <= 3 * limit / (limit - 2)  # and runs near the limit
    before = now[0]
    limiter.acquire("heavy")  # labels count apart
    assert now[0] == before


def test_no_limit_means_no_wait_but_a_retry_after_still_holds(counters):
    now = [50.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = AccountRateLimiter(
        f"acct-rl-off-{counters}",
        limits={"light": None, "medium": None, "heavy": None},
        clock=lambda: now[0],
        sleep=sleep,
    )
    for _ in range(100):
        limiter.acquire("heavy")
    assert slept == []
    limiter.block(2)
    limiter.acquire("heavy")
    assert slept == [pytest.approx(2)]


def test_waiting_requests_each_reserve_their_own_slot(counters):
    # Requests that arrive together (threads of several workers) take consecutive slots in one
    # step each: none is refused and retried, none shares a slot with another.
    limit = 12  # 10 slots a second
    now = 500.0
    waits = []
    lock = threading.Lock()

    def sleep(seconds):
        with lock:
            waits.append(round(seconds, 6))

    def worker():
        limiter = AccountRateLimiter(
            f"acct-herd-{counters}", limits={"light": limit, "medium": limit, "heavy": limit},
            clock=lambda: now, sleep=sleep,
        )  # fmt: skip
        for _ in range(5):
            limiter.acquire("medium")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The clock stands still: the first request goes at once, the 19 others wait for slots
    # 0.1 s apart, all different.
    assert sorted(waits) == [pytest.approx(0.1 * n) for n in range(1, 20)]


def test_a_retry_after_pauses_requests_of_every_label(counters):
    now = [1000.0]

    def sleep(seconds):
        now[0] += seconds

    limiter = AccountRateLimiter(
        f"acct-block-{counters}", limits={"light": 80, "medium": 60, "heavy": 40},
        clock=lambda: now[0], sleep=sleep,
    )  # fmt: skip
    limiter.block(3.5)
    limiter.block(1)  # a shorter pause does not cut the longer one short
    limiter.acquire("light")
    assert now[0] == pytest.approx(1003.5)
    limiter.acquire("heavy")
    assert now[0] < 1003.6
