"""Deliveries the receiver refuses: another Zoom account's events (rule Z10), garbage signature
and timestamp headers (401, never a 500), and the refusal counters of the health panel, kept
only for connections that exist and bounded per connection. Posted through the real URL, and
through the WSGI fast path where the headers matter."""

import hashlib
import hmac
import json
import re
import time

import pytest
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from django.urls import reverse
from django.utils import timezone

from crm.models import Brand, Contact, Role
from marketing_events.models import Participation
from tests.factories import UserFactory
from tests.zoom_integration.test_webhooks import independent_signature
from zoom_integration.models import ConnectionStatus, WebhookDelivery, ZoomConnection, ZoomUser
from zoom_integration.webhooks.receiver import REJECTIONS_KEPT, recent_rejections

pytestmark = pytest.mark.django_db
SECRET = "refusals-secret"
ACCOUNT = "acct-refusals"
WEBINAR_ID = 86000000042


@pytest.fixture(autouse=True)
def _empty_cache():
    # Refusals live in the cache (local memory in tests), not in the rolled-back database.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def keep_the_test_transaction():
    # As Django's test client does: the request signals of a WSGI call must not close the
    # connection that holds the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def cache_keys() -> set[str]:
    """Every key in the test cache: Redis in CI (REDIS_URL), local memory otherwise. Neither
    has a public way to list its keys; inspecting the test cache is the point. The metrics'
    counters of refusals are left out: one key per refusal reason, a fixed set whatever is
    posted (tests/operations/test_metrics.py counts them)."""
    backend = cache._cache  # noqa: SLF001
    if hasattr(backend, "get_client"):
        keys = {key.decode() for key in backend.get_client().keys("*")}
    else:
        keys = set(backend.keys())
    return {key for key in keys if ":metrics:" not in key}


def make_connection(*, account=ACCOUNT, status=ConnectionStatus.CONNECTED, name="Acme"):
    connection = ZoomConnection.objects.create(
        brand=Brand.objects.create(name=name, is_primary=name == "Acme"),
        kind="s2s" if account else "oauth",
        status=status,
        zoom_account_id=account,
        client_id="cid",
        client_secret="secret",
        webhook_secret_token=SECRET,
        connected_at=timezone.now() if status == ConnectionStatus.CONNECTED else None,
        sync_webinar_data=True,
    )
    ZoomUser.objects.create(connection=connection, zoom_user_id="u_host", email="host@acme.test")
    return connection


@pytest.fixture
def connection(db):
    return make_connection()


def registration(account_id, n: int = 1) -> dict:
    payload = {
        "object": {
            "id": WEBINAR_ID,
            "uuid": "refusalsUuid==",
            "host_id": "u_host",
            "topic": "Refusals webinar",
            "type": 5,
            "start_time": "2030-01-01T10:00:00Z",
            "duration": 60,
            "timezone": "UTC",
            "registrant": {
                "id": f"r{n}",
                "email": f"person{n}@example.com",
                "first_name": "P",
                "last_name": str(n),
                "status": "approved",
                "create_time": "2029-12-01T10:00:00Z",
            },
        }
    }
    if account_id is not None:
        payload["account_id"] = account_id
    return {
        "event": "webinar.registration_created",
        "event_ts": 1_700_000_000_000 + n,
        "payload": payload,
    }


def post(client, connection_id, envelope=None, *, raw=None, secret=SECRET, **headers):
    body = raw if raw is not None else json.dumps(envelope, separators=(",", ":")).encode()
    timestamp = headers.pop("timestamp", None) or str(int(time.time()))
    signature = headers.pop("signature", None) or independent_signature(secret, timestamp, body)
    return client.post(
        f"/integrations/zoom/webhooks/{connection_id}/",
        body,
        content_type="application/json",
        HTTP_X_ZM_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_ZM_SIGNATURE=signature,
    )


def nothing_stored():
    return (
        not WebhookDelivery.objects.exists()
        and not Contact.objects.exists()
        and not Participation.objects.exists()
    )


def health_html(client, connection) -> str:
    client.force_login(UserFactory(role=Role.VIEWER))
    response = client.get(reverse("zoom_integration:webhook_health", args=[connection.pk]))
    assert response.status_code == 200
    return response.content.decode()


# Rule Z10: another account's events ----------------------------------------------------------


