"""A tiny router for the ``/v2`` surface that works on the *raw* request path.

Zoom's instance UUIDs may contain ``/`` (``Bznyg8KZTdCVbQxvS/oZ7w==``); clients encode them once
or twice (``%2F`` / ``%252F``, zoom-api.md §1). The ASGI ``path`` is already decoded once, which
would split such a UUID into two segments, so we split the raw path first and then decode each
segment until no escapes remain: single- and double-encoded UUIDs both arrive intact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from .oauth import AccessToken
    from .sandbox import Sandbox
    from .store import Account

# A handler answers (status, body): body is a JSON-able object, ready bytes, or None (no body).
Answer = tuple[int, Any]


@dataclass(slots=True)
class Call:
    sandbox: Sandbox
    account: Account
    token: AccessToken
    args: list[str]
    query: dict[str, str]
    body: Any
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def now(self) -> float:
        return self.sandbox.now()


Handler = Callable[[Call], Answer]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    parts: tuple[str | None, ...]  # None marks a parameter segment
    handler: Handler
    category: str  # Zoom's rate-limit label


_ROUTES: dict[int, list[Route]] = {}


def route(method: str, template: str, category: str) -> Callable[[Handler], Handler]:
    """Register a handler for ``template`` (relative to ``/v2``, ``{name}`` for parameters)."""
    parts = tuple(None if p.startswith("{") else p for p in template.strip("/").split("/"))

    def register(handler: Handler) -> Handler:
        _ROUTES.setdefault(len(parts), []).append(Route(method, parts, handler, category))
        return handler

    return register


def split_raw_path(raw_path: bytes) -> list[str]:
    segments = []
    for raw in raw_path.decode("latin-1").strip("/").split("/"):
        segment = raw
        for _ in range(3):
            if "%" not in segment:
                break
            segment = unquote(segment)
        segments.append(segment)
    return segments


def match(method: str, segments: list[str]) -> tuple[Route | None, list[str], bool]:
    """(route, path parameters, whether the path exists under another method)."""
    path_known = False
    for candidate in _ROUTES.get(len(segments), ()):
        args = []
        for part, segment in zip(candidate.parts, segments, strict=True):
            if part is None:
                args.append(segment)
            elif part != segment:
                break
        else:
            if candidate.method == method:
                return candidate, args, True
            path_known = True
    return None, [], path_known
