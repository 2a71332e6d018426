"""Fixtures shared by the whole suite.

Browser tests use Debian's Chromium through Playwright (recipe: shared/reference/browser-tests.md).
Without Chromium they are skipped with a loud notice, unless REQUIRE_BROWSER=1 (set by .ci/run),
which turns a missing browser into a failure.
"""

import os
import shutil

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from crm.models import Role
from crm.services.tokens import api_token_create
from tests.factories import UserFactory

# Playwright's sync API runs an event loop in the main thread; Django's ORM refuses to run
# beside it unless told it is safe (it is: tests are single-threaded).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
BROWSER_AVAILABLE = os.path.exists(CHROMIUM)
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"


def pytest_collection_modifyitems(config, items):
    browser_items = [item for item in items if "browser" in item.keywords]
    if not browser_items or BROWSER_AVAILABLE:
        return
    if REQUIRE_BROWSER:
        raise pytest.UsageError(
            f"REQUIRE_BROWSER=1 but Chromium was not found at {CHROMIUM}: "
            "install it with `apt-get install -y chromium`."
        )
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    for item in browser_items:
        item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # The API contract test's summary (how many cases the fuzzer generated), also under xdist.
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        for name, value in getattr(report, "user_properties", []):
            if name == "schemathesis" and report.when == "call":
                terminalreporter.write_line(value)
    if not BROWSER_AVAILABLE and not REQUIRE_BROWSER:
        terminalreporter.write_sep(
            "!",
            "BROWSER TESTS SKIPPED: Debian's chromium is not installed "
            "(apt-get install -y chromium, or run .ci/run)",
            red=True,
            bold=True,
        )


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request as a user with a profile language activates it for the thread, and nothing
    deactivates it (Django's LocaleMiddleware does the same): without this, the tests that run
    next in the same worker would speak that language (rule L1 tests then fail by order)."""
    yield
    translation.deactivate()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def admin_user(db):
    return UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN, is_staff=True)


@pytest.fixture
def marketer(db):
    return UserFactory(email="marketer@crm.test", role=Role.MARKETING)


@pytest.fixture
def viewer(db):
    return UserFactory(email="viewer@crm.test", role=Role.VIEWER)


def _token_client(user, scopes=None) -> APIClient:
    _token, clear = api_token_create(user=user, name="test", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {clear}")
    client.token = clear
    return client


@pytest.fixture
def admin_api(admin_user) -> APIClient:
    """An API client authenticated by a bearer token of a super admin (all scopes)."""
    return _token_client(admin_user)


@pytest.fixture
def marketer_api(marketer) -> APIClient:
    return _token_client(marketer)


@pytest.fixture
def viewer_api(viewer) -> APIClient:
    return _token_client(viewer)


@pytest.fixture
def token_client():
    """Factory: token_client(user, scopes=[...]) -> APIClient with a bearer token."""
    return _token_client


@pytest.fixture(scope="session", autouse=True)
def _celery_runs_tasks_inline():
    """Tasks run inline in tests (queued on commit, run at commit). Tests about real workers
    start a worker process and turn this off for themselves."""
    from config.celery import app

    # The app reads Django's CELERY_* settings under their prefixed names, which shadow the
    # plain ones: set both.
    app.conf.update(
        CELERY_TASK_ALWAYS_EAGER=True,
        CELERY_TASK_EAGER_PROPAGATES=True,
        task_always_eager=True,
        task_eager_propagates=True,
    )
    yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (Redis in CI): no flag or counter leaks between
    tests or runs."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def redis_cache(settings):
    """The default cache on a real Redis (database 13), as in production; skips without one."""
    from tests.support.worker import reachable_redis_url

    url = reachable_redis_url(13)
    if url is None:
        pytest.skip("needs Redis (REDIS_URL or 127.0.0.1:6379)")
    settings.CACHES = {"default": {"BACKEND": "crm.cache.ReusedClientRedisCache", "LOCATION": url}}
    from django.core.cache import cache

    return cache


@pytest.fixture(scope="session")
def zoom_sandbox_url():
    """One Zoom sandbox process for the CRM-side tests of a session (real HTTP)."""
    from tests.support.sandbox import running_sandbox

    with running_sandbox() as url:
        yield url


@pytest.fixture
def zoom_sandbox(zoom_sandbox_url, settings):
    """The sandbox, reset and loaded with `tests.zoom_integration.scenario.SCENARIO`; the CRM's
    Zoom settings point at it. Yields an httpx client on the sandbox (for `/_sandbox` calls)."""
    import httpx

    from tests.zoom_integration.scenario import scenario

    settings.ZOOM_API_BASE_URL = f"{zoom_sandbox_url}/v2"
    settings.ZOOM_OAUTH_BASE_URL = zoom_sandbox_url
    with httpx.Client(base_url=zoom_sandbox_url, timeout=10, trust_env=False) as client:
        client.post("/_sandbox/reset").raise_for_status()
        client.post(
            "/_sandbox/scenario", json=scenario(settings.PUBLIC_BASE_URL)
        ).raise_for_status()
        client.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
        yield client
