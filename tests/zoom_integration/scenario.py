"""A small, known sandbox scenario for the CRM-side Zoom tests: two Zoom accounts (one per
brand), hosts in two domains, an upcoming, an ended (found only through the reports), a
recurring and a Zoom Events webinar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NOW = datetime.now(UTC).replace(microsecond=0)
ACME = "acct_acme"
BETA = "acct_beta"
UPCOMING_ID = 84000000001
ENDED_ID = 84000000002
RECURRING_ID = 84000000003
EVENTS_ID = 84000000004
BETA_WEBINAR_ID = 85000000001
S2S = {"client_id": "acme-s2s", "client_secret": "acme-s2s-secret"}
OAUTH = {"client_id": "acme-oauth", "client_secret": "acme-oauth-secret"}
REDIRECT_PATH = "/integrations/zoom/oauth/callback/"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def at(**delta: float) -> str:
    return iso(NOW + timedelta(**delta))


def _person(n: int) -> dict:
    return {
        "id": f"r_{n}",
        "email": f"person{n}@example.com",
        "first_name": f"P{n}",
        "last_name": f"L{n}",
        "status": "approved",
        "create_time": at(days=-20),
    }


def acme_account(public_base_url: str) -> dict:
    ended_start = NOW - timedelta(days=10)
    return {
        "id": ACME,
        "plan": "business",
        "apps": [
            {"type": "s2s", **S2S},
            {"type": "oauth", **OAUTH, "redirect_uri": public_base_url + REDIRECT_PATH},
        ],
        "webhook": {"url": "", "secret_token": "acme-whsec"},
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
                "email": "Host@Events.Acme.test",
                "first_name": "Hugo",
                "last_name": "Host",
                "role": "member",
                "status": "active",
            },
            {
                "id": "u_partner",
                "email": "mia@partner.example",
                "first_name": "Mia",
                "last_name": "Partner",
                "role": "member",
                "status": "active",
            },
        ],
        "webinars": [
            {
                "id": UPCOMING_ID,
                "host_id": "u_owner",
                "topic": "Roadmap 2027",
                "type": 5,
                "start_time": at(days=3),
                "duration": 60,
                "timezone": "UTC",
                "registration_required": True,
                "registrants": [_person(1)],
            },
            {
                "id": ENDED_ID,
                "host_id": "u_host",
                "topic": "Ended launch",
                "type": 5,
                "start_time": iso(ended_start),
                "duration": 45,
                "timezone": "UTC",
                "registration_required": True,
                "registrants": [_person(2), _person(3)],
                "instances": [
                    {
                        "uuid": "endedUuid1234567890AB==",
                        "start_time": iso(ended_start),
                        "end_time": iso(ended_start + timedelta(minutes=46)),
                        "participants": [
                            {
                                "participant_user_id": "pu_2",
                                "registrant_id": "r_2",
                                "name": "P2 L2",
                                "user_email": "person2@example.com",
                                "join_time": iso(ended_start),
                                "leave_time": iso(ended_start + timedelta(minutes=40)),
                            },
                            {
                                "participant_user_id": "pu_3",
                                "registrant_id": "r_3",
                                "name": "P3 L3",
                                "user_email": "person3@example.com",
                                "join_time": iso(ended_start),
                                "leave_time": iso(ended_start + timedelta(minutes=20)),
                            },
                        ],
                    }
                ],
                "recordings": [
                    {
                        "uuid": "endedUuid1234567890AB==",
                        "files": [{"file_type": "MP4"}, {"file_type": "TRANSCRIPT"}],
                    }
                ],
            },
            {
                "id": RECURRING_ID,
                "host_id": "u_partner",
                "topic": "Weekly office hours",
                "type": 9,
                "start_time": at(days=-6),
                "duration": 30,
                "timezone": "UTC",
                "registration_required": True,
                "occurrences": [
                    {
                        "occurrence_id": "1001",
                        "start_time": at(days=-6),
                        "duration": 30,
                        "status": "available",
                    },
                    {
                        "occurrence_id": "1002",
                        "start_time": at(days=1),
                        "duration": 30,
                        "status": "available",
                    },
                ],
            },
            {
                "id": EVENTS_ID,
                "host_id": "u_owner",
                "topic": "Zoom Events summit",
                "type": 5,
                "start_time": at(days=8),
                "duration": 90,
                "timezone": "UTC",
                "registration_required": True,
                "zoom_events": True,
            },
        ],
    }


def beta_account() -> dict:
    return {
        "id": BETA,
        "plan": "pro",
        "apps": [{"type": "s2s", "client_id": "beta-s2s", "client_secret": "beta-s2s-secret"}],
        "webhook": {"url": "", "secret_token": "beta-whsec"},
        "users": [
            {
                "id": "u_beta",
                "email": "boss@beta.test",
                "first_name": "Bea",
                "last_name": "Boss",
                "role": "owner",
                "status": "active",
            }
        ],
        "webinars": [
            {
                "id": BETA_WEBINAR_ID,
                "host_id": "u_beta",
                "topic": "Beta webinar",
                "type": 5,
                "start_time": at(days=4),
                "duration": 60,
                "timezone": "UTC",
                "registration_required": True,
            }
        ],
    }


def scenario(public_base_url: str) -> dict:
    return {"accounts": [acme_account(public_base_url), beta_account()]}
