"""One sandbox process per test session, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.sandbox import running_sandbox
from tests.zoom_sandbox.helpers import bearer, s2s_token, scenario


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    with running_sandbox() as url:
        yield url


@pytest.fixture
def sandbox(sandbox_url: str) -> Iterator[httpx.Client]:
    """A client on the sandbox, whose state was just reset (tests load what they need)."""
    with httpx.Client(base_url=sandbox_url, timeout=10, trust_env=False) as client:
        client.post("/_sandbox/reset").raise_for_status()
        yield client


@pytest.fixture
def loaded(sandbox: httpx.Client) -> httpx.Client:
    sandbox.post("/_sandbox/scenario", json=scenario()).raise_for_status()
    return sandbox


@pytest.fixture
def api(loaded: httpx.Client) -> httpx.Client:
    """A client authorised as acct_demo's S2S app (rate limits off unless a test turns them on)."""
    loaded.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    loaded.headers.update(bearer(s2s_token(loaded)))
    return loaded
