from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from crm.models import Contact, SecondaryEmail, Tombstone, User

from .bulk import on_postgresql, pg_fetch
from .rules import ContactRef, CrmSnapshot, normalize


def crm_snapshot(emails: Iterable[str]) -> CrmSnapshot:
    """The CRM as the rules see it, for these e-mails only: a constant number of queries
    whatever their number (one on PostgreSQL, four elsewhere)."""
    wanted = sorted({n for n in (normalize(e) for e in emails) if n})
    if not wanted:
        return CrmSnapshot()
    if on_postgresql():
        return _crm_snapshot_postgresql(wanted)
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


# ('c', e-mail, id, first name, last name) of the live contacts with these e-mails: one lookup
# of the e-mail index per e-mail, whatever the table's statistics say. During a first sync they
# lag far behind (never analyzed, `archived_at IS NULL` looks rare), and both
# `email = ANY(…) AND archived_at IS NULL` and a per-e-mail subquery naming `archived_at` were
# planned through the partial index on e-mail domains (`WHERE archived_at IS NULL`): every live
# contact read on each page. The subquery names only the e-mail (its `OFFSET 0` keeps the
# outer filter out of it), so the e-mail index is the only one that fits.
LIVE_CONTACTS_BY_EMAIL = (
    "SELECT 'c', e.email, c.id, c.first_name, c.last_name "
    "FROM unnest({emails}::text[]) AS e(email) CROSS JOIN LATERAL ("
    "SELECT id, first_name, last_name, archived_at FROM {table} c WHERE c.email = e.email "
    "OFFSET 0) c WHERE c.archived_at IS NULL"
)


def _crm_snapshot_postgresql(wanted: list[str]) -> CrmSnapshot:
    """The same four reads as one statement, the e-mails as one array parameter."""

    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    # The e-mails travel once, as one array parameter named four times. Contacts: one lookup
    # of the e-mail index per e-mail (`LIVE_CONTACTS_BY_EMAIL`).
    rows = pg_fetch(
        f"{LIVE_CONTACTS_BY_EMAIL.format(table=table(Contact), emails='%(emails)b')} "
        f"UNION ALL SELECT 's', email, contact_id, NULL, NULL FROM {table(SecondaryEmail)} "
        "WHERE email = ANY(%(emails)b::text[]) "
        f"UNION ALL SELECT 't', email, NULL, NULL, NULL FROM {table(Tombstone)} "
        "WHERE email = ANY(%(emails)b::text[]) "
        f"UNION ALL SELECT 'u', email, NULL, NULL, NULL FROM {table(User)} "
        "WHERE email = ANY(%(emails)b::text[])",
        {"emails": wanted},
    )
    contacts, secondary, tombstones, users = {}, {}, set(), set()
    for kind, email, pk, first, last in rows:
        if kind == "c":
            contacts[email] = ContactRef(id=pk, first_name=first, last_name=last)
        elif kind == "s":
            secondary[email] = pk
        elif kind == "t":
            tombstones.add(email)
        else:
            users.add(email)
    return CrmSnapshot(
        contacts=contacts,
        secondary_emails=secondary,
        tombstones=frozenset(tombstones),
        crm_user_emails=frozenset(users),
    )
