"""The audit trail: who changed what, when and how (issue 22).

Who acted is an explicit `actor` keyword that services take and views, API views and commands
pass (`actor=request.user`), as the services already did for contacts and connections: it is a
fact of the change. *How* the change came (the web UI, an API token and which one, a management
command, the system) and the request id are facts of the transport, which services have no
business knowing: the entry points set them once in a context variable (`AuditChannelMiddleware`,
the bearer-token authentication, `audit_channel(...)` in commands), and `audit_record` reads it.
Without one (a Celery task, a webhook) the change counts as the system's.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from django.db import transaction

from ..models import AuditEntry, AuditVia, User

# Fields whose values never reach the audit trail: a marker says that they changed.
SECRET_FIELDS = frozenset(
    {
        "client_secret",
        "access_token",
        "refresh_token",
        "webhook_secret_token",
        "password",
        "token",
        "token_hash",
        "oauth_state",
    }
)
SECRET_WAS_SET = "(set)"
SECRET_CHANGED = "(changed)"


@dataclasses.dataclass(frozen=True)
class AuditChannel:
    via: str = AuditVia.SYSTEM
    token_id: int | None = None
    token_name: str = ""
    request_id: str = ""


_channel: ContextVar[AuditChannel | None] = ContextVar("audit_channel", default=None)


def audit_channel_current() -> AuditChannel:
    return _channel.get() or AuditChannel()


@contextlib.contextmanager
def audit_channel(**fields: Any) -> Iterator[AuditChannel]:
    """Within the block, audited changes came through this channel (e.g. `via="command"`)."""
    token = _channel.set(AuditChannel(**fields))
    try:
        yield _channel.get()
    finally:
        _channel.reset(token)


def audit_channel_use_token(*, token_id: int, token_name: str) -> None:
    """The request at hand authenticated with this API token (called by the bearer-token
    authentication; the middleware's reset at the end of the request undoes it)."""
    current = audit_channel_current()
    _channel.set(
        dataclasses.replace(current, via=AuditVia.API, token_id=token_id, token_name=token_name)
    )


_MISSING = object()


def _masked(name: str, value: Any, marker: str) -> Any:
    if name not in SECRET_FIELDS:
        return value
    return marker if value not in (None, "") else ""


def _empty(value: Any) -> bool:
    return value is _MISSING or value is None or value == "" or value == []


def audit_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict, dict]:
    """Only the fields whose values differ, secrets replaced by a marker (pure).
    A field only in `after` was added (creation); one only in `before` was removed. Absent and
    empty are the same: a creation does not list the fields it left empty."""
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name in [*before, *(n for n in after if n not in before)]:
        was, now = before.get(name, _MISSING), after.get(name, _MISSING)
        if was == now or (_empty(was) and _empty(now)):
            continue
        if was is not _MISSING:
            old[name] = _masked(name, was, SECRET_WAS_SET)
        if now is not _MISSING:
            new[name] = _masked(name, now, SECRET_CHANGED)
    return old, new


def audit_record(
    *,
    kind: str,
    target_type: str,
    target_id: Any,
    target_label: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor: User | None = None,
) -> AuditEntry | None:
    """Records one change: one row per action, written only when something actually changed
    (a settings save that changes nothing writes nothing, and returns None).

    `before` and `after` are snapshots of the fields the action may change (a creation has no
    `before`, a deletion no `after`); only the differing fields are kept, secrets as markers.
    Call it inside the transaction of the change it records: a rolled-back change leaves no
    row, a retried one leaves one."""
    old, new = audit_changes(before or {}, after or {})
    if not old and not new:
        return None
    channel = audit_channel_current()
    with transaction.atomic():
        return AuditEntry.objects.create(
            actor=actor,
            actor_email=actor.email if actor is not None else "",
            via=channel.via,
            token_id=channel.token_id,
            token_name=channel.token_name,
            kind=kind,
            target_type=target_type,
            target_id=str(target_id if target_id is not None else ""),
            target_label=(target_label or "")[:300],
            before=old,
            after=new,
            request_id=channel.request_id,
        )


__all__ = [
    "SECRET_FIELDS",
    "AuditChannel",
    "audit_changes",
    "audit_channel",
    "audit_channel_current",
    "audit_channel_use_token",
    "audit_record",
]
