"""Real time as Zoom has it: lists show unexpired webinars; ended ones are found via reports."""

from __future__ import annotations

import httpx

from tests.zoom_sandbox.helpers import (
    ENDED_ID,
    ENDED_UUID,
    RECURRING_ID,
    SLASH_UUID,
    STRICT_ID,
    UPCOMING_ID,
    at,
)


def _ids(client: httpx.Client, user: str, **params: str) -> list[int]:
    body = client.get(f"/v2/users/{user}/webinars", params=params).json()
    return [w["id"] for w in body["webinars"]]


def test_user_webinars_lists_only_unexpired(api: httpx.Client) -> None:
    assert _ids(api, "me") == [UPCOMING_ID]  # the ended webinar is not listed
    assert _ids(api, "u_host") == [STRICT_ID, RECURRING_ID]  # ordered by next start
    body = api.get("/v2/users/u_host/webinars").json()
    recurring = body["webinars"][1]
    assert recurring["start_time"] == at(days=6)  # the next occurrence still to come
    assert [k for k in body if k != "webinars"] == [
        "page_size",
        "page_number",
        "page_count",
        "total_records",
        "next_page_token",
    ]
    assert set(recurring) == {
        "uuid",
        "id",
        "host_id",
        "topic",
        "type",
        "start_time",
        "duration",
        "timezone",
        "agenda",
        "created_at",
        "join_url",
        "is_simulive",
    }


def test_webinars_expire_as_the_clock_moves(api: httpx.Client) -> None:
    api.post("/_sandbox/clock", json={"advance_seconds": 3 * 86400}).raise_for_status()
    api.headers["Authorization"] = "Bearer " + _fresh_token(api)
    assert _ids(api, "me") == []
    assert _ids(api, "u_host") == [STRICT_ID, RECURRING_ID]
    api.post("/_sandbox/clock", json={"advance_seconds": 4 * 86400}).raise_for_status()
    api.headers["Authorization"] = "Bearer " + _fresh_token(api)
    assert _ids(api, "u_host") == []
    # still reachable by id once expired
    assert api.get(f"/v2/webinars/{RECURRING_ID}").status_code == 200


def _fresh_token(client: httpx.Client) -> str:
    response = client.post(
        "/oauth/token",
        params={"grant_type": "account_credentials", "account_id": "acct_demo"},
        auth=("s2s-client", "s2s-secret"),
    )
    return response.json()["access_token"]


def test_history_meetings_find_ended_webinars(api: httpx.Client) -> None:
    window = {"from": at(days=-10)[:10], "to": at()[:10]}
    body = api.get(
        "/v2/report/history_meetings", params={**window, "meeting_type": "webinar"}
    ).json()
    assert [(m["meeting_id"], m["meeting_uuid"]) for m in body["history_meetings"]] == [
        (ENDED_ID, ENDED_UUID),
        (RECURRING_ID, SLASH_UUID),
    ]
    first = body["history_meetings"][0]
    assert (first["type"], first["host_email"], first["participants"]) == (
        "Webinar",
        "owner@acme.test",
        2,
    )
    assert body["next_page_token"] == "" and body["page_size"] == 30
    meetings_only = api.get(
        "/v2/report/history_meetings", params={**window, "meeting_type": "meeting"}
    ).json()
    assert meetings_only["history_meetings"] == []


def test_report_user_meetings_needs_two_participants(api: httpx.Client) -> None:
    window = {"from": at(days=-10)[:10], "to": at()[:10], "type": "past"}
    owner = api.get("/v2/report/users/u_owner/meetings", params=window).json()
    assert [m["uuid"] for m in owner["meetings"]] == [ENDED_UUID]
    assert (owner["from"], owner["to"], owner["total_records"]) == (window["from"], window["to"], 1)
    host = api.get("/v2/report/users/u_host/meetings", params=window).json()
    assert host["meetings"] == []  # a one-person session is not reported


def test_report_windows_out_of_range(api: httpx.Client) -> None:
    too_long = api.get(
        "/v2/report/history_meetings", params={"from": at(days=-40)[:10], "to": at()[:10]}
    )
    assert (too_long.status_code, too_long.json()) == (
        400,
        {
            "code": 300,
            "message": "The date range defined by the from and to parameters should only be one "
            "month.",
        },
    )
    too_old = api.get(
        "/v2/report/users/me/meetings",
        params={"from": at(days=-200)[:10], "to": at(days=-190)[:10]},
    )
    assert (too_old.status_code, too_old.json()["code"]) == (400, 300)
    assert "6 months" in too_old.json()["message"]
    missing = api.get("/v2/report/history_meetings")
    assert (missing.status_code, missing.json()) == (
        400,
        {"code": 300, "message": "Invalid parameter: from."},
    )
