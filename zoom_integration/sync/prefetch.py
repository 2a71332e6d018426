"""Zoom pages fetched ahead in background threads while the pipeline plans and applies the
pages it already has, so the wait for Zoom (and for the rate limiter) overlaps the database work
instead of adding to it.

A fetch thread does HTTP only, never the database: its own database connection would not see
the run's uncommitted rows (nor a test's transaction), and renewing a token writes the
connection row under a lock. So a thread borrows the access token the consuming thread holds;
when Zoom refuses it (401 code 124) the thread asks the consuming thread for a new one through
its queue and waits until that thread, reading the queue in order, renews it.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import requests

from ..client import ZoomClient
from ..client.api import api_session

logger = logging.getLogger(__name__)

# What a fetch thread puts in its queue: (kind, value).
_ITEM, _TOKEN, _ERROR, _END = "item", "token", "error", "end"
# How long a blocked fetch thread waits before looking again whether its stream was closed.
_POLL = 0.05

Produce = Callable[[ZoomClient], Iterator[Any]]


class _Closed(Exception):
    """Stops a fetch thread whose stream was closed, at its next request or queue write."""


class _BorrowedToken:
    """The token source of a fetch thread's client: the consuming thread's token, renewed by
    that thread on request (zoom_integration.services.client renews under a row lock)."""

    def __init__(self, stream: PrefetchedPages, token: str):
        self._stream = stream
        self._token: str | None = token
        self._refused: str | None = None

    def access_token(self) -> str:
        if self._stream.closed:
            raise _Closed
        if self._token is None:
            self._token = self._stream._ask_token(self._refused)
        return self._token

    def invalidate(self) -> None:
        self._refused, self._token = self._token, None


class FetchThreads:
    """A run's fetch threads, reused from listing to listing, each keeping its HTTP session
    (keep-alive connections to Zoom) and its cache connection (the rate limiter) meanwhile.
    Listings are consumed in the order they were started, so fewer threads than listings under
    way only delays the later ones."""

    def __init__(self, workers: int, *, base_url: str = ""):
        self._base_url = base_url
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zoom-fetch")
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable, *args) -> Future:
        return self._executor.submit(fn, *args)

    def session(self) -> requests.Session:
        """The calling fetch thread's own session (one is not shared between threads)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = api_session(self._base_url)
            with self._lock:
                self._sessions.append(session)
        return session

    def shutdown(self) -> None:
        """After the listings were closed (which waits for them): a fetch still stuck, say in
        a long Retry-After, ends at its next request without holding the run up."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        for session in self._sessions:
            session.close()


class PrefetchedPages:
    """Iterates `produce(client)` — a generator of Zoom pages that does HTTP only — in a fetch
    thread (one of `threads`, else its own), at most `depth` items ahead of the consumer. Items
    come out in order; an error raised by the generator is raised to the consumer where it
    happened. `close()` stops the fetch (at its next request) when the consumer gives up early.
    `idle` is called in the consuming thread while it waits for the next item.
    """

    def __init__(
        self,
        produce: Produce,
        *,
        client: ZoomClient,
        depth: int = 6,
        name: str = "",
        threads: FetchThreads | None = None,
        idle: Callable[[], None] | None = None,
    ):
        self._main = client
        self._idle = idle or (lambda: None)
        self._name = name
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._token_ready = threading.Event()
        self._token = ""
        self._done = threading.Event()
        self._own_session = threads is None
        # Loaded (or renewed) here, in the consuming thread: that may touch the database.
        tokens = _BorrowedToken(self, client.tokens.access_token())
        if threads is not None:
            threads.submit(self._run, produce, lambda: client.for_thread(tokens, threads.session()))
        else:
            threading.Thread(
                target=self._run,
                args=(produce, lambda: client.for_thread(tokens)),
                name=f"zoom-fetch {name}".strip(),
                daemon=True,
            ).start()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    # -- the consuming thread ----------------------------------------------------------------

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                kind, value = self._queue.get(timeout=_POLL)
            except queue.Empty:
                if self._closed.is_set():  # by another thread: its fetch puts nothing more
                    return
                self._idle()  # waiting for Zoom: the worker's heartbeat
                continue
            if kind == _ITEM:
                yield value
            elif kind == _TOKEN:
                self._token = self._renewed(refused=value)
                self._token_ready.set()
            elif kind == _ERROR:
                self.close()
                raise value
            else:
                self.close()
                return

    def _renewed(self, *, refused: str | None) -> str:
        tokens = self._main.tokens
        token = tokens.access_token()
        if token == refused:
            tokens.invalidate()
            token = tokens.access_token()
        return token

    def close(self, timeout: float = 30.0) -> None:
        """Stops the fetch and waits for it to end (it may be waiting on Zoom or the limiter)."""
        self._closed.set()
        self._token_ready.set()
        if not self._done.wait(timeout):
            logger.warning("zoom.sync.prefetch_still_running", extra={"listing": self._name})

    # -- the fetch thread --------------------------------------------------------------------

    def _run(self, produce: Produce, make_client: Callable[[], ZoomClient]) -> None:
        client = make_client()
        try:
            for item in produce(client):
                self._put((_ITEM, item))
            self._put((_END, None))
        except _Closed:
            pass
        except BaseException as exc:  # handed to the consumer, which decides
            try:
                self._put((_ERROR, exc))
            except _Closed:
                pass
        finally:
            if self._own_session:
                client.session.close()
            self._done.set()

    def _put(self, entry: tuple) -> None:
        while not self._closed.is_set():
            try:
                self._queue.put(entry, timeout=_POLL)
                return
            except queue.Full:
                continue
        raise _Closed

    def _ask_token(self, refused: str | None) -> str:
        self._token_ready.clear()
        self._put((_TOKEN, refused))
        while not self._token_ready.wait(_POLL):
            if self._closed.is_set():
                break
        if self._closed.is_set():
            raise _Closed
        return self._token


class InlinePages:
    """The same interface without a thread: `produce` runs as the consumer iterates."""

    def __init__(self, produce: Produce, *, client: ZoomClient, **_kwargs):
        self._iterator = produce(client)

    def __iter__(self) -> Iterator[Any]:
        return self._iterator

    def close(self) -> None:
        self._iterator.close()


__all__ = ["FetchThreads", "InlinePages", "PrefetchedPages"]
