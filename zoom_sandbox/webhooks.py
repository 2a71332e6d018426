"""Signed webhook deliveries as Zoom sends them (zoom-api.md §7.1).

- Body: compact JSON ``{"event", "event_ts" (ms), "payload": {"account_id", "object", …}}``.
- ``x-zm-request-timestamp`` (seconds) and
  ``x-zm-signature: v0=hex(HMAC_SHA256(secret, "v0:{ts}:{body}"))``.
- ``endpoint.url_validation``: a signed ``{"payload":{"plainToken"}}``; the receiver must answer
  within 3 s with ``{"plainToken", "encryptedToken": hex(HMAC_SHA256(secret, plainToken))}``.
- Retries after a 5xx or a transport failure/timeout, never after 3xx/4xx. Zoom waits 5, 20 and
  60 minutes; the sandbox's delays are a setting (short by default) so tests stay fast.

Deliveries run in background asyncio tasks, one ordered queue per account, so API calls never
wait on a receiver; a failed attempt's retries are scheduled beside the queue.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

import httpx

from .store import dumps

DEFAULT_RETRY_DELAYS = [1.0, 2.0, 4.0]
DEFAULT_TIMEOUT = 3.0  # Zoom expects an answer within 3 s


def signature(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def encrypted_token(secret: str, plain_token: str) -> str:
    return hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()


class WebhookSender:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.retry_delays: list[float] = list(DEFAULT_RETRY_DELAYS)
        self.timeout = DEFAULT_TIMEOUT
        self.deliveries: list[dict[str, Any]] = []
        self._queues: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(trust_env=False)
        return self._client

    async def close(self) -> None:
        self.reset()
        if self._client is not None:
            await self._client.aclose()

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self._queues.clear()
        self.deliveries = []

    def envelope(self, account_id: str, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        top_level = {k: v for k, v in payload.items() if k == "download_token"}
        inner = {k: v for k, v in payload.items() if k != "download_token"}
        return {
            "event": event,
            "event_ts": int(self._now() * 1000),
            "payload": {"account_id": account_id, **inner},
            **top_level,
        }

    def send(self, account: dict[str, Any], event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue one event for ``account``'s webhook URL; answers the delivery record."""
        hook = account.get("webhook") or {}
        record: dict[str, Any] = {
            "id": len(self.deliveries) + 1,
            "account_id": account["id"],
            "event": event,
            "url": hook.get("url", ""),
            "body": self.envelope(account["id"], event, payload),
            "secret": hook.get("secret_token", ""),
            "attempts": [],
            "state": "queued",
        }
        self.deliveries.append(record)
        if not record["url"]:
            record["state"] = "no_url"
            return record
        queue = self._queues.get(account["id"])
        if queue is None:
            queue = asyncio.Queue()
            self._queues[account["id"]] = queue
            self._spawn(self._drain(queue))
        queue.put_nowait(record)
        return record

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            record = await queue.get()
            if await self._attempt(record) and record["attempts"][-1]["retry"]:
                self._spawn(self._retry(record))

    async def _retry(self, record: dict[str, Any]) -> None:
        for delay in self.retry_delays:
            await asyncio.sleep(delay)
            await self._attempt(record)
            if not record["attempts"][-1]["retry"]:
                return
        record["state"] = "dropped"  # Zoom gives up after its last retry

    async def _attempt(self, record: dict[str, Any]) -> bool:
        """One POST; answers True when the attempt failed."""
        status, error = await self._post(record["url"], record["secret"], dumps(record["body"]))
        retry = error is not None or status >= 500
        record["attempts"].append({"status": status, "error": error, "retry": retry})
        if error is None and status < 300:
            record["state"] = "delivered"
        else:
            record["state"] = "retrying" if retry else "failed"
        return retry or status >= 300

    async def _post(self, url: str, secret: str, body: bytes) -> tuple[int, str | None]:
        try:
            response = await self._http().post(
                url, content=body, headers=self.headers(secret, body), timeout=self.timeout
            )
        except httpx.TimeoutException:
            return 0, "timeout"
        except httpx.HTTPError as exc:
            return 0, type(exc).__name__
        return response.status_code, None

    def headers(self, secret: str, body: bytes) -> dict[str, str]:
        timestamp = str(int(self._now()))
        return {
            "content-type": "application/json; charset=utf-8",
            "user-agent": "Zoom Marketplace/1.0a",
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": signature(secret, timestamp, body),
            "x-zm-request-id": secrets.token_hex(16),
        }

    async def validate(self, account: dict[str, Any]) -> dict[str, Any]:
        """The ``endpoint.url_validation`` challenge, answered synchronously with the verdict."""
        hook = account.get("webhook") or {}
        url, secret = hook.get("url", ""), hook.get("secret_token", "")
        plain = secrets.token_urlsafe(16)
        body = dumps(
            {
                "payload": {"plainToken": plain},
                "event_ts": int(self._now() * 1000),
                "event": "endpoint.url_validation",
            }
        )
        expected = encrypted_token(secret, plain)
        result: dict[str, Any] = {"url": url, "plainToken": plain, "expected": expected}
        if not url:
            return {**result, "valid": False, "error": "no webhook url"}
        try:
            response = await self._http().post(
                url, content=body, headers=self.headers(secret, body), timeout=self.timeout
            )
        except httpx.HTTPError as exc:
            return {**result, "valid": False, "error": type(exc).__name__}
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        valid = (
            response.status_code in (200, 204)
            and isinstance(answer, dict)
            and answer.get("plainToken") == plain
            and answer.get("encryptedToken") == expected
        )
        return {**result, "valid": valid, "status": response.status_code, "answer": answer}

    def public_log(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k != "secret"} for r in self.deliveries]
