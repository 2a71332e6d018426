from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from ..errors import ValidationFailed
from ..models import ApiToken, AuditKind, User
from ..scopes import SCOPES, scopes_for_role
from .audit import audit_record

TOKEN_PREFIX = "crm_"


def hash_token(clear: str) -> str:
    return hashlib.sha256(clear.encode()).hexdigest()


def api_token_create(
    *, user: User, name: str, scopes: list[str] | None = None, actor: User | None = None
) -> tuple[ApiToken, str]:
    """Creates a token and returns it with its clear value, which is shown once and never
    stored (only its SHA-256 is). Without `scopes`, it gets every scope the user's role allows."""
    name = (name or "").strip() or gettext("API token")
    allowed = scopes_for_role(user.role)
    requested = sorted(set(scopes)) if scopes else allowed
    unknown = [s for s in requested if s not in SCOPES]
    if unknown:
        raise ValidationFailed(
            ngettext(
                "Unknown scope: %(scopes)s. Known scopes: %(known)s",
                "Unknown scopes: %(scopes)s. Known scopes: %(known)s",
                len(unknown),
            )
            % {"scopes": ", ".join(unknown), "known": ", ".join(sorted(SCOPES))},
            errors=[
                {"name": "scopes", "message": gettext("Unknown scope %(scope)s") % {"scope": s}}
                for s in unknown
            ],
        )
    refused = [s for s in requested if s not in allowed]
    if refused:
        raise ValidationFailed(
            gettext("The role %(role)s cannot hold: %(scopes)s")
            % {"role": user.get_role_display(), "scopes": ", ".join(refused)},
            errors=[
                {
                    "name": "scopes",
                    "message": gettext("Not allowed for this role: %(scope)s") % {"scope": s},
                }
                for s in refused
            ],
        )
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=clear[: len(TOKEN_PREFIX) + 6],
            token_hash=hash_token(clear),
            scopes=requested,
        )
        # The owner and scopes; the value and its hash never enter the audit trail.
        _token_audit(
            AuditKind.API_TOKEN_CREATED,
            token,
            after={"user": user.email, "scopes": requested},
            actor=actor,
        )
    return token, clear


def _token_audit(kind: str, token: ApiToken, *, before=None, after=None, actor=None) -> None:
    audit_record(
        kind=kind,
        target_type="api_token",
        target_id=token.pk,
        target_label=token.name,
        before=before,
        after=after,
        actor=actor,
    )


def api_token_revoke(*, token: ApiToken, actor: User | None = None) -> ApiToken:
    """Revokes a token. Idempotent: revoking a revoked token changes (and records) nothing."""
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            _token_audit(
                AuditKind.API_TOKEN_REVOKED,
                token,
                before={"revoked": False},
                after={"revoked": True},
                actor=actor,
            )
    return token


def api_token_authenticate(clear: str) -> ApiToken | None:
    """The live token with this clear value, or None."""
    if not clear:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=hash_token(clear), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Write the last-use time at most once a minute: reads stay cheap.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
