"""Sandbox: registrant answers, custom questions, tracking sources and ``source_id`` over HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.zoom_sandbox.helpers import (
    ENDED_ID,
    STRICT_ID,
    UPCOMING_ID,
    bearer,
    s2s_token,
    scenario,
)

SOURCES = [
    {
        "id": "ts_linkedin",
        "source_name": "LinkedIn",
        "tracking_url": "https://zoom.us/webinar/register/ts_linkedin/WN_x",
        "visitor_count": 40,
        "registration_count": 12,
    },
    {"id": "ts_news", "source_name": "Newsletter"},
]


@pytest.fixture
def tracked(sandbox: httpx.Client) -> httpx.Client:
    data = scenario()
    upcoming = data["accounts"][0]["webinars"][0]
    upcoming["tracking_sources"] = SOURCES
    upcoming["registrants"][0].update(
        {"org": "Acme", "job_title": "CTO", "source_id": "ts_linkedin"}
    )
    sandbox.post("/_sandbox/scenario", json=data).raise_for_status()
    sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    sandbox.headers.update(bearer(s2s_token(sandbox)))
    return sandbox


def test_tracking_sources_in_zooms_shape(tracked: httpx.Client) -> None:
    answer = tracked.get(f"/v2/webinars/{UPCOMING_ID}/tracking_sources")
    assert answer.status_code == 200
    assert answer.json() == {
        "total_records": 2,
        "tracking_sources": [
            {
                "id": "ts_linkedin",
                "source_name": "LinkedIn",
                "tracking_url": "https://zoom.us/webinar/register/ts_linkedin/WN_x",
                "visitor_count": 40,
                "registration_count": 12,
            },
            {
                "id": "ts_news",
                "source_name": "Newsletter",
                "tracking_url": "",
                "visitor_count": 0,
                "registration_count": 0,
            },
        ],
    }
    none = tracked.get(f"/v2/webinars/{ENDED_ID}/tracking_sources")
    assert none.json() == {"total_records": 0, "tracking_sources": []}
    unknown = tracked.get("/v2/webinars/99999999999/tracking_sources")
    assert (unknown.status_code, unknown.json()["code"]) == (404, 3001)


def test_registrants_carry_answers_and_source(tracked: httpx.Client) -> None:
    listed = tracked.get(f"/v2/webinars/{UPCOMING_ID}/registrants").json()["registrants"]
    first = listed[0]
    assert (first["org"], first["job_title"], first["source_id"]) == ("Acme", "CTO", "ts_linkedin")
    assert "source_id" not in listed[1]  # only a registration made through a source has one
    by_source = tracked.get(
        f"/v2/webinars/{UPCOMING_ID}/registrants", params={"tracking_source_id": "ts_linkedin"}
    ).json()
    assert [r["id"] for r in by_source["registrants"]] == [first["id"]]
    assert by_source["total_records"] == 1


def test_registrants_listed_as_zoom_lists_them_carry_no_source(tracked: httpx.Client) -> None:
    # `registrant_source_ids` false: Zoom's own list has no `source_id` (its OpenAPI document
    # names none); only the `tracking_source_id` filter tells a source's registrants.
    settings = tracked.post("/_sandbox/settings", json={"registrant_source_ids": False})
    assert settings.json()["registrant_source_ids"] is False
    listed = tracked.get(f"/v2/webinars/{UPCOMING_ID}/registrants").json()["registrants"]
    assert not any("source_id" in r for r in listed)
    assert listed[0]["org"] == "Acme"  # the answers stay
    one = tracked.get(f"/v2/webinars/{UPCOMING_ID}/registrants/{listed[0]['id']}").json()
    assert "source_id" not in one
    by_source = tracked.get(
        f"/v2/webinars/{UPCOMING_ID}/registrants", params={"tracking_source_id": "ts_linkedin"}
    ).json()
    assert [r["id"] for r in by_source["registrants"]] == [listed[0]["id"]]
    refused = tracked.post("/_sandbox/settings", json={"registrant_source_ids": "no"})
    assert refused.status_code == 400
    tracked.post("/_sandbox/reset").raise_for_status()
    assert tracked.get("/_sandbox/settings").json()["registrant_source_ids"] is True


def test_registering_keeps_answers_and_counts_the_source(tracked: httpx.Client) -> None:
    created = tracked.post(
        f"/v2/webinars/{STRICT_ID}/registrants",
        json={
            "email": "new@example.com",
            "first_name": "New",
            "last_name": "Person",
            "org": "Initech",
            "job_title": "Analyst",
            "no_of_employees": "21-50",
            "custom_questions": [{"title": "Company size", "value": "11-100"}],
            "source_id": "unknown-source",  # ignored, as Zoom ignores it
        },
    )
    assert created.status_code == 201, created.text
    pending = tracked.get(f"/v2/webinars/{STRICT_ID}/registrants", params={"status": "pending"})
    person = pending.json()["registrants"][0]
    assert (person["org"], person["job_title"], person["no_of_employees"]) == (
        "Initech",
        "Analyst",
        "21-50",
    )
    assert person["custom_questions"] == [{"title": "Company size", "value": "11-100"}]
    assert "source_id" not in person

    tracked.post(
        f"/v2/webinars/{UPCOMING_ID}/registrants",
        json={
            "email": "src@example.com",
            "first_name": "S",
            "last_name": "R",
            "source_id": "ts_news",
        },
    ).raise_for_status()
    sources = tracked.get(f"/v2/webinars/{UPCOMING_ID}/tracking_sources").json()
    assert [s["registration_count"] for s in sources["tracking_sources"]] == [12, 1]
    state = tracked.get("/_sandbox/state").json()
    upcoming = state["accounts"][0]["webinars"][0]
    assert upcoming["registrants"][-1]["source_id"] == "ts_news"


def test_an_answer_longer_than_zoom_allows_is_refused(tracked: httpx.Client) -> None:
    answer = tracked.post(
        f"/v2/webinars/{STRICT_ID}/registrants",
        json={
            "email": "long@example.com",
            "first_name": "L",
            "last_name": "P",
            "org": "Acme",
            "custom_questions": [{"title": "Company size", "value": "x" * 129}],
        },
    )
    assert (answer.status_code, answer.json()["errors"]) == (
        400,
        [{"field": "Company size", "message": "Invalid field."}],
    )
    state = tracked.get("/_sandbox/state").json()
    assert state["accounts"][0]["webinars"][3]["registrants"] == []  # nobody registered


def test_generator_answers_a_share_and_every_registrant_on_request(sandbox: httpx.Client) -> None:
    params = {"webinars": 10, "registrants": 20, "seed": 3, "now": "2026-11-24T12:00:00Z"}
    sandbox.post("/_sandbox/generate", json=params).raise_for_status()
    webinars = sandbox.get("/_sandbox/state").json()["accounts"][0]["webinars"]
    tracked = [w for w in webinars if w.get("tracking_sources")]
    assert 0 < len(tracked) < len(webinars)  # a share, not all
    for webinar in tracked:
        ids = {s["id"] for s in webinar["tracking_sources"]}
        assert all(r["job_title"] for r in webinar["registrants"])
        used = [r["source_id"] for r in webinar["registrants"] if "source_id" in r]
        assert set(used) <= ids
        assert sum(s["registration_count"] for s in webinar["tracking_sources"]) == len(used)

    sandbox.post("/_sandbox/generate", json={**params, "answers": 1}).raise_for_status()
    everyone = sandbox.get("/_sandbox/state").json()["accounts"][0]["webinars"]
    assert all(r.get("job_title") and r.get("org") for w in everyone for r in w["registrants"])
    # the answers pass draws from its own random stream: ids and people do not move
    assert [w["id"] for w in everyone] == [w["id"] for w in webinars]
    assert [r["email"] for r in everyone[0]["registrants"]] == [
        r["email"] for r in webinars[0]["registrants"]
    ]
