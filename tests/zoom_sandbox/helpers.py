"""A small known scenario and request helpers for the sandbox tests."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

NOW = datetime.now(UTC).replace(microsecond=0)
UPCOMING_ID = 81000000001
ENDED_ID = 81000000002
RECURRING_ID = 81000000003
STRICT_ID = 81000000004
OTHER_ACCOUNT_WEBINAR_ID = 82000000001
# Zoom's rule: a UUID starting with "/" or containing "//" must be double-encoded.
SLASH_UUID = "/ajXp112QmuoKj4854875=="
ENDED_UUID = "m3WqMkvuRXyYqH+eKWhk9w=="


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def at(**delta: float) -> str:
    return iso(NOW + timedelta(**delta))


def registrant(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"r_{n:04d}",
        "email": f"person{n}@example.com",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "status": "approved",
        "create_time": at(days=-10),
        **extra,
    }


def demo_account(*, registrants: int = 5) -> dict[str, Any]:
    ended_start = NOW - timedelta(days=3)
    return {
        "id": "acct_demo",
        "plan": "business",
        "apps": [
            {"type": "s2s", "client_id": "s2s-client", "client_secret": "s2s-secret"},
            {
                "type": "oauth",
                "client_id": "oauth-client",
                "client_secret": "oauth-secret",
                "redirect_uri": "http://127.0.0.1:8000/cb/",
            },
        ],
        "webhook": {"url": "", "secret_token": "whsec"},
        "users": [
            {
                "id": "u_owner",
                "email": "owner@acme.test",
                "first_name": "Olga",
                "last_name": "Owner",
                "role": "owner",
                "status": "active",
            },
            {
                "id": "u_host",
                "email": "host@events.acme.test",
                "first_name": "Hana",
                "last_name": "Host",
                "role": "member",
                "status": "active",
            },
            {
                "id": "u_gone",
                "email": "gone@acme.test",
                "first_name": "Gus",
                "last_name": "Gone",
                "role": "member",
                "status": "inactive",
            },
        ],
        "webinars": [
            {
                "id": UPCOMING_ID,
                "host_id": "u_owner",
                "topic": "Upcoming launch",
                "type": 5,
                "start_time": at(days=2),
                "duration": 60,
                "timezone": "UTC",
                "registration_required": True,
                "approval_type": 0,
                "questions": [{"field_name": "last_name", "required": True}],
                "registrants": [
                    registrant(n, status="cancelled" if n == 2 else "approved")
                    for n in range(1, registrants + 1)
                ],
            },
            {
                "id": ENDED_ID,
                "host_id": "u_owner",
                "topic": "Ended roadmap",
                "type": 5,
                "start_time": iso(ended_start),
                "duration": 60,
                "timezone": "UTC",
                "registrants": [registrant(1), registrant(2), registrant(3)],
                "instances": [
                    {
                        "uuid": ENDED_UUID,
                        "start_time": iso(ended_start + timedelta(minutes=1)),
                        "end_time": iso(ended_start + timedelta(minutes=63)),
                        "participants": [
                            {
                                "participant_user_id": "pu_1",
                                "registrant_id": "r_0001",
                                "name": "First1 Last1",
                                "user_email": "person1@example.com",
                                "join_time": iso(ended_start + timedelta(minutes=2)),
                                "leave_time": iso(ended_start + timedelta(minutes=40)),
                            },
                            {
                                "participant_user_id": "pu_1",
                                "registrant_id": "r_0001",
                                "name": "First1 Last1",
                                "user_email": "person1@example.com",
                                "join_time": iso(ended_start + timedelta(minutes=39)),
                                "leave_time": iso(ended_start + timedelta(minutes=60)),
                            },
                            {
                                "participant_user_id": "",
                                "registrant_id": "",
                                "name": "Guest 1",
                                "user_email": "",
                                "join_time": iso(ended_start + timedelta(minutes=5)),
                                "leave_time": iso(ended_start + timedelta(minutes=10)),
                            },
                        ],
                    }
                ],
                "recordings": [
                    {
                        "uuid": ENDED_UUID,
                        "files": [{"file_type": "MP4"}, {"file_type": "TRANSCRIPT"}],
                    }
                ],
            },
            {
                "id": RECURRING_ID,
                "host_id": "u_host",
                "topic": "Weekly clinic",
                "type": 9,
                "start_time": at(days=-8),
                "duration": 30,
                "timezone": "UTC",
                "occurrences": [
                    {
                        "occurrence_id": "1",
                        "start_time": at(days=-8),
                        "duration": 30,
                        "status": "available",
                    },
                    {
                        "occurrence_id": "2",
                        "start_time": at(days=-1),
                        "duration": 30,
                        "status": "available",
                    },
                    {
                        "occurrence_id": "3",
                        "start_time": at(days=6),
                        "duration": 30,
                        "status": "available",
                    },
                ],
                "instances": [
                    {
                        "uuid": SLASH_UUID,
                        "start_time": at(days=-1),
                        "end_time": at(days=-1, minutes=30),
                        "participants": [
                            {
                                "participant_user_id": "pu_9",
                                "registrant_id": "",
                                "name": "Solo",
                                "user_email": "solo@example.com",
                                "join_time": at(days=-1, minutes=1),
                                "leave_time": at(days=-1, minutes=21),
                            }
                        ],
                    }
                ],
                "recordings": [{"uuid": SLASH_UUID, "files": [{"file_type": "MP4"}]}],
            },
            {
                "id": STRICT_ID,
                "host_id": "u_host",
                "topic": "Strict form",
                "type": 5,
                "start_time": at(days=5),
                "duration": 60,
                "timezone": "UTC",
                "approval_type": 1,
                "zoom_events": True,
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
                    }
                ],
            },
        ],
    }


def other_account() -> dict[str, Any]:
    return {
        "id": "acct_other",
        "plan": "pro",
        "apps": [{"type": "s2s", "client_id": "other-client", "client_secret": "other-secret"}],
        "users": [
            {
                "id": "u_other",
                "email": "boss@other.test",
                "first_name": "Oscar",
                "last_name": "Other",
                "role": "owner",
            }
        ],
        "webinars": [
            {
                "id": OTHER_ACCOUNT_WEBINAR_ID,
                "host_id": "u_other",
                "topic": "Other brand",
                "start_time": at(days=1),
                "registrants": [registrant(500)],
            },
        ],
    }


def scenario(*, registrants: int = 5) -> dict[str, Any]:
    return {"accounts": [demo_account(registrants=registrants), other_account()]}


def s2s_token(
    client: httpx.Client,
    account_id: str = "acct_demo",
    client_id: str = "s2s-client",
    secret: str = "s2s-secret",
) -> str:
    response = client.post(
        "/oauth/token",
        params={"grant_type": "account_credentials", "account_id": account_id},
        auth=(client_id, secret),
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
