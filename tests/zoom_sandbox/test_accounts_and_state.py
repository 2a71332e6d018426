"""Several accounts side by side; the generator's determinism; state round trips."""

from __future__ import annotations

import json
from collections import Counter

import httpx

from tests.zoom_sandbox.helpers import (
    OTHER_ACCOUNT_WEBINAR_ID,
    UPCOMING_ID,
    bearer,
    demo_account,
    other_account,
    s2s_token,
)

GENERATE = {
    "accounts": 2,
    "webinars": 8,
    "registrants": 60,
    "attendance": 0.6,
    "seed": 7,
    "now": "2026-11-24T12:00:00Z",
    "live": True,
}


def test_tokens_cannot_cross_accounts(loaded: httpx.Client) -> None:
    other = bearer(s2s_token(loaded, "acct_other", "other-client", "other-secret"))
    demo = bearer(s2s_token(loaded))
    assert [u["id"] for u in loaded.get("/v2/users", headers=other).json()["users"]] == ["u_other"]
    assert loaded.get("/v2/users/u_owner", headers=other).status_code == 404
    assert loaded.get("/v2/users/owner@acme.test", headers=other).status_code == 404
    assert loaded.get(f"/v2/webinars/{UPCOMING_ID}", headers=other).status_code == 404
    assert loaded.get(f"/v2/webinars/{UPCOMING_ID}/registrants", headers=other).status_code == 404
    assert loaded.get(f"/v2/webinars/{OTHER_ACCOUNT_WEBINAR_ID}", headers=demo).status_code == 404
    me = loaded.get("/v2/users/me", headers=other).json()
    assert me["email"] == "boss@other.test"


def test_adding_and_replacing_an_account_leaves_others_intact(loaded: httpx.Client) -> None:
    demo = bearer(s2s_token(loaded))
    other = bearer(s2s_token(loaded, "acct_other", "other-client", "other-secret"))
    registered = loaded.post(
        f"/v2/webinars/{UPCOMING_ID}/registrants",
        json={"email": "kept@example.com", "first_name": "Kept", "last_name": "K"},
        headers=demo,
    )
    assert registered.status_code == 201

    third = {
        "id": "acct_third",
        "apps": [{"type": "s2s", "client_id": "third-client", "client_secret": "third-secret"}],
        "users": [{"id": "u_3", "email": "three@third.test", "role": "owner"}],
    }
    added = loaded.post("/_sandbox/accounts", json=third).json()
    assert added == {"id": "acct_third", "replaced": False, "users": 1, "webinars": 0}
    replaced_other = other_account()
    replaced_other["webinars"] = []
    answer = loaded.post("/_sandbox/accounts", json=replaced_other).json()
    assert answer["replaced"] is True and answer["webinars"] == 0

    # the replaced account's tokens are gone; the untouched account keeps its token and people
    assert loaded.get("/v2/users", headers=other).status_code == 401
    listed = loaded.get(f"/v2/webinars/{UPCOMING_ID}/registrants", headers=demo).json()
    assert "kept@example.com" in [r["email"] for r in listed["registrants"]]
    state = loaded.get("/_sandbox/state").json()
    assert [a["id"] for a in state["accounts"]] == ["acct_demo", "acct_other", "acct_third"]
    third_token = s2s_token(loaded, "acct_third", "third-client", "third-secret")
    assert loaded.get("/v2/users/me", headers=bearer(third_token)).json()["id"] == "u_3"


def test_bad_scenarios_are_refused(sandbox: httpx.Client) -> None:
    assert sandbox.post("/_sandbox/scenario", json={"nope": 1}).status_code == 400
    broken = demo_account()
    broken["webinars"][0]["id"] = "not-a-number"
    answer = sandbox.post("/_sandbox/scenario", json={"accounts": [broken]})
    assert answer.status_code == 400 and "integer" in answer.json()["error"]


def test_generate_is_deterministic(sandbox: httpx.Client) -> None:
    first = sandbox.post("/_sandbox/generate", json=GENERATE).json()
    state_one = sandbox.get("/_sandbox/state").content
    sandbox.post("/_sandbox/reset").raise_for_status()
    second = sandbox.post("/_sandbox/generate", json=GENERATE).json()
    state_two = sandbox.get("/_sandbox/state").content
    assert first == second and first["accounts"] == 2 and first["webinars"] == 16
    assert state_one == state_two
    different = sandbox.post("/_sandbox/generate", json={**GENERATE, "seed": 8})
    assert different.status_code == 200
    assert sandbox.get("/_sandbox/state").content != state_one


