"""Reading the audit trail: the filters the Settings > Audit log page and
`GET /api/v1/audit-log/` share (person, kind, date range), checked the same way for both, the
filtered entries, and their CSV rows. Writes are `crm.services.audit.audit_record`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .errors import ValidationFailed
from .models import AuditEntry, AuditKind

# The fields an entry's before/after name, as the page shows them (the API and the CSV keep the
# names). Apps add theirs from `AppConfig.ready()`; a name without a label is shown as it is.
_FIELD_LABELS: dict[str, Promise] = {
    "name": gettext_lazy("Name"),
    "email": gettext_lazy("E-mail"),
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "role": gettext_lazy("Role"),
    "is_active": gettext_lazy("Active"),
    "password": gettext_lazy("Password"),
    "language": gettext_lazy("Language"),
    "tier": gettext_lazy("Subscription tier"),
    "is_primary": gettext_lazy("Primary brand"),
    "scopes": gettext_lazy("Scopes"),
    "revoked": gettext_lazy("Revoked"),
    "archived": gettext_lazy("Deleted"),
    "status": gettext_lazy("Status"),
}


def register_audit_field_labels(labels: Mapping[str, Promise]) -> None:
    _FIELD_LABELS.update(labels)


def audit_field_label(name: str) -> str:
    label = _FIELD_LABELS.get(name)
    return str(label) if label is not None else name


CSV_HEADER = [
    "occurred_at",
    "actor_id",
    "actor_email",
    "via",
    "token_id",
    "token_name",
    "kind",
    "target_type",
    "target_id",
    "target_label",
    "before",
    "after",
    "request_id",
]


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    kind: str | None = None
    since: dt.datetime | None = None  # inclusive
    until: dt.datetime | None = None  # exclusive

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.actor_id, self.kind, self.since, self.until))


def _moment(raw: str, *, end_of_day: bool) -> dt.datetime | None:
    """An ISO-8601 date or date-time. A date is a whole day in the display time zone: as
    `until` it includes that day. A date-time without an offset is in the display time zone."""
    try:
        # A bare date first: Python's ISO parser would read it as midnight, a date-time.
        day = parse_date(raw) if len(raw) == 10 else None
        moment = None if day is not None else parse_datetime(raw)
    except ValueError:  # well-formed but impossible, e.g. 2026-02-30
        return None
    if day is not None:
        moment = dt.datetime.combine(day, dt.time.min)
        if end_of_day:
            moment += dt.timedelta(days=1)
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def audit_filters_parse(params: Mapping[str, str], *, strict: bool = False) -> AuditFilters:
    """The filters from query parameters `actor` (a user id), `kind` (an `AuditKind` value),
    `since` and `until` (ISO-8601 dates or date-times); empty ones are ignored. Anything else
    raises `ValidationFailed` naming each bad parameter (a 400 in the API, an inline error on
    the page). `strict` (the API): a parameter given is taken as sent, so an empty or padded
    one is an error too, as the OpenAPI schema says."""
    errors: list[dict] = []
    if strict:
        for name in ("actor", "kind", "since", "until"):
            value = params.get(name)
            if value is not None and (not value or value != value.strip()):
                errors.append(
                    {"name": name, "message": _("%(name)s is empty or padded.") % {"name": name}}
                )
        if errors:
            raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    actor_id = kind = since = until = None
    raw_actor = (params.get("actor") or "").strip()
    if raw_actor:
        if raw_actor.isascii() and raw_actor.isdigit() and int(raw_actor) < 2**31:
            actor_id = int(raw_actor)
        else:
            errors.append({"name": "actor", "message": _("actor must be a user id (a number).")})
    raw_kind = (params.get("kind") or "").strip()
    if raw_kind:
        if raw_kind in AuditKind.values:
            kind = raw_kind
        else:
            errors.append(
                {
                    "name": "kind",
                    "message": _("Unknown kind %(value)s: use one of %(choices)s")
                    % {"value": repr(raw_kind), "choices": ", ".join(AuditKind.values)},
                }
            )
    for name in ("since", "until"):
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        moment = _moment(raw, end_of_day=name == "until")
        if moment is None:
            errors.append(
                {
                    "name": name,
                    "message": _(
                        "%(name)s must be a date (2026-05-12) or a date and time "
                        "(2026-05-12T14:30:00Z)."
                    )
                    % {"name": name},
                }
            )
        elif name == "since":
            since = moment
        else:
            until = moment
    if since is not None and until is not None and since >= until:
        errors.append({"name": "until", "message": _("until must be later than since.")})
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    return AuditFilters(actor_id=actor_id, kind=kind, since=since, until=until)


NO_FILTERS = AuditFilters()


def audit_entries(filters: AuditFilters = NO_FILTERS) -> QuerySet[AuditEntry]:
    """The entries matching `filters`, newest first (served by the model's indexes)."""
    qs = AuditEntry.objects.all()
    if filters.actor_id is not None:
        qs = qs.filter(actor_id=filters.actor_id)
    if filters.kind is not None:
        qs = qs.filter(kind=filters.kind)
    if filters.since is not None:
        qs = qs.filter(occurred_at__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(occurred_at__lt=filters.until)
    return qs.order_by("-occurred_at", "-id")


def audit_csv_rows(filters: AuditFilters) -> Iterator[list]:
    """The header, then one row per matching entry, read in chunks (for a streamed export).
    The values stay as stored (English kinds, JSON changes), as the API gives them."""
    yield CSV_HEADER
    for entry in audit_entries(filters).iterator(chunk_size=1000):
        yield [
            entry.occurred_at.isoformat(),
            entry.actor_id,
            entry.actor_email,
            entry.via,
            entry.token_id,
            entry.token_name,
            entry.kind,
            entry.target_type,
            entry.target_id,
            entry.target_label,
            json.dumps(entry.before, sort_keys=True, ensure_ascii=False),
            json.dumps(entry.after, sort_keys=True, ensure_ascii=False),
            entry.request_id,
        ]


__all__ = ["AuditFilters", "audit_csv_rows", "audit_entries", "audit_filters_parse"]
