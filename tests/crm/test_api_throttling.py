"""Per-token API rate limit (DESIGN "Production safety"): 429 with Retry-After past the rate,
HubSpot's rate headers on every token answer; sessions and other tokens are not counted."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from crm.api.throttling import TokenRateThrottle, parse_rate
from crm.services.tokens import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, moved by hand; a rate of 3 requests per 10 seconds."""
    now = [1_000_000.0]
    monkeypatch.setattr(TokenRateThrottle, "timer", lambda self: now[0])
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/10s"})
    cache.clear()
    yield now
    cache.clear()


def _headers(response) -> tuple[str, str, str]:
    return (
        response.headers.get("X-HubSpot-RateLimit-Max"),
        response.headers.get("X-HubSpot-RateLimit-Remaining"),
        response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"),
    )


def test_a_token_past_its_rate_gets_429_with_retry_after(clock, admin_api):
    answers = [admin_api.get("/api/v1/account/") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [_headers(a) for a in answers] == [
        ("3", "2", "10000"),
        ("3", "1", "10000"),
        ("3", "0", "10000"),
    ]
    clock[0] += 4
    refused = admin_api.get("/api/v1/account/")
    assert refused.status_code == 429
    # The first request leaves the window 10 s after it was made: 6 s from now.
    assert refused.headers["Retry-After"] == "6"
    assert refused.json()["code"] == "rate_limits"
    assert _headers(refused) == ("3", "0", "10000")


def test_the_hubspot_paths_answer_429_in_hubspots_shape(clock, admin_api):
    for _ in range(3):
        assert admin_api.get("/crm/v3/objects/contacts").status_code == 200
    refused = admin_api.get("/crm/v3/objects/contacts")
    assert refused.status_code == 429
    assert refused.json()["category"] == "RATE_LIMITS"
    assert int(refused.headers["Retry-After"]) == 10


def test_the_window_slides(clock, admin_api):
    for _ in range(3):
        admin_api.get("/api/v1/account/")
    clock[0] += 10.5
    again = admin_api.get("/api/v1/account/")
    assert again.status_code == 200
    assert _headers(again)[1] == "2"


def test_tokens_are_counted_apart_and_sessions_not_at_all(clock, admin_api, admin_user):
    for _ in range(3):
        admin_api.get("/api/v1/account/")
    assert admin_api.get("/api/v1/account/").status_code == 429

    other = APIClient()
    _token, clear = api_token_create(user=admin_user, name="second")
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {clear}")
    assert other.get("/api/v1/account/").status_code == 200

    browser = APIClient()
    browser.force_login(admin_user)
    answers = [browser.get("/api/v1/account/") for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert _headers(answers[-1]) == (None, None, None)


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("190/10s", (190, 10)), ("100/s", (100, 1)), ("6000/m", (6000, 60)), ("5/2h", (5, 7200))],
)
def test_rates_are_read_as_written(rate, parsed):
    assert parse_rate(rate) == parsed


def test_a_malformed_rate_is_refused_at_start_up(settings):
    from crm.api.throttling import check_rate_setting

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "x"}}
    errors = check_rate_setting()
    assert [e.id for e in errors] == ["crm.E001"]
