"""Account, brands and CRM users (rule A1)."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext

from ..errors import Conflict, NotFound, ValidationFailed
from ..hooks import brand_holder_words
from ..languages import language_codes
from ..models import CONSENT_TEXT_MAX, Account, AuditKind, Brand, Role, Tier, User, normalize_email
from ..properties import STANDARD_BY_NAME, PropertyValueError, clean_value
from .audit import audit_record


def account_get() -> Account:
    account, _created = Account.objects.get_or_create(pk=1)
    return account


def account_update(
    *,
    name: str | None = None,
    tier: str | None = None,
    registration_consent_text: str | None = None,
    actor: User | None = None,
) -> Account:
    errors = []
    if name is not None and not name.strip():
        errors.append({"name": "name", "message": gettext("The account name cannot be empty.")})
    if tier is not None and tier not in Tier.values:
        errors.append(
            {
                "name": "tier",
                "message": gettext("Unknown tier %(value)s: use one of %(choices)s")
                % {"value": repr(tier), "choices": ", ".join(Tier.values)},
            }
        )
    if (
        registration_consent_text is not None
        and len(registration_consent_text.strip()) > CONSENT_TEXT_MAX
    ):
        errors.append(
            {
                "name": "registration_consent_text",
                "message": gettext("The consent text has at most %(max)s characters.")
                % {"max": CONSENT_TEXT_MAX},
            }
        )
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    with transaction.atomic():
        account = account_get()
        before = _account_fields(account)
        if name is not None:
            account.name = name.strip()
        if tier is not None:
            account.tier = tier
        if registration_consent_text is not None:  # rule E5
            account.registration_consent_text = registration_consent_text.strip()
        account.save()
        audit_record(
            kind=AuditKind.ACCOUNT_CHANGED,
            target_type="account",
            target_id=account.pk,
            target_label=account.name,
            before=before,
            after=_account_fields(account),
            actor=actor,
        )
    return account


def _account_fields(account: Account) -> dict:
    return {
        "name": account.name,
        "tier": account.tier,
        "registration_consent_text": account.registration_consent_text,
    }


def _brand_fields(brand: Brand) -> dict:
    return {"name": brand.name, "is_primary": brand.is_primary}


def _brand_audit(kind: str, brand: Brand, *, before=None, after=None, actor=None) -> None:
    audit_record(
        kind=kind,
        target_type="brand",
        target_id=brand.pk,
        target_label=brand.name,
        before=before,
        after=after,
        actor=actor,
    )


def brand_create(*, name: str, is_primary: bool = False, actor: User | None = None) -> Brand:
    """Creates a brand. The first brand is always primary; making a new brand primary
    demotes the previous one in the same transaction (exactly one primary, rule A1)."""
    name = (name or "").strip()
    if not name:
        message = gettext("A brand needs a name.")
        raise ValidationFailed(message, errors=[{"name": "name", "message": message}])
    with transaction.atomic():
        if not Brand.objects.exists():
            is_primary = True
        if Brand.objects.filter(name__iexact=name).exists():
            raise Conflict(_brand_name_taken(name))
        if is_primary:
            Brand.objects.filter(is_primary=True).update(is_primary=False)
        try:
            with transaction.atomic():
                brand = Brand.objects.create(name=name, is_primary=is_primary)
        except IntegrityError:
            raise Conflict(_brand_name_taken(name))
        _brand_audit(AuditKind.BRAND_CREATED, brand, after=_brand_fields(brand), actor=actor)
        return brand


def _brand_name_taken(name: str) -> str:
    return gettext("A brand named %(name)s already exists.") % {"name": repr(name)}


def brand_update(
    *,
    brand: Brand,
    name: str | None = None,
    is_primary: bool | None = None,
    actor: User | None = None,
) -> Brand:
    """Renames a brand or makes it the primary one (one audit entry: "made primary" when it
    became primary, "edited" otherwise; none when nothing changed)."""
    with transaction.atomic():
        before = _brand_fields(brand)
        if name is not None:
            name = name.strip()
            if not name:
                message = gettext("A brand needs a name.")
                raise ValidationFailed(message, errors=[{"name": "name", "message": message}])
            if Brand.objects.filter(name__iexact=name).exclude(pk=brand.pk).exists():
                raise Conflict(_brand_name_taken(name))
            brand.name = name
        if is_primary is True and not brand.is_primary:
            Brand.objects.filter(is_primary=True).update(is_primary=False)
            brand.is_primary = True
        elif is_primary is False and brand.is_primary:
            raise ValidationFailed(
                gettext("There must be one primary brand: make another brand primary instead."),
                errors=[
                    {
                        "name": "is_primary",
                        "message": gettext("Make another brand primary instead."),
                    }
                ],
            )
        brand.save()
        after = _brand_fields(brand)
        kind = (
            AuditKind.BRAND_MADE_PRIMARY
            if after["is_primary"] and not before["is_primary"]
            else AuditKind.BRAND_CHANGED
        )
        _brand_audit(kind, brand, before=before, after=after, actor=actor)
    return brand


def brand_holders(brand: Brand) -> list[str]:
    """What still refers to `brand` through a protected foreign key (its Zoom connection, its
    marketing events…), counted and in words; one COUNT per such relation."""
    held = []
    for relation in Brand._meta.related_objects:
        if relation.on_delete is not models.PROTECT:
            continue
        rows = relation.related_model._base_manager.filter(**{relation.field.name: brand})
        count = rows.count()
        if count:
            held.append(brand_holder_words(relation.related_model, count))
    return held


def _in_words(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return gettext("%(items)s and %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}


def brand_delete(*, brand: Brand, actor: User | None = None) -> None:
    """Deletes a brand that holds nothing. The primary brand, and a brand that still has data
    (a Zoom connection, marketing events: protected foreign keys, never deleted with it), are
    a `Conflict` saying what holds it; nothing is deleted then."""
    if brand.is_primary:
        raise Conflict(
            gettext("The primary brand cannot be deleted: make another brand primary first.")
        )
    holders = brand_holders(brand)
    if not holders:
        try:
            with transaction.atomic():
                before, brand_id = _brand_fields(brand), brand.pk
                brand.delete()
                brand.pk = brand_id  # the entry names the brand that was
                _brand_audit(AuditKind.BRAND_DELETED, brand, before=before, actor=actor)
            return
        except (ProtectedError, IntegrityError):  # something was attached to it meanwhile
            holders = brand_holders(brand) or [gettext("data added meanwhile")]
    raise Conflict(
        gettext("The brand “%(name)s” cannot be deleted: it still has %(holders)s.")
        % {"name": brand.name, "holders": _in_words(holders)}
    )


def _validate_user_fields(*, email: str | None, role: str | None) -> list[dict]:
    errors = []
    if email is not None:
        try:
            clean_value(STANDARD_BY_NAME["email"], email)
        except PropertyValueError as exc:
            errors.append({"name": "email", "message": str(exc)})
        if not normalize_email(email):
            errors.append({"name": "email", "message": gettext("An e-mail address is required.")})
    if role is not None and role not in Role.values:
        errors.append(
            {
                "name": "role",
                "message": gettext("Unknown role %(value)s: use one of %(choices)s")
                % {"value": repr(role), "choices": ", ".join(Role.values)},
            }
        )
    return errors


def _password_errors(password: str, *, user: User) -> list[dict]:
    """Django's validators (AUTH_PASSWORD_VALIDATORS), one error per failed rule, in the
    language of the request."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        return [{"name": "password", "message": message} for message in exc.messages]
    return []


