"""HTTPS settings from the environment: production redirects to HTTPS and sends HSTS; behind a
TLS-terminating proxy, SECURE_PROXY_SSL_HEADER makes the proxy's HTTPS requests count as secure,
so the API's absolute links are https:// and Zoom's webhook deliveries are not redirected."""

import ast
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.wsgi import get_wsgi_application

from tests.config.test_settings import PRODUCTION_ENV
from tests.factories import BrandFactory
from tests.zoom_integration.test_webhooks import independent_signature
from zoom_integration.models import WebhookDelivery
from zoom_integration.webhooks.wsgi import with_webhook_path

ROOT = Path(__file__).resolve().parents[2]
NAMES = (
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "USE_X_FORWARDED_HOST",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
)
HTTPS_ENV = dict.fromkeys(NAMES, "")


def https_settings(env: dict) -> dict:
    """The HTTPS settings as config/settings.py reads them from `env`, in a fresh process."""
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in NAMES}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", **env})
    code = (
        "from django.conf import settings; "
        f"print(repr({{n: getattr(settings, n) for n in {NAMES!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout.strip())


def test_production_defaults_redirect_to_https_and_send_hsts():
    assert https_settings(PRODUCTION_ENV) == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": None,  # opt-in: only a proxy one controls may be trusted
        "USE_X_FORWARDED_HOST": False,
        "SECURE_HSTS_SECONDS": 31_536_000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
    }


def test_development_defaults_stay_on_plain_http():
    values = https_settings({"DJANGO_ENV": "development"})
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0


def test_empty_values_count_as_unset():
    # A copied .env.example leaves them blank: the production defaults hold.
    values = https_settings({**PRODUCTION_ENV, **HTTPS_ENV})
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True


def test_each_one_is_set_from_the_environment():
    values = https_settings(
        {
            **PRODUCTION_ENV,
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
            "USE_X_FORWARDED_HOST": "true",
            "SECURE_HSTS_SECONDS": "3600",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
            "SECURE_HSTS_PRELOAD": "true",
        }
    )
    assert values == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
        "USE_X_FORWARDED_HOST": True,
        "SECURE_HSTS_SECONDS": 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": True,
    }


@pytest.mark.parametrize(
    "given", ["X-Forwarded-Proto", "x_forwarded_proto", " HTTP_X_FORWARDED_PROTO "]
)
def test_the_proxy_header_may_be_named_as_sent(given):
    values = https_settings({"SECURE_PROXY_SSL_HEADER": given})
    assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_a_proxy_header_that_is_no_header_name_fails_at_start_up():
    clean = {k: v for k, v in os.environ.items() if k not in NAMES}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "SECURE_PROXY_SSL_HEADER": "a b"})
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DEBUG"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECURE_PROXY_SSL_HEADER='a b' is not a header name" in result.stderr


@pytest.fixture
def behind_a_tls_proxy(settings):
    """Production's HTTPS settings, with the proxy header as read from the environment."""
    values = https_settings(
        {
            **PRODUCTION_ENV,
            "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
            "USE_X_FORWARDED_HOST": "true",
        }
    )
    for name, value in values.items():
        setattr(settings, name, value)
    settings.ALLOWED_HOSTS = ["testserver", "crm.example.com"]
    return settings


@pytest.mark.django_db
def test_the_api_next_link_is_https_behind_the_proxy(behind_a_tls_proxy, admin_api):
    BrandFactory.create_batch(2)
    answer = admin_api.get(
        "/api/v1/brands/?limit=1",
        HTTP_X_FORWARDED_PROTO="https",
        HTTP_X_FORWARDED_HOST="crm.example.com",
    )
    assert answer.status_code == 200, answer.content
    assert len(answer.json()["results"]) == 1
    assert answer.json()["next"].startswith("https://crm.example.com/api/v1/brands/?")
    assert answer["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_a_plain_http_request_is_redirected_to_https(behind_a_tls_proxy, admin_api):
    answer = admin_api.get("/api/v1/brands/?limit=1")
    assert answer.status_code == 301
    assert answer["Location"] == "https://testserver/api/v1/brands/?limit=1"


SECRET = "https-secret"
EVENT = {
    "event": "webinar.participant_joined",
    "event_ts": 1_700_000_000_000,
    "payload": {"account_id": "acct-health", "object": {"id": "1"}},
}


def _deliver(application, connection, **headers) -> dict:
    """One signed delivery through the real WSGI application, as gunicorn calls it."""
    body = json.dumps(EVENT, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/integrations/zoom/webhooks/{connection.pk}/",
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_ZM_REQUEST_TIMESTAMP": timestamp,
        "HTTP_X_ZM_SIGNATURE": independent_signature(SECRET, timestamp, body),
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


@pytest.fixture
def webhook_connection(db):
    from tests.zoom_integration.test_webhook_health import make_connection

    connection = make_connection()
    connection.webhook_secret_token = SECRET
    connection.save()
    return connection


@pytest.fixture
def _keep_the_test_transaction():
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.usefixtures("_keep_the_test_transaction")
def test_zoom_webhooks_behind_the_proxy_are_not_redirected(behind_a_tls_proxy, webhook_connection):
    # The middleware reads the HTTPS settings when the application is built, as gunicorn does.
    application = with_webhook_path(get_wsgi_application())
    answer = _deliver(application, webhook_connection, x_forwarded_proto="https")
    assert (answer["status"], json.loads(answer["body"])) == (200, {"status": "accepted"})
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.usefixtures("_keep_the_test_transaction")
def test_without_the_proxy_header_a_delivery_would_be_redirected(
    behind_a_tls_proxy, webhook_connection
):
    # Why SECURE_PROXY_SSL_HEADER matters: Zoom does not follow redirects, so a proxy whose
    # HTTPS is not recognised loses every delivery.
    application = with_webhook_path(get_wsgi_application())
    answer = _deliver(application, webhook_connection)
    assert answer["status"] == 301
    assert answer["headers"]["location"].startswith("https://")
    assert not WebhookDelivery.objects.exists()
