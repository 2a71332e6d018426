"""A listing applied page by page by several apply threads of one process at once.

An apply thread takes a whole webinar: its registrants, then its report participants. Near the
end of a run, webinars run out before threads do, and the last webinars (the largest, often)
would be applied by one thread each while the others sit idle. So a thread that finds no
webinar left joins a listing another thread of its process is applying (`PageStream.run`):
both take its next pages, one at a time, and apply them side by side, each in its own
transaction, as pages of different webinars already are (the writes are concurrency-safe:
row locks in key order, upserts, pages that lose a deadlock applied again).

What a page depends on is settled when it is taken, under the stream's lock, in listing
order (`prepare`: the report instance it belongs to, the registrants' e-mails that later pages
match guests by, the listing's total). Applying it (`apply`) needs nothing from the pages
before it. The thread that owns the webinar goes on to what follows the listing (the next
listing, the webinar's counters, "registrants synced") only once every page it or a joiner
took is applied (`wait_applied`); if a joiner failed to apply one, the owner stops too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

# `prepare` returns this to end the listing early (no report yet).
END = object()


class StreamFailed(Exception):
    """A page of the listing was not applied (the thread that took it raised the error)."""


class PageStream:
    def __init__(
        self,
        items: Iterable,
        *,
        prepare: Callable[[Any], Any],
        apply: Callable[[Any], None],
    ):
        """`items`: the listing (pages and markers); `prepare(item)`, under the lock, in order:
        the work to apply, None for nothing (a marker), or END; `apply(work)`: outside it."""
        self._items = iter(items)
        self._prepare = prepare
        self._apply = apply
        self._lock = threading.Lock()  # takes items one at a time, in order
        self._applied = threading.Condition()  # guards the counters below
        self._in_flight = 0
        self._ended = False
        self._error: BaseException | None = None  # reading the listing failed
        self._failed = False  # applying a page failed
        self.threads: set[str] = set()  # that applied its pages (for tests and logs)

    @property
    def ended(self) -> bool:
        return self._ended

    def _take(self):
        with self._lock:
            while True:
                if self._error is not None:
                    raise self._error
                if self._ended:
                    return END
                try:
                    item = next(self._items)
                except StopIteration:
                    self._ended = True
                    return END
                except BaseException as exc:
                    self._error, self._ended = exc, True
                    raise
                work = self._prepare(item)
                if work is END:
                    self._ended = True
                    return END
                if work is not None:
                    with self._applied:
                        self._in_flight += 1
                    return work

    def run(self) -> None:
        """Takes and applies pages until the listing ends (or fails, or a page fails)."""
        self.threads.add(threading.current_thread().name)
        while (work := self._take()) is not END:
            try:
                self._apply(work)
            except BaseException:
                self._failed = self._ended = True
                raise
            finally:
                with self._applied:
                    self._in_flight -= 1
                    self._applied.notify_all()

    def wait_applied(self) -> None:
        """Returns once every page taken is applied; raises `StreamFailed` if one was not."""
        with self._applied:
            while self._in_flight:
                self._applied.wait()
        if self._failed:
            raise StreamFailed


__all__ = ["END", "PageStream", "StreamFailed"]
