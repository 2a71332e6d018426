"""The running sandbox: every piece of in-memory state and the settings, in one object."""

from __future__ import annotations

from collections import deque
from typing import Any

from .errors import ScenarioError
from .faults import Faults
from .oauth import OAuth
from .pagination import PageTokens
from .ratelimit import RateLimiter
from .store import Store
from .timeutil import Clock
from .webhooks import DEFAULT_RETRY_DELAYS, DEFAULT_TIMEOUT, WebhookSender

REQUEST_LOG_SIZE = 100_000


class Sandbox:
    def __init__(self, *, rate_limits: bool = True, control_token: str = "") -> None:
        self.clock = Clock()
        self.store = Store()
        self.oauth = OAuth(self.store, self.clock.now)
        self.page_tokens = PageTokens(self.clock.now)
        self.limiter = RateLimiter(self.clock.now)
        self.faults = Faults()
        self.webhooks = WebhookSender(self.clock.now)
        self.requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.default_rate_limits = rate_limits
        self.rate_limits = rate_limits
        # Registrants listed with their tracking source's id (this sandbox's contract), or
        # without it, as Zoom's own API lists them (False).
        self.registrant_source_ids = True
        # When set, every /_sandbox call must carry it (app.CONTROL_TOKEN_HEADER); a reset
        # keeps it: it belongs to the process, not to the state.
        self.control_token = control_token

    def now(self) -> float:
        return self.clock.now()

    def reset(self) -> None:
        """Empty state, and every setting back to how the process started."""
        self.store.reset()
        self.oauth.reset()
        self.page_tokens.clear()
        self.limiter.reset()
        self.limiter.overrides = {}
        self.faults.clear()
        self.webhooks.reset()
        self.webhooks.retry_delays = list(DEFAULT_RETRY_DELAYS)
        self.webhooks.timeout = DEFAULT_TIMEOUT
        self.requests.clear()
        self.clock.reset()
        self.rate_limits = self.default_rate_limits
        self.registrant_source_ids = True

    def load(self, scenario: dict[str, Any]) -> dict[str, int]:
        """Replace the state with a scenario; tokens and counters of the old state go with it."""
        self.store.load(scenario)
        self.oauth.reset()
        self.page_tokens.clear()
        self.limiter.reset()
        return self.store.counts()

    def settings(self) -> dict[str, Any]:
        return {
            "rate_limits": self.rate_limits,
            "registrant_source_ids": self.registrant_source_ids,
            "rate_limit_overrides": self.limiter.overrides,
            "webhook_retry_delays": self.webhooks.retry_delays,
            "webhook_timeout": self.webhooks.timeout,
        }

    def update_settings(self, body: dict[str, Any]) -> dict[str, Any]:
        if "rate_limits" in body:
            self.rate_limits = bool(body["rate_limits"])
        if "registrant_source_ids" in body:
            if not isinstance(body["registrant_source_ids"], bool):
                raise ScenarioError("'registrant_source_ids' must be true or false")
            self.registrant_source_ids = body["registrant_source_ids"]
        if "rate_limit_overrides" in body:
            if not isinstance(body["rate_limit_overrides"], dict):
                raise ScenarioError("'rate_limit_overrides' must be an object")
            self.limiter.overrides = body["rate_limit_overrides"]
        if "webhook_retry_delays" in body:
            delays = body["webhook_retry_delays"]
            if not isinstance(delays, list):
                raise ScenarioError("'webhook_retry_delays' must be a list of seconds")
            self.webhooks.retry_delays = [float(d) for d in delays]
        if "webhook_timeout" in body:
            self.webhooks.timeout = float(body["webhook_timeout"])
        return self.settings()

    def emit(self, account_id: str, event: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        account = self.store.accounts.get(account_id)
        if account is None:
            return None
        return self.webhooks.send(account.data, event, payload)
