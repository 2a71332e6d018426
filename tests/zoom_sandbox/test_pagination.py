"""next_page_token pagination: page sizes, several pages, 15-minute token expiry (code 300)."""

from __future__ import annotations

import httpx

from tests.zoom_sandbox.helpers import UPCOMING_ID, bearer, s2s_token, scenario

INVALID = {"code": 300, "message": "The next page token is invalid or expired."}


def _load(client: httpx.Client, registrants: int) -> httpx.Client:
    client.post("/_sandbox/scenario", json=scenario(registrants=registrants)).raise_for_status()
    client.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    client.headers.update(bearer(s2s_token(client)))
    return client


def test_pages_of_300_cover_every_registrant_once(sandbox: httpx.Client) -> None:
    client = _load(sandbox, 701)  # 700 visible: r_0002 is cancelled
    path = f"/v2/webinars/{UPCOMING_ID}/registrants"
    seen: list[str] = []
    pages = []
    params = {"page_size": "300"}
    while True:
        body = client.get(path, params=params).json()
        pages.append(body)
        seen.extend(r["id"] for r in body["registrants"])
        if not body["next_page_token"]:
            break
        params = {"page_size": "300", "next_page_token": body["next_page_token"]}
    assert [len(p["registrants"]) for p in pages] == [300, 300, 100]
    assert [p["page_number"] for p in pages] == [1, 2, 3]
    assert {(p["page_size"], p["page_count"], p["total_records"]) for p in pages} == {(300, 3, 700)}
    assert pages[-1]["next_page_token"] == ""
    assert len(seen) == len(set(seen)) == 700
    assert "r_0002" not in seen


def test_page_size_default_and_maximum(sandbox: httpx.Client) -> None:
    client = _load(sandbox, 400)
    path = f"/v2/webinars/{UPCOMING_ID}/registrants"
    assert len(client.get(path).json()["registrants"]) == 30
    capped = client.get(path, params={"page_size": "1000"}).json()
    assert capped["page_size"] == 300 and len(capped["registrants"]) == 300


def test_page_token_expires_after_15_minutes(sandbox: httpx.Client) -> None:
    client = _load(sandbox, 100)
    path = f"/v2/webinars/{UPCOMING_ID}/registrants"
    first = client.get(path, params={"page_size": "30"}).json()
    fresh = client.get(
        path, params={"page_size": "30", "next_page_token": first["next_page_token"]}
    )
    assert fresh.status_code == 200
    client.post("/_sandbox/clock", json={"advance_seconds": 901}).raise_for_status()
    stale = client.get(
        path, params={"page_size": "30", "next_page_token": first["next_page_token"]}
    )
    assert (stale.status_code, stale.json()) == (400, INVALID)


def test_page_token_is_tied_to_its_list(sandbox: httpx.Client) -> None:
    client = _load(sandbox, 100)
    token = client.get(f"/v2/webinars/{UPCOMING_ID}/registrants").json()["next_page_token"]
    elsewhere = client.get("/v2/users", params={"next_page_token": token})
    assert (elsewhere.status_code, elsewhere.json()) == (400, INVALID)
    junk = client.get(f"/v2/webinars/{UPCOMING_ID}/registrants", params={"next_page_token": "x"})
    assert (junk.status_code, junk.json()) == (400, INVALID)


def test_users_page_size_goes_to_2000(sandbox: httpx.Client) -> None:
    data = scenario()
    data["accounts"][0]["users"] += [
        {"id": f"u_{n}", "email": f"user{n}@acme.test", "role": "member"} for n in range(400)
    ]
    sandbox.post("/_sandbox/scenario", json=data).raise_for_status()
    sandbox.headers.update(bearer(s2s_token(sandbox)))
    body = sandbox.get("/v2/users", params={"page_size": "2000"}).json()
    assert (body["page_size"], body["total_records"], len(body["users"])) == (2000, 402, 402)
    assert body["next_page_token"] == ""


def test_a_webinars_closed_sessions_follow_its_sessions() -> None:
    # The participants listings page through `Webinar.closed_sessions`, kept between pages:
    # a session that begins or ends (zoom_sandbox.live) is seen at once.
    from zoom_sandbox.store import Webinar

    def session(name: str, leave: str | None) -> dict:
        return {"name": name, "join_time": "2026-01-01T10:00:00Z", "leave_time": leave}

    instance = {"uuid": "u1", "participants": [session("Ana", "2026-01-01T10:30:00Z")]}
    webinar = Webinar({"id": 1, "registrants": [], "instances": [instance]}, account=None)
    assert [p["name"] for _i, p in webinar.closed_sessions(instance)] == ["Ana"]
    instance["participants"].append(session("Bo", None))  # joined: open, not listed
    assert [p["name"] for _i, p in webinar.closed_sessions(instance)] == ["Ana"]
    instance["participants"][1]["leave_time"] = "2026-01-01T10:40:00Z"
    webinar.sessions_changed(instance)  # as `live.leave` says it
    assert [(i, p["name"]) for i, p in webinar.closed_sessions(instance)] == [(0, "Ana"), (1, "Bo")]
