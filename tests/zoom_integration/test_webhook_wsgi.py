"""The lean way in for webhook deliveries (config/wsgi.py): POSTs to the receiver's URL go
through Django without the browser-only middleware; everything else, the receiver's URL with
another method included, goes through the whole stack as before. Requests are made through the
real WSGI application, as gunicorn calls it."""

import io
import json
import sys
import time

import pytest
from django.core import signals
from django.db import close_old_connections
from django.urls import reverse

from config.wsgi import application
from tests.zoom_integration.test_webhooks import independent_signature
from zoom_integration.models import WebhookDelivery
from zoom_integration.webhooks.wsgi import (
    BROWSER_MIDDLEWARE,
    WEBHOOK_PATH,
    WebhookHandler,
    webhook_middleware,
)

pytestmark = pytest.mark.django_db
SECRET = "wsgi-secret"


@pytest.fixture
def connection(db):
    from tests.zoom_integration.test_webhook_health import make_connection

    connection = make_connection()
    connection.webhook_secret_token = SECRET
    connection.save()
    return connection


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    # As Django's test client does: the request signals must not close the connection that
    # holds the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def call(method, path, body=b"", host="testserver", **headers):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        **{f"HTTP_{name.upper()}": value for name, value in headers.items()},
    }
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = {name.lower(): value for name, value in response_headers}

    answer["body"] = b"".join(application(environ, start_response))
    return answer


def signed(connection, envelope, **overrides):
    body = json.dumps(envelope, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "x_zm_request_timestamp": timestamp,
        "x_zm_signature": independent_signature(SECRET, timestamp, body),
        **overrides,
    }
    return call("POST", f"/integrations/zoom/webhooks/{connection.pk}/", body, **headers)


EVENT = {
    "event": "webinar.participant_joined",
    "event_ts": 1_700_000_000_000,
    "payload": {"account_id": "acct-health", "object": {"id": "1"}},
}


def test_the_lean_path_matches_exactly_the_receivers_url():
    url = reverse("zoom_webhook", args=[12345])
    assert WEBHOOK_PATH.fullmatch(url)
    assert not WEBHOOK_PATH.fullmatch(url + "x")
    assert not WEBHOOK_PATH.fullmatch("/integrations/zoom/webhooks/abc/")
    assert not WEBHOOK_PATH.fullmatch("/integrations/zoom/")


def test_only_browser_middleware_is_left_out(settings):
    kept = webhook_middleware()
    assert kept == [m for m in settings.MIDDLEWARE if m not in BROWSER_MIDDLEWARE]
    assert "django.middleware.security.SecurityMiddleware" in kept
    assert "django.middleware.common.CommonMiddleware" in kept
    assert BROWSER_MIDDLEWARE <= set(settings.MIDDLEWARE)  # the names are real entries
    handler = WebhookHandler()
    assert handler._middleware_chain is not None


def test_a_delivery_through_the_lean_path_is_stored_and_answered(connection):
    answer = signed(connection, EVENT)
    assert (answer["status"], json.loads(answer["body"])) == (200, {"status": "accepted"})
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.event_ts, delivery.payload) == (
        EVENT["event"],
        EVENT["event_ts"],
        EVENT["payload"],
    )
    # No session, CSRF or language machinery (the locale middleware marks every response it
    # sees with Content-Language and Vary: Accept-Language).
    assert "set-cookie" not in answer["headers"]
    assert "content-language" not in answer["headers"]
    assert "accept-language" not in answer["headers"].get("vary", "").lower()
    # What still runs for every response: the security and clickjacking headers.
    assert answer["headers"]["x-content-type-options"] == "nosniff"
    assert answer["headers"]["x-frame-options"] == "DENY"


def test_the_whole_stack_marks_its_responses_as_the_lean_path_does_not(connection):
    # The check above can fail: a request through the whole stack carries the language marks.
    page = call("GET", "/accounts/login/")
    assert page["status"] == 200 and "content-language" in page["headers"]


@pytest.mark.parametrize(
    ("overrides", "status", "reason"),
    [
        ({"x_zm_signature": "v0=00"}, 401, "bad_signature"),
        ({"x_zm_request_timestamp": str(int(time.time()) - 301)}, 401, "stale_timestamp"),
    ],
)
def test_refusals_are_the_same_on_the_lean_path(connection, overrides, status, reason):
    answer = signed(connection, EVENT, **overrides)
    assert (answer["status"], json.loads(answer["body"])["error"]) == (status, reason)
    assert not WebhookDelivery.objects.exists()


def test_an_unknown_host_is_still_refused(connection):
    body = json.dumps(EVENT).encode()
    answer = call("POST", f"/integrations/zoom/webhooks/{connection.pk}/", body, host="evil.test")
    assert answer["status"] == 400
    assert not WebhookDelivery.objects.exists()


def test_other_requests_take_the_whole_stack(connection):
    # A GET on the receiver's URL is not a delivery: the full stack answers it (405).
    assert call("GET", f"/integrations/zoom/webhooks/{connection.pk}/")["status"] == 405
    # A page for people: redirected to log in, through the session and auth middleware.
    page = call("GET", "/")
    assert page["status"] == 302 and "/accounts/login/" in page["headers"]["location"]
