"""The engagement reports over HTTP: polls, Q&A, survey (anonymous rows as Zoom reports them),
recording viewers (paged, windows of at most a month), their rate-limit labels, and the
generator's share of them (rules E6, E7)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.zoom_sandbox.helpers import (
    ENDED_ID,
    ENDED_UUID,
    NOW,
    UPCOMING_ID,
    bearer,
    demo_account,
    iso,
    s2s_token,
)

ENDED_START = NOW - timedelta(days=3)


def engaged_scenario() -> dict[str, Any]:
    account = demo_account()
    ended = next(w for w in account["webinars"] if w["id"] == ENDED_ID)
    instance = ended["instances"][0]
    when = iso(ENDED_START + timedelta(minutes=20))
    instance["polls"] = [
        {
            "email": "person1@example.com",
            "name": "First1 Last1",
            "question_details": [
                {
                    "polling_id": "p1",
                    "question": "When?",
                    "answer": "This quarter",
                    "date_time": when,
                }
            ],
        },
        {
            "email": "",
            "name": "Anonymous Attendee",
            "question_details": [
                {"polling_id": "p1", "question": "When?", "answer": "Later", "date_time": when}
            ],
        },
    ]
    instance["qa"] = [
        {
            "email": "person1@example.com",
            "name": "First1 Last1",
            "question_details": [
                {
                    "question_id": "q1",
                    "question": "Is SSO included?",
                    "create_time": when,
                    "question_status": "answered",
                    "answer_details": [
                        {
                            "name": "Olga Owner",
                            "email": "owner@acme.test",
                            "content": "Yes",
                            "create_time": when,
                            "type": "host_answered_publicly",
                        }
                    ],
                }
            ],
        }
    ]
    instance["survey"] = {
        "survey_id": "s1",
        "survey_name": "Feedback",
        "answers": [
            {
                "email": "person1@example.com",
                "name": "First1 Last1",
                "answer_details": [
                    {"question_id": "sq1", "question": "Useful?", "answer": "5", "date_time": when}
                ],
            }
        ],
    }
    ended["recordings"][0]["views"] = [
        {
            "email": f"viewer{n}@example.com",
            "name": f"Viewer {n}",
            "date_time": iso(NOW - timedelta(days=2, minutes=n)),
            "duration": 100 + n,
        }
        for n in range(5)
    ] + [
        {
            "email": "old@example.com",
            "name": "Old",
            "date_time": iso(NOW - timedelta(days=60)),
            "duration": 10,
        }
    ]
    return {"accounts": [account]}


@pytest.fixture
def engaged(sandbox: httpx.Client) -> httpx.Client:
    sandbox.post("/_sandbox/scenario", json=engaged_scenario()).raise_for_status()
    sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    sandbox.headers.update(bearer(s2s_token(sandbox)))
    return sandbox


def test_report_polls_with_anonymous_rows_and_uuid_forms(engaged: httpx.Client) -> None:
    # rule E6: anonymous answers come as Zoom reports them (empty e-mail, "Anonymous Attendee")
    for key in (str(ENDED_ID), quote(ENDED_UUID, safe=""), quote(quote(ENDED_UUID, safe=""))):
        body = engaged.get(f"/v2/report/webinars/{key}/polls").json()
        assert (body["id"], body["uuid"]) == (ENDED_ID, ENDED_UUID)
        assert [(q["email"], q["name"]) for q in body["questions"]] == [
            ("person1@example.com", "First1 Last1"),
            ("", "Anonymous Attendee"),
        ]
        assert body["questions"][0]["question_details"][0]["answer"] == "This quarter"
        assert body["questions"][0]["first_name"] == "First1"
    past = engaged.get(f"/v2/past_webinars/{ENDED_ID}/polls").json()
    assert "first_name" not in past["questions"][0]
    assert past["questions"][1]["question_details"][0]["answer"] == "Later"


def test_report_qa_and_past_qa(engaged: httpx.Client) -> None:
    body = engaged.get(f"/v2/report/webinars/{ENDED_ID}/qa").json()
    detail = body["questions"][0]["question_details"][0]
    assert (detail["question"], detail["question_status"]) == ("Is SSO included?", "answered")
    assert detail["answer_details"][0]["content"] == "Yes"
    past = engaged.get(f"/v2/past_webinars/{ENDED_ID}/qa").json()
    assert past["questions"][0]["question_details"] == [
        {"question": "Is SSO included?", "answer": "Yes"}
    ]


def test_report_survey_shape(engaged: httpx.Client) -> None:
    body = engaged.get(f"/v2/report/webinars/{ENDED_ID}/survey").json()
    assert (body["webinar_id"], body["webinar_uuid"], body["survey_id"]) == (
        ENDED_ID,
        ENDED_UUID,
        "s1",
    )
    assert body["survey_answers"][0]["answer_details"][0]["answer"] == "5"


def test_empty_shapes_and_not_found(engaged: httpx.Client) -> None:
    engaged.post("/_sandbox/scenario", json={"accounts": [demo_account()]}).raise_for_status()
    engaged.headers.update(bearer(s2s_token(engaged)))
    assert engaged.get(f"/v2/report/webinars/{ENDED_ID}/polls").json()["questions"] == []
    survey = engaged.get(f"/v2/report/webinars/{ENDED_ID}/survey").json()
    assert (survey["survey_id"], survey["survey_answers"]) == ("", [])
    missing = engaged.get(f"/v2/report/webinars/{UPCOMING_ID}/qa")
    assert (missing.status_code, missing.json()["code"]) == (404, 3001)
    missing = engaged.get(f"/v2/past_webinars/{UPCOMING_ID}/polls")
    assert (missing.status_code, missing.json()["code"]) == (404, 3001)


def test_recording_viewers_paged_within_a_month(engaged: httpx.Client) -> None:
    # rule E7: per viewer, windows of at most one month, next_page_token paging
    path = f"/v2/meetings/{quote(ENDED_UUID, safe='')}/recordings/analytics_details"
    window = {"from": iso(NOW - timedelta(days=20))[:10], "to": iso(NOW)[:10]}
    first = engaged.get(path, params={**window, "page_size": 3}).json()
    assert (first["total_records"], len(first["analytics_details"])) == (5, 3)
    assert first["from"] == window["from"] and first["next_page_token"]
    rest = engaged.get(
        path, params={**window, "page_size": 3, "next_page_token": first["next_page_token"]}
    ).json()
    emails = [v["email"] for v in first["analytics_details"] + rest["analytics_details"]]
    assert sorted(emails) == [f"viewer{n}@example.com" for n in range(5)]
    assert rest["next_page_token"] == ""
    assert {v["duration"] for v in rest["analytics_details"]} <= {100, 101, 102, 103, 104}
    too_long = engaged.get(
        path, params={"from": iso(NOW - timedelta(days=70))[:10], "to": iso(NOW)[:10]}
    )
    assert (too_long.status_code, too_long.json()["code"]) == (400, 300)
    old = engaged.get(
        path,
        params={
            "from": iso(NOW - timedelta(days=75))[:10],
            "to": iso(NOW - timedelta(days=50))[:10],
        },
    ).json()
    assert [v["email"] for v in old["analytics_details"]] == ["old@example.com"]
    none = engaged.get(f"/v2/meetings/{UPCOMING_ID}/recordings/analytics_details")
    assert (none.status_code, none.json()["code"]) == (404, 3301)


def test_rate_limit_labels(engaged: httpx.Client) -> None:
    engaged.post("/_sandbox/settings", json={"rate_limits": True}).raise_for_status()
    labels = {
        f"/v2/report/webinars/{ENDED_ID}/polls": "Heavy",
        f"/v2/report/webinars/{ENDED_ID}/qa": "Heavy",
        f"/v2/report/webinars/{ENDED_ID}/survey": "Heavy",
        f"/v2/past_webinars/{ENDED_ID}/polls": "Medium",
        f"/v2/past_webinars/{ENDED_ID}/qa": "Medium",
        f"/v2/meetings/{ENDED_ID}/recordings/analytics_details": "Medium",
    }
    for path, label in labels.items():
        answer = engaged.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["X-RateLimit-Category"] == label, path


def test_heavy_report_limit_answers_429(engaged: httpx.Client) -> None:
    # The free plan allows one Heavy call per second: a burst trips the limit with Retry-After.
    state = engaged_scenario()
    state["accounts"][0]["plan"] = "free"
    engaged.post("/_sandbox/scenario", json=state).raise_for_status()
    engaged.post("/_sandbox/settings", json={"rate_limits": True}).raise_for_status()
    engaged.headers.update(bearer(s2s_token(engaged)))
    answers = [engaged.get(f"/v2/report/webinars/{ENDED_ID}/polls") for _ in range(3)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited and limited[0].headers["X-RateLimit-Category"] == "Heavy"
    assert limited[0].headers["Retry-After"]


def test_generator_fills_engagement_and_keeps_the_rest(sandbox: httpx.Client) -> None:
    params = {"webinars": 8, "registrants": 40, "seed": 3, "now": iso(NOW)}
    sandbox.post("/_sandbox/generate", json=params).raise_for_status()
    state = sandbox.get("/_sandbox/state").json()
    sandbox.post("/_sandbox/generate", json={**params, "engagement": 0}).raise_for_status()
    plain = sandbox.get("/_sandbox/state").json()
    instances = [i for w in state["accounts"][0]["webinars"] for i in w["instances"]]
    with_polls = [i for i in instances if i.get("polls")]
    assert with_polls and any(i.get("qa") for i in instances)
    assert any(i.get("survey", {}).get("answers") for i in instances)
    anonymous = [r for i in with_polls for r in i["polls"] if r["email"] == ""]
    assert anonymous and all(r["name"] == "Anonymous Attendee" for r in anonymous)
    assert any(r.get("views") for w in state["accounts"][0]["webinars"] for r in w["recordings"])
    # Poll answerers with an e-mail attended that instance (Zoom's trimmed address).
    for instance in with_polls:
        attendees = {p["user_email"] for p in instance["participants"]}
        assert {r["email"] for r in instance["polls"] if r["email"]} <= attendees

    def strip(document: dict[str, Any]) -> dict[str, Any]:
        for webinar in document["accounts"][0]["webinars"]:
            for instance in webinar["instances"]:
                for key in ("polls", "qa", "survey"):
                    instance.pop(key, None)
            for recording in webinar["recordings"]:
                recording.pop("views", None)
        return document

    assert strip(state) == strip(plain)  # its own random stream: the rest is unchanged
