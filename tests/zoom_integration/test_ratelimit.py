"""The client-side rate limits: Zoom's per plan (zoom-api.md §5), overridden label by label by
the ZOOM_RATE_LIMITS environment variable; and the limiter's per-second counting."""

import threading
import time

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


def test_a_changed_limit_never_crashes_nor_exceeds_the_new_limit(counters):
    # A worker at the Business limit leaves its label's key in the counters; a few seconds
    # later the limit is lower (ZOOM_RATE_LIMITS changed, the account's plan changed, a worker
    # of an older deploy still running). The key must neither crash the limiter (the slot
    # numbers of one limit read under another were a wait of centuries: OverflowError in
    # time.sleep) nor let the new limit be exceeded.
    now = [time.time()]
    granted = []

    def sleep(seconds):
        assert seconds < 1, f"a limiter asked to sleep {seconds} s"
        now[0] += seconds

    account = f"acct-change-{counters}-{time.time_ns()}"

    def limiter(limit):
        return AccountRateLimiter(
            account, limits={"light": limit, "medium": limit, "heavy": limit},
            clock=lambda: now[0], sleep=sleep,
        )  # fmt: skip

    fast = limiter(80)
    for _ in range(40):
        fast.acquire("heavy")
    slow = limiter(10)
    for _ in range(30):
        slow.acquire("heavy")
        granted.append(now[0])
    worst = max(sum(1 for t in granted if start <= t < start + 1) for start in granted)
    assert worst <= 10 - 1
    assert granted[-1] - granted[0] <= 30 / (10 - 2)  # and runs near the new limit
    faster = limiter(80)  # and back up: the lower limit's key holds it back no longer
    before = now[0]
    for _ in range(40):
        faster.acquire("heavy")
    assert now[0] - before <= 40 / (80 - 2) + 1 / (10 - 2)


def test_a_changed_limit_with_the_real_clock_and_sleep(counters):
    # The same with time itself: the old key made `time.sleep` raise OverflowError.
    account = f"acct-change-real-{counters}-{time.time_ns()}"
    AccountRateLimiter(account, limits={"light": 80, "medium": 80, "heavy": 80}).acquire("light")
    AccountRateLimiter(account, limits={"light": 80, "medium": 80, "heavy": 80}).acquire("light")
    started = time.monotonic()
    AccountRateLimiter(account, limits={"light": 10, "medium": 10, "heavy": 10}).acquire("light")
    assert time.monotonic() - started < 1


def test_a_garbled_or_far_future_key_is_not_waited_for(counters):
    # Whatever a key holds (a value of another format, a clock that jumped), a request never
    # waits more than the queue of requests before it could make it wait.
    from django.core.cache import cache

    from zoom_integration.sync.ratelimit import _counters

    account = f"acct-garbled-{counters}-{time.time_ns()}"
    limiter = AccountRateLimiter(account, limits={"light": 10, "medium": 10, "heavy": 10})
    key = limiter._slot_key("light")
    counters_ = _counters()
    for value in ("135000000000", "not a number", "1e300"):
        if counters == "redis":
            counters_.client.set(counters_.backend.make_and_validate_key(key), value, ex=30)
        else:
            cache.set(key, value, 30)
        started = time.monotonic()
        limiter.acquire("light")
        assert time.monotonic() - started < 1, value
