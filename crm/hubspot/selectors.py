"""Reads of the HubSpot-compatible API. Every page costs a fixed number of queries: the
contacts, and their secondary e-mails in one prefetch."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from ..errors import NotFound, ValidationFailed
from ..ids import is_id_text
from ..models import Contact, PropertyDefinition, SecondaryEmail, normalize_email

# `idProperty` values we can look a contact up by (HubSpot allows any unique property).
ID_PROPERTIES = ("hs_object_id", "email")


def contacts_queryset(*, archived: bool = False) -> QuerySet[Contact]:
    """Live contacts, or with `archived` only the archived ones (HubSpot's `archived=true`)."""
    qs = Contact.objects.filter(archived_at__isnull=not archived)
    return qs.prefetch_related(
        Prefetch("secondary_emails", queryset=SecondaryEmail.objects.order_by("email"))
    )


def check_id_property(id_property: str | None) -> str:
    """`hs_object_id` (also when absent or null) or `email`; anything else is a 400."""
    id_property = "hs_object_id" if id_property is None else id_property
    if id_property not in ID_PROPERTIES:
        raise ValidationFailed(
            _("idProperty %(value)s is not supported: use one of %(choices)s.")
            % {"value": repr(id_property), "choices": ", ".join(ID_PROPERTIES)},
            errors=[
                {
                    "name": "idProperty",
                    "code": "INVALID_ID_PROPERTY",
                    "message": _("Unsupported idProperty %(value)s") % {"value": repr(id_property)},
                }
            ],
        )
    return id_property


def _parse_pk(value) -> int | None:
    text = str(value).strip()
    return int(text) if is_id_text(text) else None


def contacts_by_ids(
    ids: Iterable, *, id_property: str | None = None, archived: bool = False
) -> dict[str, Contact]:
    """Contacts keyed by the id as given (one query, plus the secondary-email prefetch).
    E-mails are matched trimmed and case-insensitively (rule Z8). Ids not found are absent."""
    id_property = check_id_property(id_property)
    ids = [str(i) for i in ids]
    qs = contacts_queryset(archived=archived)
    found: dict[str, Contact] = {}
    if id_property == "email":
        wanted = {normalize_email(i): i for i in ids}
        # Several archived contacts may share an e-mail: the one archived last wins.
        for contact in qs.filter(email__in=wanted).order_by("archived_at", "pk"):
            for given in ids:
                if normalize_email(given) == contact.email:
                    found[given] = contact
        return found
    pks = {pk for pk in (_parse_pk(i) for i in ids) if pk is not None}
    by_pk = {c.pk: c for c in qs.filter(pk__in=pks)}
    for given in ids:
        pk = _parse_pk(given)
        if pk in by_pk:
            found[given] = by_pk[pk]
    return found


def contact_find(contact_id, *, id_property: str | None = None, archived: bool = False) -> Contact:
    """One contact by id or by e-mail; `NotFound` (404) otherwise."""
    contact = contacts_by_ids([contact_id], id_property=id_property, archived=archived).get(
        str(contact_id)
    )
    if contact is None:
        raise NotFound(_("Contact %(id)s does not exist.") % {"id": contact_id})
    return contact


def contact_find_any(contact_id) -> Contact:
    """A contact by numeric id, live or archived (for archive and restore)."""
    pk = _parse_pk(contact_id)
    contact = Contact.objects.filter(pk=pk).first() if pk is not None else None
    if contact is None:
        raise NotFound(_("Contact %(id)s does not exist.") % {"id": contact_id})
    return contact


def contacts_page(
    *, after_id: int | None, limit: int, archived: bool
) -> tuple[list[Contact], bool]:
    """A page by id ascending, after the given id; also says whether more follow."""
    qs = contacts_queryset(archived=archived).order_by("pk")
    if after_id is not None:
        qs = qs.filter(pk__gt=after_id)
    rows = list(qs[: limit + 1])
    return rows[:limit], len(rows) > limit


def contacts_search(
    *, condition: Q, ordering: list, offset: int, limit: int
) -> tuple[int, list[Contact]]:
    """Live contacts matching `condition`: the total and one page (3 queries)."""
    qs = contacts_queryset().filter(condition)
    total = qs.count()
    rows = list(qs.order_by(*ordering)[offset : offset + limit]) if limit > 0 else []
    return total, rows


def property_definitions() -> dict[str, PropertyDefinition]:
    return {d.name: d for d in PropertyDefinition.objects.all()}


def property_definition_get(name: str) -> PropertyDefinition | None:
    return PropertyDefinition.objects.filter(name=name).first()
