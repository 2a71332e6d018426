"""Personal registration links (rules E3, E5): the public page opened with `?c=<token>`, a token
signed for one contact, knows who registers. It pre-fills the name and e-mail and every question
a mapped property of the contact answers (as the workflow action does, rule E3), and asks only
what is missing.

The token is Django's signing of the contact's id and a digest of its e-mail (so it no longer
works once the address changes or the contact is deleted), salted for this use and valid for
`MAX_AGE`. A token that does not verify is ignored: the page is the anonymous one, with no
error and nothing of anyone's data."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.core import signing
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from crm.models import Contact
from crm.properties import all_property_specs, property_value

from ..models import ConnectionStatus, ZoomWebinar
from .fill import CUSTOM_ANSWER_MAX
from .mappings import CHOICE_SEPARATOR
from .services import webinar_rules
from .sync import MULTI_CHOICE_TYPE

SALT = "zoom_integration.registration.personal-link"
MAX_AGE = dt.timedelta(days=180)
TOKEN_MAX_LENGTH = 300
SINGLE_CHOICE_TYPES = ("single_radio", "single_dropdown")


def _email_digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def personal_token(contact: Contact) -> str:
    """The signed token of a contact's personal links (no personal data in clear)."""
    return signing.dumps({"c": contact.pk, "e": _email_digest(contact.email)}, salt=SALT)


def token_contact(token: str | None) -> Contact | None:
    """The contact a token was signed for, or None: unsigned, tampered, expired, not ours, or
    its contact deleted or its e-mail changed since. Never raises."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    try:
        payload = signing.loads(token, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    except ValueError:  # a valid signature over a value that is not ours
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("c"), int):
        return None
    contact = Contact.objects.filter(pk=payload["c"]).first()
    if contact is None or _email_digest(contact.email) != payload.get("e"):
        return None
    return contact


def personal_url(webinar: ZoomWebinar, contact: Contact, token: str | None = None) -> str:
    """The public page of the webinar with the contact's token (a path; the page that shows
    it makes it absolute)."""
    path = reverse("public_registration", args=[webinar.connection_id, webinar.zoom_webinar_id])
    return f"{path}?c={token or personal_token(contact)}"


def upcoming_public_webinars(limit: int = 5) -> list[ZoomWebinar]:
    """The soonest webinars that have a public page (as `public.public_webinar` decides): one
    query."""
    now = timezone.now()
    return list(
        ZoomWebinar.objects.filter(
            connection__status=ConnectionStatus.CONNECTED,
            sync_enabled=True,
            is_zoom_events=False,
        )
        .filter(Q(end_time__isnull=True) | Q(end_time__gt=now))
        .order_by("start_time", "pk")
        .only("connection_id", "zoom_webinar_id", "topic", "start_time")[:limit]
    )


def _fits(question: dict, value: str):
    """The answer a property's value gives to a question, or None when it does not fit the
    question (then the page asks it): one of the offered choices, several of them for a
    multi-choice question, at most Zoom's length for text."""
    kind = question.get("type")
    offered = [str(a) for a in question.get("answers") or []]
    if kind in SINGLE_CHOICE_TYPES and offered:
        return value if value in offered else None
    if kind == MULTI_CHOICE_TYPE and offered:
        chosen = [p.strip() for p in value.split(CHOICE_SEPARATOR) if p.strip()]
        if chosen and all(c in offered for c in chosen):
            return chosen
        return None
    return value if len(value) <= CUSTOM_ANSWER_MAX else None


def known_answers(webinar: ZoomWebinar, contact: Contact, questions: list[dict]) -> dict:
    """What the page need not ask this contact: `first_name`, `last_name`, `email` (those it
    has) and `{question: value}` for each question a mapped property answers (rule E3; two
    queries: the mappings and the custom properties)."""
    known: dict = {"email": contact.email}
    if contact.first_name:
        known["first_name"] = contact.first_name
    if contact.last_name:
        known["last_name"] = contact.last_name
    rules = webinar_rules(webinar)
    specs = all_property_specs()
    for question in questions:
        name = question.get("question")
        rule = rules.get(name)
        if rule is None or rule.property not in specs or name in known:
            continue
        value = property_value(contact, specs[rule.property])
        value = str(value).strip() if value else ""
        fitted = _fits(question, value) if value else None
        if fitted:
            known[name] = fitted
    return known
