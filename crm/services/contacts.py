"""Contact writes: create, update, archive (tombstone), restore, secondary e-mails.

Every function validates all of its input before writing anything, so bad input changes
nothing. Uniqueness of the primary e-mail among live contacts is the database's job
(`unique_live_contact_email`); a lost race surfaces as `ContactAlreadyExists`, never a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

from ..errors import Conflict, ContactAlreadyExists, ValidationFailed
from ..hooks import contacts_changed
from ..models import AuditKind, Contact, SecondaryEmail, Tombstone, User, normalize_email
from ..properties import (
    STANDARD_BY_NAME,
    PropertySpec,
    PropertyValueError,
    all_property_specs,
    clean_value,
)
from .audit import audit_record
from .timeline import timeline_event_add


@dataclass
class CleanedContactInput:
    columns: dict[str, Any] = field(default_factory=dict)
    custom: dict[str, str] = field(default_factory=dict)
    secondary_emails: list[str] | None = None  # None: leave unchanged


def split_emails(raw: str | Iterable[str] | None) -> list[str]:
    """`hs_additional_emails` is a semicolon-separated list; accept a list too."""
    if raw is None:
        return []
    parts = raw.split(";") if isinstance(raw, str) else list(raw)
    seen: list[str] = []
    for part in parts:
        email = normalize_email(part)
        if email and email not in seen:
            seen.append(email)
    return seen


def contact_clean_properties(
    properties: Mapping[str, Any], *, specs: Mapping[str, PropertySpec] | None = None
) -> CleanedContactInput:
    """Validates HubSpot-named property values. Raises `ValidationFailed` listing every bad one."""
    if not isinstance(properties, Mapping):
        raise ValidationFailed(gettext("properties must be an object of property names to values"))
    specs = specs if specs is not None else all_property_specs()
    cleaned = CleanedContactInput()
    errors: list[dict[str, Any]] = []
    for name, raw in properties.items():
        spec = specs.get(name)
        if spec is None:
            errors.append(
                {
                    "name": name,
                    "code": "PROPERTY_DOESNT_EXIST",
                    "message": gettext('Property "%(name)s" does not exist') % {"name": name},
                }
            )
            continue
        if spec.read_only:
            errors.append(
                {
                    "name": name,
                    "code": "READ_ONLY_VALUE",
                    "message": gettext('Property "%(name)s" is read-only') % {"name": name},
                }
            )
            continue
        if spec.name == "hs_additional_emails":
            emails = split_emails(raw)
            bad = [e for e in emails if _invalid_email(e)]
            if bad:
                errors.append(
                    {
                        "name": name,
                        "code": "INVALID_EMAIL",
                        "message": gettext("%(value)s is not a valid email address")
                        % {"value": repr(bad[0])},
                    }
                )
            cleaned.secondary_emails = emails
            continue
        try:
            value = clean_value(spec, raw)
        except PropertyValueError as exc:
            code = (
                "INVALID_EMAIL"
                if spec.name == "email"
                else "INVALID_OPTION"
                if spec.type == "enumeration"
                else "INVALID_VALUE"
            )
            errors.append({"name": name, "code": code, "message": str(exc)})
            continue
        if spec.column:
            cleaned.columns[spec.column] = (value or None) if spec.column == "email" else value
        else:
            cleaned.custom[name] = value
    if errors:
        raise ValidationFailed(
            gettext("Property values were not valid: %(errors)s")
            % {"errors": "; ".join(e["message"] for e in errors)},
            errors=errors,
        )
    return cleaned


def _invalid_email(email: str) -> bool:
    try:
        clean_value(STANDARD_EMAIL_SPEC, email)
    except PropertyValueError:
        return True
    return False


STANDARD_EMAIL_SPEC = STANDARD_BY_NAME["email"]


def _check_email_free(email: str | None, *, contact_id: int | None = None) -> None:
    """A primary e-mail may not be another live contact's primary or anyone's secondary."""
    if not email:
        return
    owner = (
        Contact.objects.filter(email=email, archived_at__isnull=True)
        .exclude(pk=contact_id)
        .values_list("pk", flat=True)
        .first()
    )
    if owner is None:
        owner = (
            SecondaryEmail.objects.filter(email=email)
            .exclude(contact_id=contact_id)
            .values_list("contact_id", flat=True)
            .first()
        )
    if owner is not None:
        raise ContactAlreadyExists(owner, email)


def _check_secondaries_free(emails: list[str], *, primary: str | None, contact_id: int | None):
    errors = []
    for email in emails:
        if email == primary:
            errors.append(
                {
                    "name": "hs_additional_emails",
                    "code": "INVALID_VALUE",
                    "message": gettext("%(email)s is already this contact's primary e-mail")
                    % {"email": email},
                }
            )
    taken = dict(
        SecondaryEmail.objects.filter(email__in=emails)
        .exclude(contact_id=contact_id)
        .values_list("email", "contact_id")
    )
    taken.update(
        Contact.objects.filter(email__in=emails, archived_at__isnull=True)
        .exclude(pk=contact_id)
        .values_list("email", "pk")
    )
    for email, owner in sorted(taken.items()):
        errors.append(
            {
                "name": "hs_additional_emails",
                "code": "CONFLICT",
                "message": gettext("%(email)s already belongs to contact %(id)s")
                % {"email": email, "id": owner},
            }
        )
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)


def _replace_secondaries(contact: Contact, emails: list[str]) -> None:
    contact.secondary_emails.exclude(email__in=emails).delete()
    existing = set(contact.secondary_emails.values_list("email", flat=True))
    SecondaryEmail.objects.bulk_create(
        [SecondaryEmail(contact=contact, email=e) for e in emails if e not in existing]
    )


def contact_create(
    *,
    properties: Mapping[str, Any],
    actor: User | None = None,
    source: str = "crm",
    respect_tombstones: bool = False,
) -> Contact:
    """Creates a live contact. Raises `ContactAlreadyExists` (409) when the primary e-mail is
    taken, `ValidationFailed` for bad input. With `respect_tombstones` (integrations, rule Z6)
    a deleted contact's e-mail is refused; a person creating a contact by hand may reuse it,
    which lifts the tombstone."""
    cleaned = contact_clean_properties(properties)
    email = cleaned.columns.get("email")
    secondaries = cleaned.secondary_emails or []
    now = timezone.now()
    try:
        with transaction.atomic():
            _check_email_free(email)
            _check_secondaries_free(secondaries, primary=email, contact_id=None)
            if email:
                tombstone = Tombstone.objects.filter(email=email).first()
                if tombstone is not None:
                    if respect_tombstones:
                        raise Conflict(
                            gettext(
                                "The contact with e-mail %(email)s was deleted and is not "
                                "recreated."
                            )
                            % {"email": email},
                            reason="deleted_contact",
                        )
                    tombstone.delete()
            contact = Contact.objects.create(
                **cleaned.columns, properties=cleaned.custom, created_at=now, updated_at=now
            )
            if secondaries:
                _replace_secondaries(contact, secondaries)
            timeline_event_add(
                contact=contact,
                kind="contact_created",
                occurred_at=now,
                data={"source": source},
                actor=actor,
            )
            contacts_changed([contact.pk])
    except IntegrityError:
        # A concurrent writer took the e-mail between our check and our insert.
        existing = _live_owner_of(email)
        if existing is None:
            raise
        raise ContactAlreadyExists(existing, email or "")
    return contact


def _live_owner_of(email: str | None) -> int | None:
    if not email:
        return None
    return (
        Contact.objects.filter(
            Q(email=email, archived_at__isnull=True) | Q(secondary_emails__email=email)
        )
        .values_list("pk", flat=True)
        .first()
    )


def contact_update(
    *, contact: Contact, properties: Mapping[str, Any], actor: User | None = None
) -> Contact:
    """Updates properties; '' clears a value. Changing the primary e-mail to one in use
    raises `ContactAlreadyExists`."""
    cleaned = contact_clean_properties(properties)
    if contact.archived_at is not None:
        raise Conflict(
            gettext("Contact %(id)s is archived; restore it before editing.") % {"id": contact.pk}
        )
    try:
        with transaction.atomic():
            if "email" in cleaned.columns and cleaned.columns["email"] != contact.email:
                _check_email_free(cleaned.columns["email"], contact_id=contact.pk)
            primary = cleaned.columns.get("email", contact.email)
            if cleaned.secondary_emails is not None:
                _check_secondaries_free(
                    cleaned.secondary_emails, primary=primary, contact_id=contact.pk
                )
                _replace_secondaries(contact, cleaned.secondary_emails)
            elif primary and primary != contact.email:
                # Promoting one's own secondary address to primary moves it.
                contact.secondary_emails.filter(email=primary).delete()
            for column, value in cleaned.columns.items():
                setattr(contact, column, value)
            if cleaned.custom:
                merged = dict(contact.properties)
                for name, value in cleaned.custom.items():
                    if value == "":
                        merged.pop(name, None)
                    else:
                        merged[name] = value
                contact.properties = merged
            contact.updated_at = timezone.now()
            contact.save()
            contacts_changed([contact.pk])
    except IntegrityError:
        existing = _live_owner_of(cleaned.columns.get("email"))
        if existing is None:
            raise
        raise ContactAlreadyExists(existing, cleaned.columns.get("email") or "")
    return contact


def contact_archive(*, contact: Contact, actor: User | None = None) -> Contact:
    """Archives (deletes) a contact and leaves a tombstone by e-mail (rule Z6).
    Idempotent: archiving an archived contact changes nothing."""
    if contact.archived_at is not None:
        return contact
    now = timezone.now()
    with transaction.atomic():
        contact.archived_at = now
        contact.updated_at = now
        contact.save(update_fields=["archived_at", "updated_at"])
        if contact.email:
            Tombstone.objects.update_or_create(
                email=contact.email,
                defaults={"contact": contact, "deleted_at": now, "deleted_by": actor},
            )
        timeline_event_add(contact=contact, kind="contact_deleted", occurred_at=now, actor=actor)
        _contact_audit(AuditKind.CONTACT_DELETED, contact, archived=True, actor=actor)
    return contact


def _contact_audit(kind: str, contact: Contact, *, archived: bool, actor: User | None) -> None:
    audit_record(
        kind=kind,
        target_type="contact",
        target_id=contact.pk,
        target_label=str(contact),
        before={"archived": not archived},
        after={"archived": archived},
        actor=actor,
    )


def contact_restore(*, contact: Contact, actor: User | None = None) -> Contact:
    """Restores an archived contact and lifts its tombstone (rule B6). Refused with 409 when
    another live contact now holds its e-mail. Restoring a live contact changes nothing."""
    if contact.archived_at is None:
        return contact
    now = timezone.now()
    try:
        with transaction.atomic():
            _check_email_free(contact.email, contact_id=contact.pk)
            contact.archived_at = None
            contact.updated_at = now
            contact.save(update_fields=["archived_at", "updated_at"])
            if contact.email:
                Tombstone.objects.filter(email=contact.email).delete()
            timeline_event_add(
                contact=contact, kind="contact_restored", occurred_at=now, actor=actor
            )
            _contact_audit(AuditKind.CONTACT_RESTORED, contact, archived=False, actor=actor)
            contacts_changed([contact.pk])
    except ContactAlreadyExists as exc:
        raise Conflict(
            gettext("Cannot restore: contact %(id)s now uses the e-mail %(email)s.")
            % {"id": exc.existing_id, "email": contact.email},
            existing_id=exc.existing_id,
        )
    return contact


def secondary_email_add(
    *, contact: Contact, email: str, actor: User | None = None
) -> SecondaryEmail:
    normalized = normalize_email(email)
    if not normalized or _invalid_email(normalized):
        message = gettext("%(value)s is not a valid email address") % {"value": repr(email)}
        raise ValidationFailed(
            message, errors=[{"name": "email", "code": "INVALID_EMAIL", "message": message}]
        )
    with transaction.atomic():
        _check_secondaries_free([normalized], primary=contact.email, contact_id=contact.pk)
        secondary, _created = SecondaryEmail.objects.get_or_create(
            contact=contact, email=normalized
        )
        contact.updated_at = timezone.now()
        contact.save(update_fields=["updated_at"])
    return secondary


def secondary_email_remove(*, contact: Contact, email: str, actor: User | None = None) -> None:
    with transaction.atomic():
        deleted, _ = contact.secondary_emails.filter(email=normalize_email(email)).delete()
        if deleted:
            contact.updated_at = timezone.now()
            contact.save(update_fields=["updated_at"])
