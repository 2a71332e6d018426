"""The optional control token: with ZOOM_SANDBOX_CONTROL_TOKEN (or --control-token) set, every
`/_sandbox` call must carry it in X-Sandbox-Control-Token, else 401 with a JSON error and nothing
changes; Zoom's own surface (/oauth, /v2) never asks for it. Unset, the surface is open."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.sandbox import running_sandbox
from tests.zoom_sandbox.helpers import UPCOMING_ID, bearer, s2s_token, scenario
from zoom_sandbox.control import ROUTES

TOKEN = "control-token-for-tests-0123456789"
HEADER = "X-Sandbox-Control-Token"


def _control_calls() -> list[tuple[str, str]]:
    """Every (method, path) of the control surface, path parameters filled in."""
    calls = []
    for route in ROUTES:
        path = route.path.format(account_id="acct_demo", webinar_id=UPCOMING_ID, action="join")
        for method in sorted(route.methods - {"HEAD"}):
            calls.append((method, path))
    return calls


CONTROL_CALLS = _control_calls()


@pytest.fixture(scope="module")
def guarded_url() -> Iterator[str]:
    with running_sandbox(env={"ZOOM_SANDBOX_CONTROL_TOKEN": TOKEN}) as url:
        yield url


@pytest.fixture
def guarded(guarded_url: str) -> Iterator[httpx.Client]:
    """A client on the token-guarded sandbox, reset and loaded (with the token)."""
    with httpx.Client(base_url=guarded_url, timeout=10, trust_env=False) as client:
        authorised = {HEADER: TOKEN}
        client.post("/_sandbox/reset", headers=authorised).raise_for_status()
        client.post("/_sandbox/scenario", json=scenario(), headers=authorised).raise_for_status()
        yield client


def test_every_control_call_is_listed():
    # The matrix below covers the whole surface: a route added later is covered too.
    assert ("POST", "/_sandbox/reset") in CONTROL_CALLS
    assert ("GET", "/_sandbox/state") in CONTROL_CALLS
    assert ("POST", f"/_sandbox/live/{UPCOMING_ID}/join") in CONTROL_CALLS
    assert len(CONTROL_CALLS) >= 20


@pytest.mark.parametrize("presented", [None, "", "wrong-token", TOKEN + "x", TOKEN[:-1]])
@pytest.mark.parametrize(("method", "path"), CONTROL_CALLS)
def test_a_control_call_without_the_token_is_refused(guarded, method, path, presented):
    headers = {} if presented is None else {HEADER: presented}
    answer = guarded.request(method, path, headers=headers, json={})
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["error"] == "unauthorized"
    assert HEADER in body["message"]


def test_a_refused_call_changes_nothing(guarded):
    before = guarded.get("/_sandbox/state", headers={HEADER: TOKEN}).json()
    assert guarded.post("/_sandbox/reset").status_code == 401
    assert guarded.post("/_sandbox/generate", json={"webinars": 1}).status_code == 401
    faults = {"rules": [{"path": "/v2/users", "status": 503, "times": 5}]}
    assert guarded.post("/_sandbox/faults", json=faults).status_code == 401
    assert guarded.get("/_sandbox/state", headers={HEADER: TOKEN}).json() == before
    assert guarded.get("/_sandbox/faults", headers={HEADER: TOKEN}).json() == {"rules": []}


def test_a_control_call_with_the_token_is_served(guarded):
    authorised = {HEADER: TOKEN}
    state = guarded.get("/_sandbox/state", headers=authorised)
    assert state.status_code == 200
    assert [a["id"] for a in state.json()["accounts"]] == ["acct_demo", "acct_other"]
    assert guarded.post("/_sandbox/reset", headers=authorised).json() == {"ok": True}
    assert guarded.get("/_sandbox/state", headers=authorised).json()["accounts"] == []


def test_an_unknown_control_path_is_refused_too(guarded):
    assert guarded.get("/_sandbox/nothing-here").status_code == 401
    assert guarded.get("/_sandbox/nothing-here", headers={HEADER: TOKEN}).status_code == 404


def test_zooms_own_surface_never_asks_for_the_control_token(guarded):
    guarded.post(
        "/_sandbox/settings", json={"rate_limits": False}, headers={HEADER: TOKEN}
    ).raise_for_status()
    token = s2s_token(guarded)  # /oauth/token without the control token
    users = guarded.get("/v2/users", headers=bearer(token))
    assert users.status_code == 200
    assert {u["id"] for u in users.json()["users"]} >= {"u_owner", "u_host"}
    webinar = guarded.get(f"/v2/webinars/{UPCOMING_ID}", headers=bearer(token))
    assert webinar.status_code == 200
    # Zoom's own 401 shape for a missing access token, not the control surface's.
    assert guarded.get("/v2/users").json() == {"code": 124, "message": "Requires an access token."}


def test_the_command_line_option_sets_the_token():
    with running_sandbox("--control-token", "from-the-command-line") as url:
        with httpx.Client(base_url=url, timeout=10, trust_env=False) as client:
            assert client.get("/_sandbox/state").status_code == 401
            answer = client.get("/_sandbox/state", headers={HEADER: "from-the-command-line"})
            assert answer.status_code == 200


def test_without_a_token_the_control_surface_is_open(sandbox):
    # The suite's own sandbox (tests/zoom_sandbox/conftest.py) runs without one.
    assert sandbox.get("/_sandbox/state").status_code == 200
    assert sandbox.post("/_sandbox/scenario", json=scenario()).status_code == 200
    assert sandbox.get("/_sandbox/state", headers={HEADER: "anything"}).status_code == 200