@pytest.mark.parametrize(
    "account_id", ["acct-other", "", None, 12345, "ACCT-REFUSALS", ["acct-refusals"]]
)
def test_a_signed_delivery_for_another_account_is_refused(
    client, connection, django_capture_on_commit_callbacks, account_id
):  # rule Z10
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, connection.pk, registration(account_id))
    assert response.status_code == 403
    assert response.json()["error"] == "wrong_account"
    assert nothing_stored()
    assert [r["reason"] for r in recent_rejections(connection.pk)] == ["wrong_account"]
    html = health_html(client, connection)
    assert re.search(r'<tr data-reason="wrong_account">.*?data-col="status">403<', html, re.S)
    assert "Another Zoom account&#x27;s event: 1" in html


def test_a_delivery_for_the_connections_account_is_applied(
    client, connection, django_capture_on_commit_callbacks
):  # rule Z10
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, connection.pk, registration(ACCOUNT))
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    assert WebhookDelivery.objects.get().status == "applied"
    assert Contact.objects.get().email == "person1@example.com"
    assert Participation.objects.count() == 1
    assert recent_rejections(connection.pk) == []


def test_a_disconnected_connection_refuses_another_account_before_ignoring(client, db):
    # Z10 comes first: another account's event is not even kept as an ignored delivery.
    connection = make_connection(status=ConnectionStatus.DISCONNECTED)
    assert post(client, connection.pk, registration("acct-other")).status_code == 403
    assert nothing_stored()
    response = post(client, connection.pk, registration(ACCOUNT))
    assert response.json() == {"status": "ignored", "reason": "disconnected"}


def test_a_connection_whose_account_is_not_known_yet_refuses_events_but_validates_its_url(
    client, db, django_capture_on_commit_callbacks
):  # rule Z10
    # An OAuth connection learns its account id when the authorization completes; before
    # that no event can be shown to come from its account, so none is stored (fail closed).
    # Zoom validates the URL when the app's event subscription is saved, which may come first.
    connection = make_connection(account="", status=ConnectionStatus.PENDING)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, connection.pk, registration(ACCOUNT))
    assert response.status_code == 403 and response.json()["error"] == "account_unknown"
    assert nothing_stored()
    assert "Zoom account not known yet: 1" in health_html(client, connection)
    validation = {
        "event": "endpoint.url_validation",
        "event_ts": 1,
        "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
    }
    answer = post(client, connection.pk, validation)
    assert answer.status_code == 200
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert answer.json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}


def test_url_validation_needs_no_account_id(client, connection):
    validation = {"event": "endpoint.url_validation", "event_ts": 1, "payload": {"plainToken": "x"}}
    response = post(client, connection.pk, validation)
    assert response.status_code == 200 and response.json()["plainToken"] == "x"
    assert recent_rejections(connection.pk) == []


@pytest.mark.parametrize("event", ["webinar.registration_created", "webinar.participant_joined"])
def test_a_stored_delivery_of_another_account_is_not_applied(connection, event):
    # Deliveries stored before Z10 was checked at the door are not applied by the drain either
    # (registrations go through its bulk path, other events one by one).
    from zoom_integration.tasks import process_webhook

    own = registration(ACCOUNT, 2)
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                connection=connection,
                delivery_key="foreign",
                event=event,
                payload={**own["payload"], "account_id": "acct-other"},
            ),
            WebhookDelivery(
                connection=connection,
                delivery_key="own",
                event=own["event"],
                payload=own["payload"],
            ),
        ]
    )
    process_webhook(connection_id=connection.pk)
    foreign = WebhookDelivery.objects.get(delivery_key="foreign")
    assert (foreign.status, foreign.outcome) == ("ignored", "wrong_account")
    assert WebhookDelivery.objects.get(delivery_key="own").status == "applied"
    assert list(Contact.objects.values_list("email", flat=True)) == ["person2@example.com"]
    assert Participation.objects.count() == 1


# Bounded refusal counters ---------------------------------------------------------------------


def test_refusals_for_connections_that_do_not_exist_keep_nothing(client, connection):
    before = cache_keys()
    for connection_id in range(connection.pk + 1, connection.pk + 301):
        response = post(client, connection_id, registration(ACCOUNT), secret="wrong")
        assert response.status_code == 404
    response = post(client, 99999999999999999999999, registration(ACCOUNT))  # past BIGINT
    assert response.status_code == 404
    assert cache_keys() - before == set()
    assert nothing_stored()


def test_refusals_of_an_existing_connection_stay_bounded(client, connection):
    before = cache_keys()
    for n in range(REJECTIONS_KEPT + 40):
        assert (
            post(client, connection.pk, registration(ACCOUNT, n), secret="wrong").status_code == 401
        )
        assert post(client, connection.pk, registration("acct-other", n)).status_code == 403
    assert len(cache_keys() - before) == 1
    kept = recent_rejections(connection.pk)
    assert len(kept) == REJECTIONS_KEPT
    assert {r["reason"] for r in kept} == {"bad_signature", "wrong_account"}
    assert len(json.dumps(kept)) < REJECTIONS_KEPT * 120  # fixed-size entries


