"""``next_page_token`` pagination as Zoom does it (zoom-api.md §2).

Tokens are opaque random strings mapped to ``(list key, offset, issue time)``. A token is valid
only for the list it came from and for 15 minutes of sandbox time; anything else answers
``400 {"code":300,"message":"The next page token is invalid or expired."}``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import invalid_page_token

TOKEN_LIFETIME = 15 * 60  # "This token's expiration period is 15 minutes." (spec)
DEFAULT_PAGE_SIZE = 30
MAX_PAGE_SIZE = 300


@dataclass(frozen=True, slots=True)
class Page:
    offset: int
    size: int
    total: int
    next_token: str

    @property
    def end(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def page_count(self) -> int:
        return -(-self.total // self.size) if self.total else 0

    @property
    def page_number(self) -> int:
        return self.offset // self.size + 1

    def envelope(self, *, with_page_number: bool = True) -> dict[str, object]:
        head: dict[str, object] = {"page_size": self.size}
        if with_page_number:
            head["page_number"] = self.page_number
        head["page_count"] = self.page_count
        head["total_records"] = self.total
        head["next_page_token"] = self.next_token
        return head


class PageTokens:
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._tokens: dict[str, tuple[tuple[object, ...], int, float]] = {}

    def clear(self) -> None:
        self._tokens.clear()

    def expire(self, token: str) -> None:
        self._tokens.pop(token, None)

    def page(
        self,
        query: Mapping[str, str],
        key: tuple[object, ...],
        total: int,
        *,
        max_size: int = MAX_PAGE_SIZE,
    ) -> Page:
        """The page a request asks for; raises code 300 on a stale or foreign token."""
        size = _page_size(query.get("page_size"), max_size)
        offset = 0
        token = query.get("next_page_token", "")
        now = self._now()
        if token:
            entry = self._tokens.get(token)
            if entry is None or entry[0] != key or now - entry[2] > TOKEN_LIFETIME:
                raise invalid_page_token()
            offset = entry[1]
        next_token = ""
        if offset + size < total:
            next_token = secrets.token_urlsafe(24)
            self._tokens[next_token] = (key, offset + size, now)
            if len(self._tokens) > 50_000:
                self._prune(now)
        return Page(offset=offset, size=size, total=total, next_token=next_token)

    def _prune(self, now: float) -> None:
        stale = [t for t, (_, _, at) in self._tokens.items() if now - at > TOKEN_LIFETIME]
        for token in stale:
            del self._tokens[token]


def _page_size(raw: str | None, max_size: int) -> int:
    # Zoom falls back to the default for junk and caps at the maximum rather than failing.
    try:
        size = int(raw) if raw else DEFAULT_PAGE_SIZE
    except ValueError:
        return DEFAULT_PAGE_SIZE
    if size < 1:
        return DEFAULT_PAGE_SIZE
    return min(size, max_size)
