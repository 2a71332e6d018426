"""Fault injection (each kind), the request log, and Zoom's rate limits."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.zoom_sandbox.helpers import UPCOMING_ID, bearer, s2s_token, scenario


def _faults(client: httpx.Client, *rules: dict[str, object]) -> None:
    client.post("/_sandbox/faults", json={"rules": list(rules)}).raise_for_status()


def test_status_fault_with_retry_after_then_normal(api: httpx.Client) -> None:
    _faults(
        api, {"method": "GET", "path": r"^/v2/users$", "status": 429, "times": 2, "retry_after": 1}
    )
    for _ in range(2):
        hit = api.get("/v2/users")
        assert hit.status_code == 429
        assert hit.headers["Retry-After"] == "1"
        assert hit.headers["X-RateLimit-Type"] == "QPS"
        assert hit.json()["code"] == 429
    assert api.get("/v2/users").status_code == 200
    assert api.get("/_sandbox/faults").json()["rules"][0]["times_left"] == 0


def test_503_fault_matches_method_and_path(api: httpx.Client) -> None:
    _faults(api, {"method": "POST", "path": "/registrants$", "status": 503})
    assert api.get(f"/v2/webinars/{UPCOMING_ID}/registrants").status_code == 200
    hit = api.post(
        f"/v2/webinars/{UPCOMING_ID}/registrants",
        json={"email": "z@example.com", "first_name": "Z", "last_name": "Z"},
    )
    assert (hit.status_code, hit.json()["code"]) == (503, 503)
    api.delete("/_sandbox/faults").raise_for_status()
    assert api.get("/_sandbox/faults").json() == {"rules": []}


def test_delay_fault(api: httpx.Client) -> None:
    _faults(api, {"path": "^/v2/users$", "delay_ms": 400})
    started = time.perf_counter()
    assert api.get("/v2/users").status_code == 200
    assert time.perf_counter() - started >= 0.4
    started = time.perf_counter()
    api.get("/v2/users")
    assert time.perf_counter() - started < 0.3


def test_dropped_connection(api: httpx.Client) -> None:
    _faults(api, {"path": "^/v2/users$", "drop_connection": True})
    with pytest.raises(httpx.TransportError):
        api.get("/v2/users")
    assert api.get("/v2/users").status_code == 200


def test_expired_token_fault(api: httpx.Client) -> None:
    _faults(api, {"path": "^/v2/users$", "expire_token": True})
    hit = api.get("/v2/users")
    assert (hit.status_code, hit.json()) == (401, {"code": 124, "message": "Invalid access token."})
    # the token really expired: the next call fails too, until a new token is fetched
    assert api.get("/v2/users/me").status_code == 401
    assert api.get("/v2/users", headers=bearer(s2s_token(api))).status_code == 200


def test_expired_page_token_fault(sandbox: httpx.Client) -> None:
    sandbox.post("/_sandbox/scenario", json=scenario(registrants=100)).raise_for_status()
    sandbox.headers.update(bearer(s2s_token(sandbox)))
    path = f"/v2/webinars/{UPCOMING_ID}/registrants"
    _faults(sandbox, {"path": "/registrants$", "expire_page_token": True})
    first = sandbox.get(path)  # no page token: the rule does not apply
    assert first.status_code == 200
    token = first.json()["next_page_token"]
    hit = sandbox.get(path, params={"next_page_token": token})
    assert (hit.status_code, hit.json()) == (
        400,
        {"code": 300, "message": "The next page token is invalid or expired."},
    )
    assert sandbox.get(path, params={"next_page_token": token}).status_code == 400


def test_request_log_records_faults(api: httpx.Client) -> None:
    api.delete("/_sandbox/requests").raise_for_status()
    _faults(api, {"path": "^/v2/users$", "status": 500})
    api.get("/v2/users", params={"status": "active"})
    api.get("/v2/users/me")
    log = api.get("/_sandbox/requests").json()["requests"]
    assert [(r["method"], r["path"], r["query"], r["account"], r["status"]) for r in log] == [
        ("GET", "/v2/users", "status=active", "acct_demo", 500),
        ("GET", "/v2/users/me", "", "acct_demo", 200),
    ]
    assert log[0]["fault"] == "status_500"


def test_rate_limit_429_headers(loaded: httpx.Client) -> None:
    free = scenario()
    free["accounts"][0]["plan"] = "free"  # Medium: 2 requests per second
    loaded.post("/_sandbox/scenario", json=free).raise_for_status()
    loaded.headers.update(bearer(s2s_token(loaded)))
    answers = [loaded.get("/v2/users") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["X-RateLimit-Category"] == "Medium"
    limited = answers[2]
    assert limited.json() == {
        "code": 429,
        "message": "You have reached the maximum per-second rate limit for this API. Try again "
        "later.",
    }
    assert limited.headers["X-RateLimit-Category"] == "Medium"
    assert limited.headers["X-RateLimit-Type"] == "QPS"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["Retry-After"] == "1"
    # Light is a separate budget (4/s on Free): a webinar read still works
    assert loaded.get(f"/v2/webinars/{UPCOMING_ID}").status_code == 200
    # another account is not affected
    other = s2s_token(loaded, "acct_other", "other-client", "other-secret")
    assert loaded.get("/v2/users", headers=bearer(other)).status_code == 200


def test_rate_limits_switch_off_and_daily_cap(loaded: httpx.Client) -> None:
    loaded.headers.update(bearer(s2s_token(loaded)))
    loaded.post(
        "/_sandbox/settings",
        json={"rate_limit_overrides": {"business": {"Heavy": {"daily": 2}}}},
    ).raise_for_status()
    path = "/v2/report/webinars/81000000002"
    assert [loaded.get(path).status_code for _ in range(2)] == [200, 200]
    daily = loaded.get(path)
    assert daily.status_code == 429
    assert daily.headers["X-RateLimit-Type"] == "Daily-limit"
    assert daily.headers["X-RateLimit-Category"] == "Heavy"
    assert daily.headers["Retry-After"].endswith("T00:00:00Z")
    loaded.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    assert loaded.get(path).status_code == 200


def test_three_registrations_per_registrant_per_day(loaded: httpx.Client) -> None:
    loaded.headers.update(bearer(s2s_token(loaded)))
    body = {"email": "same@example.com", "first_name": "S", "last_name": "S"}
    codes = [
        loaded.post(f"/v2/webinars/{UPCOMING_ID}/registrants", json=body).status_code
        for _ in range(4)
    ]
    assert codes == [201, 201, 201, 429]