# Garbage headers: 401, never a 500 -------------------------------------------------------------


BAD_SIGNATURES = ["v0=é" + "0" * 62, "v0=\u00ff\u00fe", "é", "v0=" + "a" * 10_000, "\x00"]


def digits_in(zero: str, number: int) -> str:
    return "".join(chr(ord(zero) + int(d)) for d in str(number))


# Built from the current time: each would be fresh if its form were accepted.
BAD_TIMESTAMPS = {
    "latin letter": lambda now: "\u00e9",
    "fullwidth digits": lambda now: digits_in("\uff10", now),
    "arabic-indic digits": lambda now: digits_in("\u0660", now),
    "underscores": lambda now: f"{str(now)[:4]}_{str(now)[4:]}",
    "leading space": lambda now: f" {now}",
    "plus sign": lambda now: f"+{now}",
    "too many digits": lambda now: "9" * 5000,
}


@pytest.mark.parametrize("signature", BAD_SIGNATURES)
def test_a_garbage_signature_is_401(client, connection, signature):
    response = post(client, connection.pk, registration(ACCOUNT), signature=signature)
    assert response.status_code == 401 and response.json()["error"] == "bad_signature"
    assert nothing_stored()


@pytest.mark.parametrize("form", BAD_TIMESTAMPS)
def test_a_garbage_timestamp_is_401(client, connection, form):
    # Signed with that very timestamp: only its form is wrong.
    timestamp = BAD_TIMESTAMPS[form](int(time.time()))
    response = post(client, connection.pk, registration(ACCOUNT), timestamp=timestamp)
    assert response.status_code == 401 and response.json()["error"] == "stale_timestamp"
    assert nothing_stored()


def test_an_unicode_digit_timestamp_is_not_taken_as_fresh():
    from zoom_integration.webhooks.signature import timestamp_fresh

    now = int(time.time())
    assert timestamp_fresh(str(now), now)
    assert not timestamp_fresh(digits_in("\uff10", now), now)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"x_zm_signature": "v0=\u00e9" + "0" * 62}, "bad_signature"),
        ({"x_zm_signature": "v0=\u00c3\u00a9"}, "bad_signature"),  # é's UTF-8 read as latin-1
        ({"x_zm_request_timestamp": "\u00e9"}, "stale_timestamp"),
        ({"x_zm_request_timestamp": "\u00b9\u00b2"}, "stale_timestamp"),  # superscript digits
    ],
)
def test_garbage_headers_through_the_wsgi_fast_path_are_401(
    connection, keep_the_test_transaction, headers, reason
):
    from tests.zoom_integration.test_webhook_wsgi import call

    body = json.dumps(registration(ACCOUNT)).encode()
    timestamp = str(int(time.time()))
    sent = {
        "x_zm_request_timestamp": timestamp,
        "x_zm_signature": independent_signature(SECRET, timestamp, body),
        **headers,
    }
    answer = call("POST", f"/integrations/zoom/webhooks/{connection.pk}/", body, **sent)
    assert answer["status"] == 401
    assert json.loads(answer["body"])["error"] == reason
    assert nothing_stored()


def signed_body(rest: bytes) -> bytes:
    return b'{"event": "webinar.started", "payload": {"account_id": "acct-refusals"}, ' + rest


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(signed_body(b'"event_ts": 1e400}'), id="infinite event_ts"),
        pytest.param(signed_body(b'"event_ts": 100000000000000000000000}'), id="huge event_ts"),
        pytest.param(signed_body(b'"event_ts": -100000000000000000000000}'), id="tiny event_ts"),
        pytest.param(signed_body(b'"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), id="deep"),
        pytest.param(signed_body(b'"x": "\\u0000"}'), id="NUL in the payload"),
        pytest.param(
            b'{"event": "webinar.\\u0000started", "payload": {"account_id": "acct-refusals"}}',
            id="NUL in the event",
        ),
    ],
)
def test_a_signed_body_no_column_can_hold_is_400(client, connection, raw):
    # Signed with the right secret, so only its content is wrong: out of the event_ts column's
    # range, nested deeper than the JSON parser goes, or a NUL character, which PostgreSQL's
    # text and jsonb refuse.
    response = post(client, connection.pk, raw=raw)
    assert response.status_code == 400 and response.json()["error"] == "malformed_body"
    assert nothing_stored()
