"""Every listed /v2 endpoint: envelopes, item fields, errors (against the known scenario)."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from tests.zoom_sandbox.helpers import (
    ENDED_ID,
    ENDED_UUID,
    OTHER_ACCOUNT_WEBINAR_ID,
    RECURRING_ID,
    SLASH_UUID,
    STRICT_ID,
    UPCOMING_ID,
    at,
)

REGISTRANT_KEYS = [
    "id",
    "email",
    "first_name",
    "last_name",
    "address",
    "city",
    "country",
    "zip",
    "state",
    "phone",
    "industry",
    "org",
    "job_title",
    "purchasing_time_frame",
    "role_in_purchase_process",
    "no_of_employees",
    "comments",
    "custom_questions",
    "status",
    "create_time",
    "join_url",
]


def double(uuid: str) -> str:
    return quote(quote(uuid, safe=""), safe="")


def test_list_users_envelope_and_status_filter(api: httpx.Client) -> None:
    body = api.get("/v2/users").json()
    assert [k for k in body if k != "users"] == [
        "page_size",
        "page_number",
        "page_count",
        "total_records",
        "next_page_token",
    ]
    assert (body["page_size"], body["total_records"], body["next_page_token"]) == (30, 2, "")
    assert [u["email"] for u in body["users"]] == ["owner@acme.test", "host@events.acme.test"]
    owner = body["users"][0]
    assert owner["type"] == 2 and owner["status"] == "active" and owner["role_id"] == "0"
    assert owner["display_name"] == "Olga Owner"
    inactive = api.get("/v2/users", params={"status": "inactive"}).json()
    assert [u["id"] for u in inactive["users"]] == ["u_gone"]


def test_get_user_by_id_email_and_unknown(api: httpx.Client) -> None:
    assert api.get("/v2/users/u_host").json()["email"] == "host@events.acme.test"
    assert api.get("/v2/users/HOST@events.acme.test").json()["id"] == "u_host"
    missing = api.get("/v2/users/nobody")
    assert (missing.status_code, missing.json()) == (
        404,
        {"code": 1001, "message": "User does not exist: nobody."},
    )


def test_get_webinar_fields(api: httpx.Client) -> None:
    body = api.get(f"/v2/webinars/{ENDED_ID}").json()
    assert body["id"] == ENDED_ID and body["uuid"] == ENDED_UUID
    assert body["host_id"] == "u_owner" and body["host_email"] == "owner@acme.test"
    assert body["type"] == 5 and body["duration"] == 60 and body["topic"] == "Ended roadmap"
    assert body["registration_url"].startswith("https://")
    assert body["settings"]["approval_type"] == 0
    assert body["creation_source"] == "web_portal" and body["is_simulive"] is False
    assert "occurrences" not in body
    recurring = api.get(f"/v2/webinars/{RECURRING_ID}").json()
    assert recurring["type"] == 9
    assert [o["occurrence_id"] for o in recurring["occurrences"]] == ["1", "2", "3"]
    assert set(recurring["occurrences"][0]) == {"occurrence_id", "start_time", "duration", "status"}
    # the same webinar by its instance UUID, double-encoded
    assert api.get(f"/v2/webinars/{double(SLASH_UUID)}").json()["id"] == RECURRING_ID


def test_unknown_webinar_is_3001(api: httpx.Client) -> None:
    for path in ("/v2/webinars/999", "/v2/webinars/999/registrants"):
        answer = api.get(path)
        assert (answer.status_code, answer.json()) == (
            404,
            {"code": 3001, "message": "Webinar does not exist: 999."},
        )


def test_registrants_list_hides_cancelled(api: httpx.Client) -> None:
    body = api.get(f"/v2/webinars/{UPCOMING_ID}/registrants").json()
    assert (body["total_records"], body["page_count"], body["next_page_token"]) == (4, 1, "")
    assert [r["id"] for r in body["registrants"]] == ["r_0001", "r_0003", "r_0004", "r_0005"]
    assert list(body["registrants"][0]) == REGISTRANT_KEYS
    assert body["registrants"][0]["email"] == "person1@example.com"
    assert body["registrants"][0]["status"] == "approved"
    for status in ("pending", "denied"):
        listed = api.get(f"/v2/webinars/{UPCOMING_ID}/registrants", params={"status": status})
        assert listed.json()["total_records"] == 0


def test_register_answers_201_and_appears_in_list_and_state(api: httpx.Client) -> None:
    answer = api.post(
        f"/v2/webinars/{UPCOMING_ID}/registrants",
        json={"email": "  New.Person@Example.com ", "first_name": "New", "last_name": "Person"},
    )
    assert answer.status_code == 201
    body = answer.json()
    assert set(body) == {"id", "registrant_id", "join_url", "topic", "start_time"}
    assert body["id"] == UPCOMING_ID and body["topic"] == "Upcoming launch"
    again = api.post(
        f"/v2/webinars/{UPCOMING_ID}/registrants",
        json={"email": "new.person@example.com", "first_name": "New", "last_name": "P"},
    )
    assert again.json()["registrant_id"] == body["registrant_id"]  # same person, same id
    listed = api.get(f"/v2/webinars/{UPCOMING_ID}/registrants").json()
    assert listed["total_records"] == 5
    assert listed["registrants"][-1]["email"] == "  New.Person@Example.com "
    state = api.get("/_sandbox/state").json()
    stored = state["accounts"][0]["webinars"][0]["registrants"][-1]
    assert (stored["id"], stored["status"]) == (body["registrant_id"], "approved")


def test_register_the_host_is_3027(api: httpx.Client) -> None:
    answer = api.post(
        f"/v2/webinars/{UPCOMING_ID}/registrants",
        json={"email": "Owner@Acme.test", "first_name": "Olga", "last_name": "Owner"},
    )
    assert (answer.status_code, answer.json()) == (
        400,
        {"code": 3027, "message": "Host cannot register."},
    )


def test_register_validates_required_fields(api: httpx.Client) -> None:
    answer = api.post(
        f"/v2/webinars/{STRICT_ID}/registrants",
        json={"email": "a@example.com", "first_name": "A", "last_name": "B"},
    )
    assert (answer.status_code, answer.json()) == (
        400,
        {
            "code": 300,
            "message": "Validation Failed.",
            "errors": [
                {"field": "org", "message": "This field is required."},
                {"field": "Company size", "message": "This field is required."},
            ],
        },
    )
    missing = api.post(f"/v2/webinars/{UPCOMING_ID}/registrants", json={"email": "bad"})
    assert missing.json()["errors"] == [
        {"field": "email", "message": "Invalid field."},
        {"field": "first_name", "message": "This field is required."},
        {"field": "last_name", "message": "This field is required."},
    ]
    ok = api.post(
        f"/v2/webinars/{STRICT_ID}/registrants",
        json={
            "email": "a@example.com",
            "first_name": "A",
            "last_name": "B",
            "org": "Acme",
            "custom_questions": [{"title": "Company size", "value": "1-10"}],
        },
    )
    assert ok.status_code == 201
    pending = api.get(f"/v2/webinars/{STRICT_ID}/registrants", params={"status": "pending"})
    assert [r["email"] for r in pending.json()["registrants"]] == ["a@example.com"]


def test_register_for_an_ended_webinar_is_3038(api: httpx.Client) -> None:
    answer = api.post(
        f"/v2/webinars/{ENDED_ID}/registrants", json={"email": "x@example.com", "first_name": "X"}
    )
    assert (answer.status_code, answer.json()["code"]) == (400, 3038)


def test_get_cancel_and_delete_registrant(api: httpx.Client) -> None:
    one = api.get(f"/v2/webinars/{UPCOMING_ID}/registrants/r_0003")
    assert one.status_code == 200 and one.json()["email"] == "person3@example.com"
    cancelled = api.get(f"/v2/webinars/{UPCOMING_ID}/registrants/r_0002")
    assert (cancelled.status_code, cancelled.json()) == (
        400,
        {"code": 3079, "message": "This registrant does not exist: r_0002."},
    )
    status = api.put(
        f"/v2/webinars/{UPCOMING_ID}/registrants/status",
        json={
            "action": "cancel",
            "registrants": [{"id": "r_0003"}, {"email": "PERSON4@example.com"}],
        },
    )
    assert status.status_code == 204 and status.content == b""
    deleted = api.delete(f"/v2/webinars/{UPCOMING_ID}/registrants/r_0005")
    assert deleted.status_code == 204
    listed = api.get(f"/v2/webinars/{UPCOMING_ID}/registrants").json()
    assert [r["id"] for r in listed["registrants"]] == ["r_0001"]
    too_many = api.put(
        f"/v2/webinars/{UPCOMING_ID}/registrants/status",
        json={"action": "cancel", "registrants": [{"id": f"r{n}"} for n in range(31)]},
    )
    assert too_many.json()["code"] == 300


def test_registration_questions(api: httpx.Client) -> None:
    body = api.get(f"/v2/webinars/{STRICT_ID}/registrants/questions").json()
    assert body == {
        "questions": [
            {"field_name": "last_name", "required": True},
            {"field_name": "org", "required": True},
        ],
        "custom_questions": [
            {
                "title": "Company size",
                "type": "single_radio",
                "required": True,
                "answers": ["1-10", "11-100", "100+"],
            },
        ],
    }


def test_past_instances_and_participants(api: httpx.Client) -> None:
    instances = api.get(f"/v2/past_webinars/{RECURRING_ID}/instances").json()
    assert instances == {"webinars": [{"uuid": SLASH_UUID, "start_time": at(days=-1)}]}
    past = api.get(f"/v2/past_webinars/{ENDED_ID}/participants").json()
    assert (past["total_records"], past["next_page_token"]) == (3, "")
    first = past["participants"][0]
    assert list(first) == [
        "id",
        "user_id",
        "name",
        "user_email",
        "join_time",
        "leave_time",
        "duration",
        "failover",
        "status",
        "internal_user",
    ]
    assert (first["id"], first["duration"]) == ("pu_1", 38 * 60)
    assert past["participants"][2]["user_email"] == ""  # a guest whose address Zoom hides


def test_report_participants_with_registrant_id_and_uuid_forms(api: httpx.Client) -> None:
    for key in (str(ENDED_ID), quote(ENDED_UUID, safe=""), double(ENDED_UUID)):
        body = api.get(
            f"/v2/report/webinars/{key}/participants", params={"include_fields": "registrant_id"}
        ).json()
        assert [p["registrant_id"] for p in body["participants"]] == ["r_0001", "r_0001", ""]
        assert [p["duration"] for p in body["participants"]] == [38 * 60, 21 * 60, 5 * 60]
        assert body["participants"][0]["participant_user_id"] == "pu_1"
    without = api.get(f"/v2/report/webinars/{ENDED_ID}/participants").json()
    assert "registrant_id" not in without["participants"][0]
    slashed = api.get(f"/v2/report/webinars/{double(SLASH_UUID)}/participants").json()
    assert [p["name"] for p in slashed["participants"]] == ["Solo"]
    not_yet = api.get(f"/v2/report/webinars/{UPCOMING_ID}/participants")
    assert (not_yet.status_code, not_yet.json()) == (
        404,
        {"code": 3001, "message": f'Webinar "{UPCOMING_ID}" not found or has expired'},
    )


def test_report_webinar_details(api: httpx.Client) -> None:
    body = api.get(f"/v2/report/webinars/{double(ENDED_UUID)}").json()
    assert body["uuid"] == ENDED_UUID and body["id"] == ENDED_ID
    assert (body["duration"], body["participants_count"], body["total_minutes"]) == (62, 3, 64)
    assert body["user_email"] == "owner@acme.test" and body["user_name"] == "Olga Owner"


def test_absentees(api: httpx.Client) -> None:
    body = api.get(f"/v2/past_webinars/{ENDED_ID}/absentees").json()
    assert [r["id"] for r in body["registrants"]] == ["r_0002", "r_0003"]
    assert body["total_records"] == 2 and list(body["registrants"][0]) == REGISTRANT_KEYS


def test_recordings(api: httpx.Client) -> None:
    body = api.get(f"/v2/meetings/{double(ENDED_UUID)}/recordings").json()
    assert body["uuid"] == ENDED_UUID and body["type"] == "5" and body["recording_count"] == 2
    files = {f["file_type"]: f for f in body["recording_files"]}
    assert files["TRANSCRIPT"]["file_extension"] == "VTT"
    assert files["TRANSCRIPT"]["recording_type"] == "audio_transcript"
    download = api.get(files["TRANSCRIPT"]["download_url"])
    assert download.status_code == 200 and download.text.startswith("WEBVTT")
    anonymous = httpx.get(files["MP4"]["download_url"])
    assert anonymous.status_code == 401
    none = api.get(f"/v2/meetings/{UPCOMING_ID}/recordings")
    assert (none.status_code, none.json()) == (
        404,
        {"code": 3301, "message": "There is no recording for this meeting."},
    )
    listed = api.get(
        "/v2/users/u_owner/recordings", params={"from": at(days=-20)[:10], "to": at()[:10]}
    ).json()
    assert [m["uuid"] for m in listed["meetings"]] == [ENDED_UUID]
    assert listed["from"] == at(days=-20)[:10] and listed["total_records"] == 1


def test_zoom_events_sessions_name_the_webinar(api: httpx.Client) -> None:
    events = api.get("/v2/zoom_events/events").json()["events"]
    assert len(events) == 1
    sessions = api.get(f"/v2/zoom_events/events/{events[0]['event_id']}/sessions").json()
    assert sessions["sessions"][0]["webinar_id"] == STRICT_ID
    assert sessions["sessions"][0]["type"] == 2
    assert api.get(f"/v2/webinars/{STRICT_ID}").json()["creation_source"] == "other"


def test_other_accounts_webinar_is_invisible(api: httpx.Client) -> None:
    answer = api.get(f"/v2/webinars/{OTHER_ACCOUNT_WEBINAR_ID}")
    assert answer.status_code == 404 and answer.json()["code"] == 3001
