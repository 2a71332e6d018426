"""`manage.py zoom_demo_connect` against a sandbox whose control surface asks for a token: it sends
ZOOM_SANDBOX_CONTROL_TOKEN, and says what to set when it has none."""

from collections.abc import Iterator

import httpx
import pytest
from django.core.management import CommandError, call_command

from crm.models import Brand
from tests.support.sandbox import running_sandbox
from tests.zoom_integration.scenario import ACME, scenario
from zoom_integration.models import ZoomConnection

TOKEN = "demo-control-token-0123456789"
HEADER = "X-Sandbox-Control-Token"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def guarded_sandbox_url() -> Iterator[str]:
    with running_sandbox(env={"ZOOM_SANDBOX_CONTROL_TOKEN": TOKEN}) as url:
        yield url


@pytest.fixture
def guarded_sandbox(guarded_sandbox_url, settings):
    settings.ZOOM_API_BASE_URL = f"{guarded_sandbox_url}/v2"
    settings.ZOOM_OAUTH_BASE_URL = guarded_sandbox_url
    with httpx.Client(
        base_url=guarded_sandbox_url, timeout=10, trust_env=False, headers={HEADER: TOKEN}
    ) as client:
        client.post("/_sandbox/reset").raise_for_status()
        client.post("/_sandbox/scenario", json=scenario(settings.PUBLIC_BASE_URL))
        client.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
        yield client


def test_it_sends_the_control_token(guarded_sandbox, guarded_sandbox_url, settings):
    settings.ZOOM_SANDBOX_CONTROL_TOKEN = TOKEN
    Brand.objects.create(name="Demo", is_primary=True)
    call_command("zoom_demo_connect", sandbox_url=guarded_sandbox_url)
    connection = ZoomConnection.objects.get()
    assert connection.zoom_account_id == ACME
    # The webhook URL was set through the guarded control surface too.
    state = guarded_sandbox.get("/_sandbox/state").json()
    acme = next(a for a in state["accounts"] if a["id"] == ACME)
    assert acme["webhook"]["url"] == connection.webhook_url


def test_without_the_token_it_says_what_to_set(guarded_sandbox, guarded_sandbox_url, settings):
    settings.ZOOM_SANDBOX_CONTROL_TOKEN = ""
    Brand.objects.create(name="Demo", is_primary=True)
    with pytest.raises(CommandError, match="set ZOOM_SANDBOX_CONTROL_TOKEN"):
        call_command("zoom_demo_connect", sandbox_url=guarded_sandbox_url)
    assert not ZoomConnection.objects.exists()