def test_state_round_trips_through_scenario(sandbox: httpx.Client) -> None:
    sandbox.post("/_sandbox/generate", json=GENERATE).raise_for_status()
    state = sandbox.get("/_sandbox/state").content
    sandbox.post("/_sandbox/reset").raise_for_status()
    loaded = sandbox.post(
        "/_sandbox/scenario", content=state, headers={"content-type": "application/json"}
    )
    assert loaded.status_code == 200
    assert sandbox.get("/_sandbox/state").content == state


def test_generated_scenario_has_the_hard_cases(sandbox: httpx.Client) -> None:
    sandbox.post("/_sandbox/generate", json=GENERATE).raise_for_status()
    state = json.loads(sandbox.get("/_sandbox/state").content)
    account = state["accounts"][0]
    domains = {u["email"].split("@")[1] for u in account["users"]}
    assert len(domains) >= 3
    webinars = account["webinars"]
    assert Counter(w["type"] for w in webinars) == Counter({5: 6, 9: 2})
    assert sum(w["zoom_events"] for w in webinars) == 1
    assert all(len(w["occurrences"]) == 4 for w in webinars if w["type"] == 9)
    now = "2026-11-24T12:00:00Z"
    assert any(w["start_time"] > now for w in webinars)  # upcoming
    live = [i for w in webinars for i in w["instances"] if i["end_time"] is None]
    assert len(live) == 1
    registrants = [r for w in webinars for r in w["registrants"]]
    emails = [r["email"] for r in registrants]
    assert any(e != e.strip() for e in emails)  # padded as typed
    assert any(e.strip() != e.strip().lower() for e in emails)  # mixed case
    assert any(r["status"] == "cancelled" for r in registrants)
    forms = {json.dumps(w["questions"]) for w in webinars}
    assert json.dumps([{"field_name": "last_name", "required": True}]) in forms
    assert any(q["required"] for w in webinars for q in w["custom_questions"])
    rows = [p for w in webinars for i in w["instances"] for p in i["participants"]]
    assert any(p["user_email"] == "" and p["registrant_id"] == "" for p in rows)  # guests
    assert any(p["user_email"] == "" and p["registrant_id"] for p in rows)  # hidden address
    assert all(p["user_email"] == p["user_email"].strip() for p in rows)  # Zoom trims
    assert _has_overlapping_rejoin(rows)
    files = {f["file_type"] for w in webinars for r in w["recordings"] for f in r["files"]}
    assert files == {"MP4", "TRANSCRIPT"}
    uuids = [i["uuid"] for w in webinars for i in w["instances"]]
    assert any(u.startswith("/") for u in uuids)


def _has_overlapping_rejoin(rows: list[dict[str, str]]) -> bool:
    by_person: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        if row["registrant_id"]:
            by_person.setdefault((row["registrant_id"], row["participant_user_id"]), []).append(row)
    for sessions in by_person.values():
        if len(sessions) == 2 and sessions[0]["leave_time"] and sessions[1]["join_time"]:
            if sessions[1]["join_time"] < sessions[0]["leave_time"]:
                return True
    return False


def test_generated_scenario_serves_the_api(sandbox: httpx.Client) -> None:
    sandbox.post("/_sandbox/generate", json={**GENERATE, "now": None}).raise_for_status()
    headers = bearer(s2s_token(sandbox, "acct_1", "s2s-client-1", "s2s-secret-1"))
    webinars = sandbox.get("/v2/users/me/webinars", headers=headers)
    assert webinars.status_code == 200
    state = json.loads(sandbox.get("/_sandbox/state").content)
    first = state["accounts"][0]["webinars"][0]
    visible = [r for r in first["registrants"] if r["status"] == "approved"]
    listed = sandbox.get(
        f"/v2/webinars/{first['id']}/registrants", params={"page_size": 300}, headers=headers
    ).json()
    assert listed["total_records"] == len(visible)