def user_create(
    *,
    email: str,
    password: str | None = None,
    role: str = Role.VIEWER,
    first_name: str = "",
    last_name: str = "",
    actor: User | None = None,
) -> User:
    """Creates a user; without a password, the user cannot log in until one is set. A password
    must pass Django's validators (checked against the new user's e-mail and names)."""
    errors = _validate_user_fields(email=email, role=role)
    if password is not None:
        candidate = User(
            email=normalize_email(email), first_name=first_name.strip(), last_name=last_name.strip()
        )
        errors += _password_errors(password, user=candidate)
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    email = normalize_email(email)
    with transaction.atomic():
        if User.objects.filter(email=email).exists():
            raise Conflict(_user_email_taken(email))
        user = User(
            email=email,
            role=role,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            is_staff=role == Role.SUPER_ADMIN,
        )
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise Conflict(_user_email_taken(email))
        after = {"email": user.email, **_user_fields(user)}
        if password:
            after["password"] = user.password  # shown as a marker, never as a value
        _user_audit(AuditKind.USER_CREATED, user, after=after, actor=actor)
    return user


def _user_fields(user: User) -> dict:
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "is_active": user.is_active,
    }


def _user_audit(kind: str, user: User, *, before=None, after=None, actor=None) -> None:
    audit_record(
        kind=kind,
        target_type="user",
        target_id=user.pk,
        target_label=user.email,
        before=before,
        after=after,
        actor=actor,
    )


