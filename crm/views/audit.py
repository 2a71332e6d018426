"""Settings > Audit log (super admins): who changed what and when, filtered by person, kind and
date range, paged, and exported as CSV (issue 22)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .. import selectors
from ..audit import (
    AuditFilters,
    audit_csv_rows,
    audit_entries,
    audit_field_label,
    audit_filters_parse,
)
from ..csv_export import csv_response
from ..errors import ValidationFailed
from ..models import AuditEntry, AuditKind, AuditVia
from ..paging import numbered_pager
from ..services.audit import SECRET_CHANGED, SECRET_WAS_SET
from .access import settings_admin_required

PAGE_SIZE = 50
FILTER_NAMES = ("actor", "kind", "since", "until")


def _value_text(value) -> str:
    """A before/after value as a person reads it."""
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    if value == SECRET_WAS_SET:
        return _("(set)")
    if value == SECRET_CHANGED:
        return _("(changed)")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else _("(none)")
    if value is None or value == "":
        return "—"
    return str(value)


def change_lines(entry: AuditEntry) -> list[dict]:
    """One line per changed field: its name, the value before, the value after ("—" when the
    field was not there, e.g. on a creation)."""
    names = [*entry.before, *(n for n in entry.after if n not in entry.before)]
    return [
        {
            "field": name,
            "label": audit_field_label(name),
            "before": _value_text(entry.before[name]) if name in entry.before else "—",
            "after": _value_text(entry.after[name]) if name in entry.after else "—",
        }
        for name in names
    ]


def _query(params: dict) -> str:
    kept = {k: v for k, v in params.items() if v not in ("", None)}
    return ("?" + urlencode(kept)) if kept else ""


@settings_admin_required
def settings_audit_log(request):
    raw = {name: request.GET.get(name, "").strip() for name in FILTER_NAMES}
    errors: dict[str, str] = {}
    try:
        filters = audit_filters_parse(raw)
    except ValidationFailed as exc:
        errors = {e["name"]: e["message"] for e in exc.errors}
        filters = None
    entries = audit_entries(filters or AuditFilters())
    if filters is None:
        entries = entries.none()  # said next to the filter at fault; no query runs
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"entry": entry, "changes": change_lines(entry)} for entry in page.object_list]
    context = {
        "active_nav": "settings",
        "settings_section": "audit",
        "rows": rows,
        "page": page,
        "pager": numbered_pager(page, lambda n: _query({**raw, "page": n})),
        "filters": raw,
        "filter_errors": errors,
        "filtered": any(raw.values()),
        "people": selectors.user_list().only("pk", "email"),
        "kinds": AuditKind.choices,
        "via_labels": dict(AuditVia.choices),
        "csv_query": _query(raw),
    }
    return render(request, "crm/settings/audit_log.html", context, status=400 if errors else 200)


@settings_admin_required
def settings_audit_log_csv(request):
    """Every entry the page's filters select (not only one page), streamed."""
    try:
        filters = audit_filters_parse({name: request.GET.get(name, "") for name in FILTER_NAMES})
    except ValidationFailed as exc:
        return StreamingHttpResponse(
            [exc.message], status=400, content_type="text/plain; charset=utf-8"
        )
    return csv_response(audit_csv_rows(filters), filename="audit-log.csv")
