from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from ..models import Contact, TimelineEvent, User


def timeline_event_add(
    *,
    contact: Contact,
    kind: str,
    occurred_at: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    actor: User | None = None,
) -> TimelineEvent:
    """Adds one timeline entry. With a `dedupe_key` it is idempotent: writing the same
    activity again updates the existing row instead of adding a second one."""
    values = {
        "contact": contact,
        "kind": kind,
        "occurred_at": occurred_at or timezone.now(),
        "data": data or {},
        "actor": actor,
    }
    if dedupe_key is None:
        return TimelineEvent.objects.create(**values)
    event, _created = TimelineEvent.objects.update_or_create(dedupe_key=dedupe_key, defaults=values)
    return event