def _user_change_kind(before: dict, after: dict) -> str:
    """One entry per save: (de)activation says most, then a role change, then any edit."""
    if before["is_active"] != after["is_active"]:
        return AuditKind.USER_ACTIVATED if after["is_active"] else AuditKind.USER_DEACTIVATED
    if before["role"] != after["role"]:
        return AuditKind.USER_ROLE_CHANGED
    return AuditKind.USER_CHANGED


def _user_email_taken(email: str) -> str:
    return gettext("A user with e-mail %(email)s already exists.") % {"email": email}


def _other_active_super_admins(user: User) -> int:
    return User.objects.filter(role=Role.SUPER_ADMIN, is_active=True).exclude(pk=user.pk).count()


def user_update(
    *,
    user: User,
    role: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
    actor: User | None = None,
) -> User:
    """Changes a user. The last active super admin cannot be demoted or deactivated, so the
    account never locks itself out. A new password must pass Django's validators."""
    errors = _validate_user_fields(email=None, role=role)
    if password is not None:
        candidate = User(
            email=user.email,
            first_name=user.first_name if first_name is None else first_name.strip(),
            last_name=user.last_name if last_name is None else last_name.strip(),
        )
        errors += _password_errors(password, user=candidate)
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    with transaction.atomic():
        losing_admin = (
            user.role == Role.SUPER_ADMIN
            and user.is_active
            and ((role is not None and role != Role.SUPER_ADMIN) or is_active is False)
        )
        before = {**_user_fields(user), "password": user.password}
        if losing_admin and _other_active_super_admins(user) == 0:
            raise Conflict(
                gettext("This is the last super admin: make another user super admin first.")
            )
        if role is not None:
            user.role = role
            user.is_staff = role == Role.SUPER_ADMIN
        if first_name is not None:
            user.first_name = first_name.strip()
        if last_name is not None:
            user.last_name = last_name.strip()
        if is_active is not None:
            user.is_active = is_active
        if password:
            user.set_password(password)
        user.save()
        after = {**_user_fields(user), "password": user.password}
        _user_audit(_user_change_kind(before, after), user, before=before, after=after, actor=actor)
    return user


def user_get(*, user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(gettext("User %(id)s does not exist.") % {"id": user_id})
    return user


def user_set_language(*, user: User, language: str) -> User:
    """Sets the language the UI speaks to `user` (rule L1): a code of settings.LANGUAGES, or ""
    to follow the browser (the language cookie, then Accept-Language). Idempotent."""
    language = (language or "").strip().lower()
    if language and language not in language_codes():
        message = gettext("Choose one of the languages offered.")
        raise ValidationFailed(message, errors=[{"name": "language", "message": message}])
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
    return user


def user_set_alert_emails(*, user: User, enabled: bool) -> User:
    """Whether `user` receives alert e-mails (in-app notifications always come). Idempotent."""
    if user.alert_emails != bool(enabled):
        user.alert_emails = bool(enabled)
        user.save(update_fields=["alert_emails"])
    return user


__all__ = [
    "account_get",
    "account_update",
    "brand_create",
    "brand_update",
    "brand_delete",
    "brand_holders",
    "user_create",
    "user_update",
    "user_get",
    "user_set_language",
    "user_set_alert_emails",
]
