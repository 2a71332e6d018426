"""Who may receive activity, pure (rules Z4-Z8): a snapshot of the CRM in, a decision out.
Shared by the Zoom sync and the HubSpot-compatible attendance API so both apply the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class SkipReason(StrEnum):
    """Rule Z9's reasons."""

    NO_EMAIL = "no_email"
    ZOOM_EVENTS = "zoom_events"
    EXCLUDED_HOST_DOMAIN = "excluded_host_domain"
    CRM_USER = "crm_user"
    SECONDARY_EMAIL = "secondary_email"
    DELETED_CONTACT = "deleted_contact"
    CONTACT_EXCLUSION_DOMAIN = "contact_exclusion_domain"
    WEBINAR_SYNC_OFF = "webinar_sync_off"


# Shown to people (the sync run's skips, the attendance API's errors): lazy, so that each is
# translated into the language of whoever reads it.
FIX_HINTS: dict[str, Promise] = {
    SkipReason.NO_EMAIL: _(
        "Zoom did not share this person's e-mail (a guest). Require registration, or ask "
        "attendees to sign in, so Zoom reports their address."
    ),
    SkipReason.ZOOM_EVENTS: _(
        "Webinars created in Zoom Events are not supported. Create the webinar in Zoom "
        "Webinars to sync it."
    ),
    SkipReason.EXCLUDED_HOST_DOMAIN: _(
        "The webinar's host is in an excluded domain. Remove the domain from Exclusions in "
        "the Zoom settings to sync it."
    ),
    SkipReason.CRM_USER: _(
        "This address belongs to a CRM user, who is never created or updated as a contact."
    ),
    SkipReason.SECONDARY_EMAIL: _(
        "This address is a contact's secondary e-mail; only primary e-mails record "
        "activity. Make it the contact's primary e-mail to record it."
    ),
    SkipReason.DELETED_CONTACT: _(
        "The contact with this e-mail was deleted and is not recreated. Restore the contact "
        "to record its activity."
    ),
    SkipReason.CONTACT_EXCLUSION_DOMAIN: _(
        "The e-mail's domain is in Contact exclusions, so no new contact is created. Remove "
        "the domain, or create the contact by hand."
    ),
    SkipReason.WEBINAR_SYNC_OFF: _(
        "Sync is turned off for this webinar in the host's user settings. Turn it on under "
        "Manage individual user settings."
    ),
}


@dataclass(frozen=True)
class ContactRef:
    id: int
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class CrmSnapshot:
    """What the rules need to know of the CRM, for the e-mails of one page of records."""

    contacts: dict[str, ContactRef] = field(default_factory=dict)  # live, by primary e-mail
    secondary_emails: dict[str, int] = field(default_factory=dict)  # address -> contact id
    tombstones: frozenset[str] = frozenset()
    crm_user_emails: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Resolution:
    """`contact` (existing) or `create` (a new contact is allowed), or `skip` with a reason."""

    email: str
    contact: ContactRef | None = None
    create: bool = False
    skip: SkipReason | None = None


def normalize(email: str | None) -> str:
    """Rule Z8: trimmed and case-insensitive."""
    return (email or "").strip().lower()


def domain_listed(email: str, domains: frozenset[str] | tuple[str, ...]) -> bool:
    domain = email.rsplit("@", 1)[-1] if "@" in email else ""
    return bool(domain) and any(domain == d or domain.endswith("." + d) for d in domains)


def resolve_person(
    raw_email: str | None,
    snapshot: CrmSnapshot,
    *,
    contact_exclusion_domains: frozenset[str] | tuple[str, ...] = (),
) -> Resolution:
    email = normalize(raw_email)
    if not email:
        return Resolution(email="", skip=SkipReason.NO_EMAIL)  # rule Z2
    if email in snapshot.crm_user_emails:
        # Rule Z4: never created, and no activity even if a contact exists for them.
        return Resolution(email=email, skip=SkipReason.CRM_USER)
    contact = snapshot.contacts.get(email)
    if contact is not None:
        return Resolution(email=email, contact=contact)
    if email in snapshot.secondary_emails:
        return Resolution(email=email, skip=SkipReason.SECONDARY_EMAIL)  # rule Z5
    if email in snapshot.tombstones:
        return Resolution(email=email, skip=SkipReason.DELETED_CONTACT)  # rule Z6
    if domain_listed(email, contact_exclusion_domains):
        return Resolution(email=email, skip=SkipReason.CONTACT_EXCLUSION_DOMAIN)  # rule Z7
    return Resolution(email=email, create=True)
