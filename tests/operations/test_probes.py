"""/healthz and /readyz (issue 22): cheap, unauthenticated, no secrets in their answers; /readyz
names the part that is down. "Down" here is real: the settings point at a port nothing listens
on, and the check really tries to connect there."""

import copy
import socket
from io import BytesIO

import pytest
from django.core.handlers.wsgi import WSGIHandler

from operations import readiness
from operations.wsgi import with_probe_paths
from tests.support.worker import reachable_redis_url

# The readiness check builds its own connection from settings.DATABASES, which these tests
# point at a closed port; Django's pooled connections are left alone.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed on leaving: nothing listens there any more


@pytest.fixture
def database_down(settings):
    port = closed_port()
    down = copy.deepcopy(settings.DATABASES)
    down["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "crm",
        "USER": "crm",
        "PASSWORD": "s3cret-password",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    settings.DATABASES = down
    return port


@pytest.mark.django_db
def test_healthz_is_200_and_touches_nothing_even_with_the_database_down(
    client, database_down, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.django_db
def test_readyz_is_200_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "migrations": "ok"},
    }


@pytest.mark.django_db
def test_readyz_is_503_naming_the_database_when_postgresql_is_unreachable(
    client, database_down, monkeypatch
):
    monkeypatch.setattr(readiness, "_migrations_done", type(readiness._migrations_done)())
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "unreachable (OperationalError)"
    assert body["checks"]["migrations"] == "unreachable (OperationalError)"
    assert (body["checks"]["cache"], body["checks"]["broker"]) == ("ok", "ok")
    # No secret, host or port in the answer.
    for secret in ("s3cret-password", "127.0.0.1", str(database_down), "crm"):
        assert secret not in response.content.decode()


@pytest.mark.django_db
def test_readyz_is_503_naming_the_cache_and_broker_when_redis_is_unreachable(client, settings):
    url = f"redis://:s3cret@127.0.0.1:{closed_port()}/11"
    settings.CACHES = {"default": {"BACKEND": "crm.cache.ReusedClientRedisCache", "LOCATION": url}}
    settings.CELERY_BROKER_URL = url
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "unreachable (ConnectionError)",
        "broker": "unreachable (ConnectionError)",
        "migrations": "ok",
    }
    assert "s3cret" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_is_200_on_a_real_redis_cache_and_broker(client, settings):
    url = reachable_redis_url(11)
    if url is None:
        pytest.skip("needs Redis")
    settings.CACHES = {"default": {"BACKEND": "crm.cache.ReusedClientRedisCache", "LOCATION": url}}
    settings.CELERY_BROKER_URL = url
    response = client.get("/readyz")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


@pytest.mark.django_db
def test_pending_migrations_make_readyz_503(client, monkeypatch):
    monkeypatch.setattr(readiness, "_migrations_done", type(readiness._migrations_done)())
    on_disk = readiness._migrations_on_disk()
    later = {("crm", "9998_later"): [], ("segments", "9999_later"): []}
    monkeypatch.setattr(readiness, "_migrations_on_disk", lambda: {**on_disk, **later})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"] == "2 migrations not applied"


def call_wsgi(app, path: str, *, host: str, headers: dict | None = None):
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SERVER_NAME": host,
        "SERVER_PORT": "8000",
        "HTTP_HOST": host,
        "wsgi.url_scheme": "http",
        "wsgi.input": BytesIO(b""),
        "wsgi.errors": BytesIO(),
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()},
    }
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)

    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body


@pytest.mark.django_db
def test_probes_skip_host_validation_and_the_https_redirect(settings):
    # The kubelet calls a pod by its address over plain HTTP, even where production redirects
    # to HTTPS and allows only its public host name.
    settings.ALLOWED_HOSTS = ["crm.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    app = with_probe_paths(WSGIHandler())
    status, headers, body = call_wsgi(
        app, "/healthz", host="10.1.2.3", headers={"X-Request-ID": "probe-1"}
    )
    assert (status, body, headers["X-Request-ID"]) == (200, b'{"status": "ok"}', "probe-1")
    # Any other path still goes through the whole site: the host is refused.
    status, _, _ = call_wsgi(app, "/accounts/login/", host="10.1.2.3")
    assert status == 400
