"""Fault injection rules (``POST /_sandbox/faults``).

Rules are matched in order against each Zoom-side request (``/v2/…`` and ``/oauth/…``): ``path``
is a regex *searched* in the request path (with ``/v2``, without the query), ``method`` is
optional, ``times`` (default 1) is how many matching requests a rule hits before it is spent.
A rule does one of:

- ``"status": 503`` (optionally ``"retry_after": 2`` → ``Retry-After: 2``): answer that status with
  a Zoom-shaped body ``{"code": <status>, "message": …}``; a 429 carries the QPS rate-limit headers;
- ``"delay_ms": 500``: wait, then answer normally (or with ``status`` if both are given);
- ``"answer_delay_ms": 3000``: handle the request (a registration is made), then hold its answer
  that long: a client that dies meanwhile never learns what was done;
- ``"drop_connection": true``: close the TCP connection without any answer;
- ``"expire_token": true``: the presented access token expires now → ``401 {"code":124,…}``;
- ``"expire_page_token": true``: the presented ``next_page_token`` expires now →
  ``400 {"code":300,"message":"The next page token is invalid or expired."}``. Only requests that
  carry a ``next_page_token`` match this kind of rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ScenarioError

_KINDS = (
    "status",
    "delay_ms",
    "answer_delay_ms",
    "drop_connection",
    "expire_token",
    "expire_page_token",
)


@dataclass(slots=True)
class FaultRule:
    pattern: re.Pattern[str]
    method: str | None
    times: int
    status: int | None = None
    retry_after: str | None = None
    delay_ms: int = 0
    answer_delay_ms: int = 0
    drop_connection: bool = False
    expire_token: bool = False
    expire_page_token: bool = False
    source: dict[str, Any] | None = None

    @property
    def kind(self) -> str:
        if self.drop_connection:
            return "drop_connection"
        if self.expire_token:
            return "expire_token"
        if self.expire_page_token:
            return "expire_page_token"
        if self.status is not None:
            return f"status_{self.status}"
        if self.answer_delay_ms and not self.delay_ms:
            return "answer_delay"
        return "delay"


def parse_rule(raw: Any) -> FaultRule:
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
        raise ScenarioError("a fault rule needs a 'path' regex")
    if not any(raw.get(k) for k in _KINDS):
        raise ScenarioError(f"a fault rule needs one of {', '.join(_KINDS)}")
    try:
        pattern = re.compile(raw["path"])
    except re.error as exc:
        raise ScenarioError(f"bad path regex: {exc}") from exc
    retry_after = raw.get("retry_after")
    return FaultRule(
        pattern=pattern,
        method=raw["method"].upper() if raw.get("method") else None,
        times=int(raw.get("times", 1)),
        status=int(raw["status"]) if raw.get("status") else None,
        retry_after=str(retry_after) if retry_after is not None else None,
        delay_ms=int(raw.get("delay_ms", 0)),
        answer_delay_ms=int(raw.get("answer_delay_ms", 0)),
        drop_connection=bool(raw.get("drop_connection")),
        expire_token=bool(raw.get("expire_token")),
        expire_page_token=bool(raw.get("expire_page_token")),
        source=dict(raw),
    )


class Faults:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def set(self, raw_rules: Any) -> int:
        if not isinstance(raw_rules, list):
            raise ScenarioError("'rules' must be a list")
        self.rules = [parse_rule(r) for r in raw_rules]
        return len(self.rules)

    def clear(self) -> None:
        self.rules = []

    def match(self, method: str, path: str, has_page_token: bool) -> FaultRule | None:
        """The first live rule for this request, with one of its ``times`` used up."""
        for rule in self.rules:
            if rule.times <= 0 or (rule.method and rule.method != method):
                continue
            if rule.expire_page_token and not has_page_token:
                continue
            if rule.pattern.search(path):
                rule.times -= 1
                return rule
        return None

    def describe(self) -> list[dict[str, Any]]:
        return [{**(r.source or {}), "times_left": r.times} for r in self.rules]
