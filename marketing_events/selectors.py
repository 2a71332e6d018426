from __future__ import annotations

from collections.abc import Iterable

from crm.models import Contact, SecondaryEmail, Tombstone, User

from .rules import ContactRef, CrmSnapshot, normalize


def crm_snapshot(emails: Iterable[str]) -> CrmSnapshot:
    """The CRM as the rules see it, for these e-mails only: four queries whatever their number."""
    wanted = sorted({normalize(e) for e in emails if normalize(e)})
    if not wanted:
        return CrmSnapshot()
    contacts = {
        email: ContactRef(id=pk, first_name=first, last_name=last)
        for pk, email, first, last in Contact.objects.filter(
            email__in=wanted, archived_at__isnull=True
        ).values_list("pk", "email", "first_name", "last_name")
    }
    secondary = dict(
        SecondaryEmail.objects.filter(email__in=wanted).values_list("email", "contact_id")
    )
    tombstones = frozenset(
        Tombstone.objects.filter(email__in=wanted).values_list("email", flat=True)
    )
    users = frozenset(User.objects.filter(email__in=wanted).values_list("email", flat=True))
    return CrmSnapshot(
        contacts=contacts, secondary_emails=secondary, tombstones=tombstones, crm_user_emails=users
    )
