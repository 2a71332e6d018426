"""Contacts: list (live search, sorting, pages), deleted contacts, contact page with
properties, secondary e-mails and timeline, create, edit, delete (tombstone), restore (B6)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .. import selectors
from ..errors import Conflict, ContactAlreadyExists, NotFound, ValidationFailed
from ..models import PropertyType
from ..paging import numbered_pager
from ..properties import all_property_specs, parse_datetime_value
from ..search_text import MAX_SEARCH_LENGTH, clean_search
from ..services import contacts as contact_services
from ..timeline import timeline_label
from .access import write_required
from .forms import (
    PROPERTY_SECTIONS,
    RECORD_SECTION,
    ContactForm,
    SecondaryEmailForm,
    custom_sections,
    display_value,
    initial_from_contact,
    spec_label,
)

PAGE_SIZE = 25
TIMELINE_LIMIT = 100

# Sort keys offered by the column headers -> model fields (the primary key breaks ties so
# pages never overlap).
SORT_FIELDS = {
    "name": ("last_name", "first_name"),
    "email": ("email",),
    "company": ("company",),
    "created": ("created_at",),
    "deleted": ("archived_at",),
}
COLUMNS = (
    ("name", _("Name")),
    ("email", _("E-mail")),
    ("company", _("Company")),
    ("created", _("Created")),
)


def _ordering(sort: str, *, default: str) -> tuple[str, list]:
    key = sort.removeprefix("-")
    if key not in SORT_FIELDS:
        sort, key = default, default.removeprefix("-")
    descending = sort.startswith("-")
    order = [
        F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
        for name in SORT_FIELDS[key]
    ]
    order.append("-pk" if descending else "pk")
    return sort, order


def _query(**params) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _contact_list(request, *, deleted: bool):
    search = request.GET.get("q", "").strip()
    default_sort = "-deleted" if deleted else "-created"
    sort, order = _ordering(request.GET.get("sort", default_sort), default=default_sort)
    search_error = None
    try:
        clean_search(search)
    except ValidationFailed:
        # Said next to the search box; no query runs for a text no contact could match.
        search_error = gettext("The search is too long: use at most %(max)s characters.") % {
            "max": MAX_SEARCH_LENGTH
        }
    contacts = selectors.contact_list(
        search="" if search_error else search, archived_only=deleted
    ).order_by(*order)
    if search_error:
        contacts = contacts.none()
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    base_url = reverse("crm:contact_deleted_list" if deleted else "crm:contact_list")

    columns = list(COLUMNS)
    if deleted:
        columns.append(("deleted", _("Deleted")))
    headers = []
    for key, label in columns:
        active = sort.removeprefix("-") == key
        descending = sort.startswith("-")
        # The first click on a date column shows the newest first; on text columns A to Z.
        if active:
            next_sort = key if descending else f"-{key}"
        else:
            next_sort = f"-{key}" if key in ("created", "deleted") else key
        headers.append(
            {
                "key": key,
                "label": label,
                "active": active,
                "descending": descending,
                "url": base_url + _query(q=search, sort=next_sort),
            }
        )
    context = {
        "page": page,
        "contacts": page.object_list,
        "search": search,
        "search_error": search_error,
        "max_search_length": MAX_SEARCH_LENGTH,
        "sort": sort,
        "headers": headers,
        "pager": numbered_pager(page, lambda n: base_url + _query(q=search, sort=sort, page=n)),
        "deleted": deleted,
        "list_url": base_url,
        "active_nav": "contacts",
    }
    partial = (
        request.htmx
        and not request.htmx.history_restore_request
        and request.htmx.target == "contact-results"
    )
    template = "crm/contacts/_results.html" if partial else "crm/contacts/list.html"
    response = render(request, template, context)
    # The same URL answers a fragment to htmx and a page to the browser: keep caches apart.
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@login_required
def contact_list(request):
    return _contact_list(request, deleted=False)


@login_required
def contact_deleted_list(request):
    return _contact_list(request, deleted=True)


def _get_contact(contact_id):
    try:
        return selectors.contact_get(contact_id=contact_id, include_archived=True)
    except NotFound:
        raise Http404(gettext("This contact does not exist."))


def _property_sections(contact, specs):
    sections = []
    for key, title, names in (*PROPERTY_SECTIONS, *custom_sections(specs), RECORD_SECTION):
        rows = []
        for name in names:
            spec = specs.get(name)
            if spec is None:
                continue
            rows.append(
                {
                    "name": name,
                    "label": spec_label(spec),
                    "value": display_value(contact, spec),
                    "is_datetime": spec.type == PropertyType.DATETIME,
                    "is_date": spec.type == PropertyType.DATE,
                }
            )
        if rows:
            sections.append({"key": key, "title": title, "rows": rows})
    return sections


# Data keys rendered by the generic timeline entry with a readable label.
TIMELINE_DATA_LABELS = {
    "source": _("Source"),
    "webinar_id": _("Webinar ID"),
    "webinar_name": _("Webinar"),
    "joined_at": _("Joined at"),
    "left_at": _("Left at"),
    "duration_seconds": _("Duration"),
    "recording_url": _("Recording"),
    "registered_at": _("Registered at"),
    "start_time": _("Starts"),
    "items": _("Answers"),
}
# Data keys kept for machines (the API shows them), not worth a line on the contact page.
TIMELINE_HIDDEN_KEYS = frozenset({"event_id", "occurrence"})
TIMELINE_SOURCES = {
    "crm": _("Added in the CRM"),
    "api": _("REST API"),
    "hubspot_api": _("REST API"),
    "zoom": "Zoom",
    "workflow": _("Workflow"),
}


def _duration(seconds) -> str:
    try:
        seconds = int(float(seconds))
    except (TypeError, ValueError):
        return str(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return gettext("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    if minutes:
        return gettext("%(m)d min %(s)02d s") % {"m": minutes, "s": secs}
    return gettext("%(s)d s") % {"s": secs}


def _timeline_entry(event) -> dict:
    label = timeline_label(event.kind)
    details = []
    for key, value in (event.data or {}).items():
        if value in (None, "", [], {}) or key in TIMELINE_HIDDEN_KEYS:
            continue
        entry = {
            "label": TIMELINE_DATA_LABELS.get(key) or key.replace("_", " ").capitalize(),
            "value": value,
            "is_url": isinstance(value, str) and value.startswith(("http://", "https://")),
        }
        if key == "source":
            entry["value"] = TIMELINE_SOURCES.get(value) or value
        elif key == "duration_seconds":
            entry["value"] = _duration(value)
        elif key.endswith("_at") or key.endswith("_time"):
            entry["value"] = parse_datetime_value(value) or value
            entry["is_datetime"] = entry["value"] is not value
        elif key == "items" and (answers := _question_items(value)):
            # Poll, survey and Q&A entries list what was asked and answered: a line each.
            entry["answers"] = answers
        elif not isinstance(value, str | int | float):
            entry["value"] = str(value)
        details.append(entry)
    return {"event": event, "label": label, "details": details}


def _question_items(value) -> list[dict] | None:
    """`[{"question", "answer", "status"?}, ...]` as strings, or None when `value` is not such
    a list."""
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and "question" in item for item in value
    ):
        return None
    return [
        {
            "question": str(item.get("question") or ""),
            "answer": str(item.get("answer") or ""),
            "status": str(item.get("status") or ""),
        }
        for item in value
    ]


@login_required
def contact_detail(request, contact_id: int):
    contact = _get_contact(contact_id)
    specs = all_property_specs()
    timeline = [
        _timeline_entry(e)
        for e in selectors.timeline_for_contact(contact=contact)[: TIMELINE_LIMIT + 1]
    ]
    context = {
        "contact": contact,
        "sections": _property_sections(contact, specs),
        "timeline": timeline[:TIMELINE_LIMIT],
        "timeline_truncated": len(timeline) > TIMELINE_LIMIT,
        "email_form": SecondaryEmailForm(),
        "active_nav": "contacts",
    }
    return render(request, "crm/contacts/detail.html", context)


def _apply_errors(form: ContactForm, exc: ValidationFailed) -> None:
    """Puts each service error on its field (by property name), the rest on the form."""
    for error in exc.errors or [{"message": exc.message}]:
        name = error.get("name")
        message = _error_message(form, error)
        if name in form.fields:
            form.add_error(name, message)
        else:
            form.add_error(None, message)


def _error_message(form: ContactForm, error: dict) -> str:
    code = error.get("code")
    spec = form.specs.get(error.get("name") or "")
    if code == "INVALID_EMAIL":
        return gettext("Enter a valid e-mail address, like name@example.com.")
    if code == "INVALID_OPTION":
        return gettext("Choose one of the listed options.")
    if spec is not None and code == "INVALID_VALUE":
        if spec.type == PropertyType.NUMBER:
            return gettext("Enter a number, like 42 or 3.5.")
        if spec.type == PropertyType.DATE:
            return gettext("Enter a date, like 2025-01-31.")
        if spec.type == PropertyType.DATETIME:
            return gettext("Enter a date and time, like 2025-01-31T14:00:00Z.")
        if spec.type == PropertyType.BOOL:
            return gettext("Choose Yes or No.")
    return error.get("message") or gettext("This value is not valid.")


def _contact_form_response(request, form, *, contact=None, existing_id=None, status=200):
    context = {
        "form": form,
        "contact": contact,
        "existing_id": existing_id,
        "active_nav": "contacts",
    }
    return render(request, "crm/contacts/form.html", context, status=status)


@write_required
def contact_create(request):
    specs = all_property_specs()
    if request.method != "POST":
        return _contact_form_response(request, ContactForm(specs=specs))
    form = ContactForm(request.POST, specs=specs)
    if form.is_valid():
        try:
            contact = contact_services.contact_create(
                properties=form.properties(), actor=request.user
            )
        except ValidationFailed as exc:
            _apply_errors(form, exc)
        except ContactAlreadyExists as exc:
            form.add_error("email", gettext("A contact with this e-mail address already exists."))
            return _contact_form_response(request, form, existing_id=exc.existing_id, status=409)
        else:
            messages.success(request, gettext("Contact created."))
            return redirect("crm:contact_detail", contact_id=contact.pk)
    return _contact_form_response(request, form, status=400)


@write_required
def contact_edit(request, contact_id: int):
    contact = _get_contact(contact_id)
    if contact.is_archived:
        messages.error(request, gettext("This contact is deleted: restore it before editing it."))
        return redirect("crm:contact_detail", contact_id=contact.pk)
    specs = all_property_specs()
    initial = initial_from_contact(contact, specs)
    if request.method != "POST":
        return _contact_form_response(
            request, ContactForm(specs=specs, initial=initial), contact=contact
        )
    form = ContactForm(request.POST, specs=specs, initial=initial)
    if form.is_valid():
        try:
            # Only what the person changed: untouched values are never re-validated.
            contact_services.contact_update(
                contact=contact, properties=form.properties(only_changed=True), actor=request.user
            )
        except ValidationFailed as exc:
            _apply_errors(form, exc)
        except ContactAlreadyExists as exc:
            form.add_error("email", gettext("A contact with this e-mail address already exists."))
            return _contact_form_response(
                request, form, contact=contact, existing_id=exc.existing_id, status=409
            )
        except Conflict:
            form.add_error(None, gettext("This contact changed meanwhile; reload and try again."))
        else:
            messages.success(request, gettext("Contact saved."))
            return redirect("crm:contact_detail", contact_id=contact.pk)
    return _contact_form_response(request, form, contact=contact, status=400)


@write_required
def contact_delete(request, contact_id: int):
    contact = _get_contact(contact_id)
    if contact.is_archived:
        return redirect("crm:contact_detail", contact_id=contact.pk)
    if request.method == "POST":
        contact_services.contact_archive(contact=contact, actor=request.user)
        messages.success(
            request,
            gettext(
                "Contact deleted. Integrations will not recreate it; you can restore it "
                "from this page or from Deleted contacts."
            ),
        )
        return redirect("crm:contact_detail", contact_id=contact.pk)
    return render(
        request, "crm/contacts/delete.html", {"contact": contact, "active_nav": "contacts"}
    )


@write_required
@require_POST
def contact_restore(request, contact_id: int):
    contact = _get_contact(contact_id)
    try:
        contact_services.contact_restore(contact=contact, actor=request.user)
    except Conflict as exc:
        existing = exc.context.get("existing_id")
        messages.error(
            request,
            gettext(
                "This contact cannot be restored: contact #%(id)s now uses its e-mail address. "
                "Change or delete that contact first."
            )
            % {"id": existing},
        )
    else:
        messages.success(request, gettext("Contact restored."))
    next_url = request.POST.get("next")
    if next_url == "deleted":
        return redirect("crm:contact_deleted_list")
    return redirect("crm:contact_detail", contact_id=contact.pk)


def _emails_response(request, contact, form=None, status=200):
    if not request.htmx:
        if form is not None and form.errors:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
        return redirect("crm:contact_detail", contact_id=contact.pk)
    contact = _get_contact(contact.pk)  # fresh secondary e-mails
    context = {"contact": contact, "email_form": form or SecondaryEmailForm()}
    return render(request, "crm/contacts/_secondary_emails.html", context, status=status)


def _writable_contact(contact_id):
    contact = _get_contact(contact_id)
    if contact.is_archived:
        raise Http404(gettext("This contact is deleted: restore it before changing it."))
    return contact


@write_required
@require_POST
def contact_email_add(request, contact_id: int):
    contact = _writable_contact(contact_id)
    form = SecondaryEmailForm(request.POST)
    if form.is_valid():
        try:
            contact_services.secondary_email_add(
                contact=contact, email=form.cleaned_data["email"], actor=request.user
            )
        except ValidationFailed as exc:
            for error in exc.errors or [{}]:
                if error.get("code") == "INVALID_EMAIL":
                    message = gettext("Enter a valid e-mail address, like name@example.com.")
                elif "primary" in (error.get("message") or ""):
                    message = gettext("This is already the contact's primary e-mail address.")
                else:
                    message = gettext("This e-mail address already belongs to another contact.")
                form.add_error("email", message)
        else:
            return _emails_response(request, contact)
    # 200 so that htmx swaps the fragment with its inline error in.
    return _emails_response(request, contact, form)


@write_required
@require_POST
def contact_email_remove(request, contact_id: int):
    contact = _writable_contact(contact_id)
    contact_services.secondary_email_remove(
        contact=contact, email=request.POST.get("email", ""), actor=request.user
    )
    return _emails_response(request, contact)
