"""Signed webhooks, url_validation, retries, and the live simulation's events.

Signatures are checked here with our own HMAC computation, independent of the sandbox's code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.zoom_sandbox.helpers import ENDED_ID, UPCOMING_ID, bearer, s2s_token

SECRET = "whsec"


class Receiver:
    """A tiny webhook endpoint that records deliveries and answers scripted statuses."""

    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # consumed one per delivery; 200 when empty
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.deliveries.append({"headers": dict(self.headers), "raw": raw})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                body = json.loads(raw)
                answer = b""
                if body.get("event") == "endpoint.url_validation":
                    plain = body["payload"]["plainToken"]
                    encrypted = hmac.new(SECRET.encode(), plain.encode(), hashlib.sha256)
                    answer = json.dumps(
                        {"plainToken": plain, "encryptedToken": encrypted.hexdigest()}
                    ).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def events(self) -> list[str]:
        return [json.loads(d["raw"])["event"] for d in self.deliveries]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.deliveries) >= count, self.events()
        return [json.loads(d["raw"]) for d in self.deliveries]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def hooked(api: httpx.Client, receiver: Receiver) -> httpx.Client:
    api.post(
        "/_sandbox/accounts/acct_demo/webhook", json={"url": receiver.url, "secret_token": SECRET}
    ).raise_for_status()
    api.post(
        "/_sandbox/settings", json={"webhook_retry_delays": [0.05, 0.05, 0.05]}
    ).raise_for_status()
    return api


def assert_signed(delivery: dict[str, Any]) -> None:
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    timestamp = headers["x-zm-request-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60  # seconds, not milliseconds
    message = b"v0:" + timestamp.encode() + b":" + delivery["raw"]
    expected = "v0=" + hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert headers["x-zm-signature"] == expected
    assert headers["content-type"] == "application/json; charset=utf-8"


def test_registration_created_is_signed(hooked: httpx.Client, receiver: Receiver) -> None:
    created = hooked.post(
        f"/v2/webinars/{UPCOMING_ID}/registrants",
        json={"email": "hook@example.com", "first_name": "Hook", "last_name": "Test"},
    ).json()
    (body,) = receiver.wait_for(1)
    assert_signed(receiver.deliveries[0])
    assert body["event"] == "webinar.registration_created"
    assert isinstance(body["event_ts"], int) and body["event_ts"] > 10**12  # milliseconds
    assert body["payload"]["account_id"] == "acct_demo"
    obj = body["payload"]["object"]
    assert (obj["id"], obj["topic"]) == (UPCOMING_ID, "Upcoming launch")
    registrant = obj["registrant"]
    assert (registrant["id"], registrant["email"], registrant["status"]) == (
        created["registrant_id"],
        "hook@example.com",
        "approved",
    )


def test_cancellation_webhook(hooked: httpx.Client, receiver: Receiver) -> None:
    hooked.put(
        f"/v2/webinars/{UPCOMING_ID}/registrants/status",
        json={"action": "cancel", "registrants": [{"id": "r_0003"}]},
    ).raise_for_status()
    (body,) = receiver.wait_for(1)
    assert body["event"] == "webinar.registration_cancelled"
    assert body["payload"]["operator"] == "owner@acme.test"
    assert body["payload"]["object"]["registrant"] == {
        "id": "r_0003",
        "first_name": "First3",
        "last_name": "Last3",
        "email": "person3@example.com",
    }


def test_url_validation(hooked: httpx.Client, receiver: Receiver) -> None:
    verdict = hooked.post("/_sandbox/webhooks/validate", json={"account_id": "acct_demo"}).json()
    assert verdict["valid"] is True and verdict["status"] == 200
    (body,) = receiver.wait_for(1)
    assert_signed(receiver.deliveries[0])
    assert body["event"] == "endpoint.url_validation"
    plain = body["payload"]["plainToken"]
    assert verdict["answer"] == {
        "plainToken": plain,
        "encryptedToken": hmac.new(SECRET.encode(), plain.encode(), hashlib.sha256).hexdigest(),
    }
    # the same through webhooks/emit; a wrong secret on the receiver's side fails validation
    hooked.post(
        "/_sandbox/accounts/acct_demo/webhook", json={"secret_token": "not-the-receivers"}
    ).raise_for_status()
    emitted = hooked.post(
        "/_sandbox/webhooks/emit",
        json={"account_id": "acct_demo", "event": "endpoint.url_validation", "payload": {}},
    ).json()
    assert emitted["valid"] is False


def test_retries_after_5xx_until_delivered(hooked: httpx.Client, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    hooked.post(
        "/_sandbox/webhooks/emit",
        json={"account_id": "acct_demo", "event": "webinar.updated", "payload": {"object": {}}},
    ).raise_for_status()
    bodies = receiver.wait_for(3)
    assert [b["event"] for b in bodies] == ["webinar.updated"] * 3
    time.sleep(0.2)
    assert len(receiver.deliveries) == 3
    (log,) = hooked.get("/_sandbox/webhooks").json()["deliveries"]
    assert [a["status"] for a in log["attempts"]] == [500, 503, 200]
    assert log["state"] == "delivered"


def test_no_retry_after_4xx(hooked: httpx.Client, receiver: Receiver) -> None:
    receiver.statuses = [401]
    hooked.post(
        "/_sandbox/webhooks/emit",
        json={"account_id": "acct_demo", "event": "webinar.updated", "payload": {"object": {}}},
    ).raise_for_status()
    receiver.wait_for(1)
    time.sleep(0.3)
    assert len(receiver.deliveries) == 1
    (log,) = hooked.get("/_sandbox/webhooks").json()["deliveries"]
    assert (log["state"], [a["status"] for a in log["attempts"]]) == ("failed", [401])


def test_retries_after_connection_failure_then_gives_up(api: httpx.Client) -> None:
    api.post(
        "/_sandbox/accounts/acct_demo/webhook",
        json={"url": "http://127.0.0.1:9/nothing-listens/", "secret_token": SECRET},
    ).raise_for_status()
    api.post("/_sandbox/settings", json={"webhook_retry_delays": [0.01, 0.01, 0.01]})
    api.post(
        "/_sandbox/webhooks/emit",
        json={"account_id": "acct_demo", "event": "webinar.updated", "payload": {}},
    ).raise_for_status()
    deadline = time.monotonic() + 5
    log: dict[str, Any] = {}
    while time.monotonic() < deadline:
        (log,) = api.get("/_sandbox/webhooks").json()["deliveries"]
        if log["state"] == "dropped":
            break
        time.sleep(0.02)
    assert log["state"] == "dropped" and len(log["attempts"]) == 4  # first try + 3 retries


def test_live_simulation(hooked: httpx.Client, receiver: Receiver) -> None:
    joined = hooked.post(
        f"/_sandbox/live/{UPCOMING_ID}/join", json={"name": "Ana", "registrant_id": "r_0001"}
    ).json()
    guest = hooked.post(f"/_sandbox/live/{UPCOMING_ID}/join", json={"name": "Guest"}).json()
    live_list = hooked.get("/v2/users/me/webinars", params={"type": "upcoming"}).json()
    assert [w["id"] for w in live_list["webinars"]] == [UPCOMING_ID]
    hooked.post(
        f"/_sandbox/live/{UPCOMING_ID}/leave",
        json={"participant_user_id": joined["participant_user_id"]},
    ).raise_for_status()
    ended = hooked.post(f"/_sandbox/live/{UPCOMING_ID}/end").json()
    assert ended["participants"] == 2
    bodies = receiver.wait_for(8)
    assert [b["event"] for b in bodies] == [
        "webinar.started",
        "webinar.participant_joined",
        "webinar.participant_joined",
        "webinar.participant_left",
        "webinar.participant_left",
        "webinar.ended",
        "recording.completed",
        "recording.transcript_completed",
    ]
    for delivery in receiver.deliveries:
        assert_signed(delivery)
    ana = bodies[1]["payload"]["object"]
    assert ana["id"] == str(UPCOMING_ID)  # a string in participant events (Zoom's schema)
    assert ana["participant"]["registrant_id"] == "r_0001"
    assert ana["participant"]["email"] == "person1@example.com"
    assert bodies[2]["payload"]["object"]["participant"]["email"] == ""
    assert guest["participant_user_id"] != joined["participant_user_id"]
    assert bodies[5]["payload"]["object"]["uuid"] == ended["uuid"]
    files = bodies[7]["payload"]["object"]["recording_files"]
    assert [f["file_type"] for f in files] == ["TRANSCRIPT"] and bodies[7]["download_token"]
    report = hooked.get(
        f"/v2/report/webinars/{UPCOMING_ID}/participants",
        params={"include_fields": "registrant_id"},
    ).json()
    assert [(p["name"], p["registrant_id"]) for p in report["participants"]] == [
        ("Ana", "r_0001"),
        ("Guest", ""),
    ]


def test_live_errors(api: httpx.Client) -> None:
    assert api.post(f"/_sandbox/live/{ENDED_ID}/end").status_code == 404
    assert api.post("/_sandbox/live/1/join", json={"name": "x"}).status_code == 404
    assert api.post(f"/_sandbox/live/{ENDED_ID}/join", json={}).status_code == 400


def test_webhook_url_change_keeps_tokens(hooked: httpx.Client) -> None:
    token = s2s_token(hooked)
    hooked.post("/_sandbox/accounts/acct_demo/webhook", json={"url": ""}).raise_for_status()
    assert hooked.get("/v2/users", headers=bearer(token)).status_code == 200


def test_control_surface_registration_sends_webhook(
    hooked: httpx.Client, receiver: Receiver
) -> None:
    answer = hooked.post(
        "/_sandbox/registrants",
        json={
            "webinar_id": UPCOMING_ID,
            "email": "Form@Example.com ",
            "first_name": "Form",
            "last_name": "Filler",
        },
    )
    assert answer.status_code == 201
    (body,) = receiver.wait_for(1)
    assert body["event"] == "webinar.registration_created"
    assert body["payload"]["object"]["registrant"]["id"] == answer.json()["id"]
    listed = hooked.get(f"/v2/webinars/{UPCOMING_ID}/registrants").json()
    assert listed["registrants"][-1]["email"] == "Form@Example.com "
