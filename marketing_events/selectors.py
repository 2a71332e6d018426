from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from crm.errors import NotFound
from crm.models import Contact, SecondaryEmail, Tombstone, User

from .bulk import live_contacts_sql, on_postgresql, pg_fetch
from .models import MarketingEvent, Participation
from .rules import ContactRef, CrmSnapshot, normalize


def registrant_emails(event_id: int, registrant_ids: Iterable[str]) -> dict[str, str]:
    """{registrant id: the e-mail of the contact whose participation in the event holds it},
    for these ids only (rule B1: a guest whose address Zoom hides is matched through their
    registration). One query through the (event, registrant id) index, whatever the event's
    size; an id two participations hold (the registrant changed their address) gives the
    one written last."""
    ids = sorted({i for i in registrant_ids if i})
    if not ids:
        return {}
    out: dict[str, str] = {}
    for registrant_id, email in (
        Participation.objects.filter(event_id=event_id, external_registrant_id__in=ids)
        .order_by("external_registrant_id", "-updated_at", "-pk")
        .values_list("external_registrant_id", "contact__email")
    ):
        out.setdefault(registrant_id, email)
    return out


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


def crm_snapshot_sql() -> str:
    """The statement of `crm_snapshot` on PostgreSQL: the four reads in one, the e-mails as one
    array parameter (`%(emails)b`) named four times; the contacts by `live_contacts_sql` (an
    index probe per e-mail whatever the statistics say), the other tables are small."""

    def table(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    return (
        live_contacts_sql("'c', c.email, c.id, c.first_name, c.last_name", "%(emails)b")
        + f" UNION ALL SELECT 's', email, contact_id, NULL, NULL FROM {table(SecondaryEmail)} "
        "WHERE email = ANY(%(emails)b::text[]) "
        f"UNION ALL SELECT 't', email, NULL, NULL, NULL FROM {table(Tombstone)} "
        "WHERE email = ANY(%(emails)b::text[]) "
        f"UNION ALL SELECT 'u', email, NULL, NULL, NULL FROM {table(User)} "
        "WHERE email = ANY(%(emails)b::text[])"
    )


def _crm_snapshot_postgresql(wanted: list[str]) -> CrmSnapshot:
    """The same four reads as one statement (`crm_snapshot_sql`)."""
    rows = pg_fetch(crm_snapshot_sql(), {"emails": wanted})
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


def event_get(*, event_id: int) -> MarketingEvent:
    event = MarketingEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound(_("Marketing event %(id)s does not exist") % {"id": event_id})
    return event


def event_participations(*, event: MarketingEvent) -> QuerySet[Participation]:
    """The event's participations with their contacts, registration details (rules E1, E4,
    E5) and engagement (E7, E8) joined: one query per page. `engagement` is the Zoom
    integration's reverse one-to-one, named, not imported (this app is below it)."""
    return Participation.objects.filter(event=event).select_related(
        "contact", "registration", "engagement"
    )
