"""`ZoomClient`: the calls the CRM makes to Zoom's REST API v2.

One `requests.Session` per client (per connection), a default timeout on every call, the
access token from a token source (renewed once on 401 code 124), every failure mapped to a
typed error, lists as generators over `next_page_token`. It never retries: tasks decide.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any, Protocol
from urllib.parse import quote

import orjson
import requests

from crm.counters import counter_key, counters_add

from .errors import (
    ZoomAuthError,
    ZoomError,
    ZoomNotFound,
    ZoomPageTokenExpired,
    ZoomRateLimited,
    ZoomTransientError,
    ZoomValidationError,
)
from .oauth import DEFAULT_TIMEOUT

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 300
MAX_USERS_PAGE_SIZE = 2000
# Zoom sends no Retry-After on per-second 429s; back off this long (zoom-api.md §5).
DEFAULT_RETRY_AFTER = 1.0

# Calls and 429s are counted by rate-limit label (zoom-api.md §5) in the shared counters that
# `/metrics` reads: the label the caller's limiter reserved the call under (`rate_label`), else
# the one Zoom's answer names (`X-RateLimit-Category`), else "unlabelled".
RATE_LABELS = frozenset({"light", "medium", "heavy"})
CALLS_COUNTER = "zoom_api_calls"
RATE_LIMITED_COUNTER = "zoom_api_rate_limited"
_rate_label: ContextVar[str] = ContextVar("zoom_rate_label", default="")


@contextmanager
def rate_label(label: str) -> Iterator[None]:
    """The calls made inside are counted under this rate-limit label."""
    token = _rate_label.set(label)
    try:
        yield
    finally:
        _rate_label.reset(token)


def _count_call(response: requests.Response) -> None:
    label = _rate_label.get()
    if label not in RATE_LABELS:
        label = response.headers.get("X-RateLimit-Category", "").lower()
        if label not in RATE_LABELS:
            label = "unlabelled"
    increments = {counter_key(CALLS_COUNTER, label): 1}
    if response.status_code == 429:
        increments[counter_key(RATE_LIMITED_COUNTER, label)] = 1
    counters_add(increments)


class TokenSource(Protocol):
    def access_token(self) -> str: ...
    def invalidate(self) -> None: ...


def encode_uuid(value: str | int) -> str:
    """A webinar id goes as is; an instance UUID is URL-encoded, twice when it starts with '/'
    or contains '//' as Zoom requires (zoom-api.md §1)."""
    text = str(value)
    if text.isdigit():
        return text
    once = quote(text, safe="")
    if text.startswith("/") or "//" in text:
        return quote(once, safe="")
    return once


def parse_retry_after(value: str | None, *, now: float | None = None) -> float:
    """Seconds to wait: Zoom sends seconds, or an HTTP/ISO date for daily limits."""
    if not value:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    moment = None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return DEFAULT_RETRY_AFTER
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, moment.timestamp() - (now if now is not None else time.time()))


def api_session(base_url: str) -> requests.Session:
    """A session for one API's host that reads the environment's proxy and CA bundle settings
    (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE…) once, at creation. By default requests reads
    them again on every request, walking the whole environment each time: for a sync's
    thousands of calls, a real share of its CPU."""
    session = requests.Session()
    environment = session.merge_environment_settings(base_url, {}, None, None, None)
    session.trust_env = False
    session.proxies.update(environment["proxies"])
    session.verify = environment["verify"]
    return session


SPOOL_IN_MEMORY = 1024 * 1024  # a spooled body beyond this goes to a temporary file


class ZoomClient:
    def __init__(
        self,
        *,
        base_url: str,
        token_source: TokenSource,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        account_label: str = "",
    ):
        self.base_url = base_url.rstrip("/")
        self.tokens = token_source
        self.timeout = timeout
        self.session = session or api_session(self.base_url)
        self.account_label = account_label  # for logs only

    def for_thread(
        self, token_source: TokenSource, session: requests.Session | None = None
    ) -> ZoomClient:
        """A client of the same API for another thread, with the given token source and that
        thread's session (a `requests.Session` is not to be shared between threads)."""
        return ZoomClient(
            base_url=self.base_url,
            token_source=token_source,
            timeout=self.timeout,
            session=session or api_session(self.base_url),
            account_label=self.account_label,
        )

    # -- transport ---------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, params: dict | None = None, json: Any = None
    ) -> Any:
        """One call. A 401 code 124 renews the token and repeats the call once (that is
        authentication, not a retry); everything else that fails raises a typed error."""
        response = self._send(method, path, params=params, json=json)
        if response.status_code == 401 and _zoom_code(response) in (124, None):
            self.tokens.invalidate()
            response = self._send(method, path, params=params, json=json)
        return self._handle(response, method, path)

    def _send(
        self, method: str, path: str, *, params, json, stream: bool = False
    ) -> requests.Response:
        url = self.base_url + path
        headers = {
            "Authorization": f"Bearer {self.tokens.access_token()}",
            "Accept": "application/json",
        }
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                json=json,
                headers=headers,
                timeout=self.timeout,
                stream=stream,
            )
        except requests.Timeout as exc:
            logger.warning(
                "zoom.api.timeout",
                extra={"method": method, "path": path, "account": self.account_label},
            )
            raise ZoomTransientError(f"Zoom did not answer in time: {exc}")
        except requests.ConnectionError as exc:
            logger.warning(
                "zoom.api.connection_error",
                extra={"method": method, "path": path, "account": self.account_label},
            )
            raise ZoomTransientError(f"Could not reach Zoom: {exc}")
        _count_call(response)
        logger.info(
            "zoom.api.request",
            extra={
                "method": method,
                "path": path,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "account": self.account_label,
                "rate_limit_category": response.headers.get("X-RateLimit-Category", ""),
                "rate_limit_type": response.headers.get("X-RateLimit-Type", ""),
                "rate_limit_remaining": response.headers.get("X-RateLimit-Remaining", ""),
            },
        )
        return response

    def _handle(self, response: requests.Response, method: str, path: str) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content:
                return None
            try:
                # orjson: a listing page of 300 records parses in a fraction of the time.
                return orjson.loads(response.content)
            except ValueError:
                raise ZoomTransientError(
                    f"Zoom answered {method} {path} with a body that is not JSON", status=status
                )
        body = _json_or_none(response)
        code = body.get("code") if isinstance(body, dict) else None
        message = (body.get("message") if isinstance(body, dict) else None) or response.reason
        kwargs = {"status": status, "code": code, "body": body}
        if status == 429:
            raise ZoomRateLimited(
                message or "Rate limited",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                category=response.headers.get("X-RateLimit-Category", ""),
                limit_type=response.headers.get("X-RateLimit-Type", ""),
                **kwargs,
            )
        if status >= 500:
            raise ZoomTransientError(message or "Zoom server error", **kwargs)
        if status == 401 or code in (124, 4711):
            raise ZoomAuthError(
                message or "Unauthorized", needs_reauthorization=code == 4711, **kwargs
            )
        if status == 404:
            raise ZoomNotFound(message or "Not found", **kwargs)
        if status == 400 and code == 300 and "page token" in (message or "").lower():
            raise ZoomPageTokenExpired(message, **kwargs)
        if status in (400, 403, 409, 422):
            errors = body.get("errors", []) if isinstance(body, dict) else []
            raise ZoomValidationError(message or "Bad request", errors=errors, **kwargs)
        raise ZoomError(message or f"Unexpected HTTP {status}", **kwargs)

    def get(self, path: str, **params) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def get_spooled(self, path: str, **params) -> IO[bytes]:
        """A GET whose body is written to a temporary file (kept in memory up to
        `SPOOL_IN_MEMORY` bytes), rewound, instead of held and parsed whole: Zoom's poll, Q&A
        and survey reports come unpaged, tens of megabytes for a large webinar. Refusals and
        errors raise as `request`'s do; a transfer cut off raises `ZoomTransientError`."""
        params = {k: v for k, v in params.items() if v is not None}
        response = self._send("GET", path, params=params, json=None, stream=True)
        if response.status_code == 401 and _zoom_code(response) in (124, None):
            response.close()
            self.tokens.invalidate()
            response = self._send("GET", path, params=params, json=None, stream=True)
        if not 200 <= response.status_code < 300:
            self._handle(response, "GET", path)  # raises the typed error
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        try:
            for chunk in response.iter_content(chunk_size=64 * 1024):
                spool.write(chunk)
        except requests.RequestException as exc:
            spool.close()
            raise ZoomTransientError(f"Zoom's answer to GET {path} was cut off: {exc}")
        finally:
            response.close()
        spool.seek(0)
        return spool

    def paginate(
        self, path: str, items_key: str, *, page_size: int = MAX_PAGE_SIZE, **params
    ) -> Iterator[dict]:
        """Pages of a `next_page_token` listing, as whole response bodies. Stops when the token
        is empty or missing (Zoom does both on the last page)."""
        token = None
        while True:
            query = {**params, "page_size": page_size}
            if token:
                query["next_page_token"] = token
            body = self.get(path, **query) or {}
            body.setdefault(items_key, [])
            yield body
            token = body.get("next_page_token")
            if not token:
                return

    def iterate(self, path: str, items_key: str, **kwargs) -> Iterator[dict]:
        for page in self.paginate(path, items_key, **kwargs):
            yield from page[items_key]

    # -- Zoom's endpoints (zoom-api.md §3) -------------------------------------------------

    def get_user(self, user_id: str = "me") -> dict:
        return self.get(f"/users/{quote(user_id, safe='@')}")

    def list_users(self, *, status: str = "active") -> Iterator[dict]:
        return self.iterate("/users", "users", page_size=MAX_USERS_PAGE_SIZE, status=status)

    def list_webinars(self, user_id: str) -> Iterator[dict]:
        """Only unexpired webinars: Zoom hides ended ones here (find them in the reports)."""
        return self.iterate(f"/users/{quote(user_id, safe='@')}/webinars", "webinars")

    def get_webinar(self, webinar_id: int | str, *, occurrence_id: str | None = None) -> dict:
        return self.get(f"/webinars/{encode_uuid(webinar_id)}", occurrence_id=occurrence_id)

    def registrant_pages(
        self, webinar_id: int | str, *, status: str = "approved", occurrence_id: str | None = None
    ) -> Iterator[dict]:
        return self.paginate(
            f"/webinars/{encode_uuid(webinar_id)}/registrants",
            "registrants",
            status=status,
            occurrence_id=occurrence_id,
        )

    def add_registrant(self, webinar_id: int | str, registrant: dict) -> dict:
        return self.request(
            "POST", f"/webinars/{encode_uuid(webinar_id)}/registrants", json=registrant
        )

    def cancel_registrants(self, webinar_id: int | str, registrants: list[dict]) -> None:
        """`PUT /webinars/{id}/registrants/status` with `action: cancel` (at most 30)."""
        self.request(
            "PUT",
            f"/webinars/{encode_uuid(webinar_id)}/registrants/status",
            json={"action": "cancel", "registrants": registrants},
        )

    def get_registrant(self, webinar_id: int | str, registrant_id: str) -> dict:
        return self.get(
            f"/webinars/{encode_uuid(webinar_id)}/registrants/{quote(registrant_id, safe='')}"
        )

    def registration_questions(self, webinar_id: int | str) -> dict:
        return self.get(f"/webinars/{encode_uuid(webinar_id)}/registrants/questions")

    def tracking_sources(self, webinar_id: int | str) -> list[dict]:
        body = self.get(f"/webinars/{encode_uuid(webinar_id)}/tracking_sources") or {}
        return body.get("tracking_sources", [])

    def past_instances(self, webinar_id: int | str) -> list[dict]:
        body = self.get(f"/past_webinars/{encode_uuid(webinar_id)}/instances") or {}
        return body.get("webinars", [])

    def report_participant_pages(self, webinar_id_or_uuid: int | str) -> Iterator[dict]:
        """One row per join (HEAVY); `registrant_id` included to join guests (rule B1)."""
        return self.paginate(
            f"/report/webinars/{encode_uuid(webinar_id_or_uuid)}/participants",
            "participants",
            include_fields="registrant_id",
        )

    def past_participant_pages(self, webinar_id_or_uuid: int | str) -> Iterator[dict]:
        return self.paginate(
            f"/past_webinars/{encode_uuid(webinar_id_or_uuid)}/participants", "participants"
        )

    def report_webinar(self, webinar_id_or_uuid: int | str) -> dict:
        return self.get(f"/report/webinars/{encode_uuid(webinar_id_or_uuid)}")

    def report_user_meetings(
        self, user_id: str, *, date_from: dt.date, date_to: dt.date
    ) -> Iterator[dict]:
        """Ended meetings and webinars of a host (one-month windows, six months back)."""
        return self.iterate(
            f"/report/users/{quote(user_id, safe='@')}/meetings",
            "meetings",
            type="past",
            **{"from": date_from.isoformat(), "to": date_to.isoformat()},
        )

    def report_history_meetings(self, *, date_from: dt.date, date_to: dt.date) -> Iterator[dict]:
        return self.iterate(
            "/report/history_meetings",
            "history_meetings",
            meeting_type="webinar",
            **{"from": date_from.isoformat(), "to": date_to.isoformat()},
        )

    def user_recordings(
        self, user_id: str, *, date_from: dt.date, date_to: dt.date
    ) -> Iterator[dict]:
        return self.iterate(
            f"/users/{quote(user_id, safe='@')}/recordings",
            "meetings",
            **{"from": date_from.isoformat(), "to": date_to.isoformat()},
        )

    def zoom_events_webinar_ids(self) -> set[int]:
        """Ids of the webinars that are sessions of Zoom Events events (rule Z1): no field of
        the webinar itself says so (zoom-api.md §3.14)."""
        ids: set[int] = set()
        for event in self.iterate("/zoom_events/events", "events"):
            body = (
                self.get(f"/zoom_events/events/{quote(str(event['event_id']), safe='')}/sessions")
                or {}
            )
            for session in body.get("sessions", []):
                if session.get("type") == 2 and session.get("webinar_id"):
                    ids.add(int(session["webinar_id"]))
        return ids

    def meeting_recordings(self, meeting_id_or_uuid: int | str) -> dict:
        return self.get(f"/meetings/{encode_uuid(meeting_id_or_uuid)}/recordings")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _zoom_code(response: requests.Response) -> int | None:
    body = _json_or_none(response)
    return body.get("code") if isinstance(body, dict) else None
