"""A `ZoomClient` for a connection, with its tokens kept (encrypted) on the connection row so
every worker shares them. Renewal happens under a row lock: Zoom rotates OAuth refresh tokens,
and two workers refreshing at once would kill the connection (zoom-api.md §4.2)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from crm.stored_text import encode, stored_text

from ..alerts import alert_needs_reauth
from ..client import OAuthApp, TokenSet, ZoomAuthError, ZoomClient
from ..client.oauth import RefreshingTokenSource
from ..models import ConnectionKind, ConnectionStatus, ZoomConnection

logger = logging.getLogger(__name__)


def oauth_redirect_uri() -> str:
    from django.urls import reverse

    return settings.PUBLIC_BASE_URL + reverse("zoom_integration:oauth_callback")


def oauth_app(*, client_id: str, client_secret: str) -> OAuthApp:
    return OAuthApp(
        oauth_base_url=settings.ZOOM_OAUTH_BASE_URL,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=oauth_redirect_uri(),
    )


def _stored_tokens(connection: ZoomConnection) -> TokenSet | None:
    if not connection.access_token or connection.access_token_expires_at is None:
        return None
    return TokenSet(
        access_token=connection.access_token,
        expires_at=connection.access_token_expires_at,
        refresh_token=connection.refresh_token,
    )


def connection_token_source(connection: ZoomConnection) -> RefreshingTokenSource:
    connection_id = connection.pk

    def load() -> TokenSet | None:
        row = ZoomConnection.objects.only(
            "access_token", "access_token_expires_at", "refresh_token"
        ).get(pk=connection_id)
        return _stored_tokens(row)

    def renew(current: TokenSet | None) -> TokenSet:
        failure: ZoomAuthError | None = None
        with transaction.atomic():
            row = ZoomConnection.objects.select_for_update().get(pk=connection_id)
            stored = _stored_tokens(row)
            if (
                stored is not None
                and stored.fresh()
                and (current is None or stored.access_token != current.access_token)
            ):
                return stored  # another worker renewed it meanwhile
            if row.status == ConnectionStatus.DISCONNECTED:
                raise ZoomAuthError(gettext("The Zoom connection is disconnected."))
            app = oauth_app(client_id=row.client_id, client_secret=row.client_secret)
            try:
                if row.kind == ConnectionKind.S2S:
                    tokens = app.account_credentials(account_id=row.zoom_account_id)
                else:
                    tokens = app.refresh(refresh_token=row.refresh_token)
            except ZoomAuthError as exc:
                failure = exc
            else:
                # Persist before use: the old refresh token is already dead at Zoom.
                row.access_token = tokens.access_token
                row.access_token_expires_at = tokens.expires_at
                if tokens.refresh_token:
                    row.refresh_token = tokens.refresh_token
                row.save(
                    update_fields=[
                        "access_token",
                        "access_token_expires_at",
                        "refresh_token",
                        "updated_at",
                    ]
                )
                return tokens
        connection_mark_needs_reauth(connection_id=connection_id, failure=failure)
        raise failure

    return RefreshingTokenSource(renew=renew, load=load)


def connection_mark_needs_reauth(*, connection_id: int, failure: ZoomAuthError) -> None:
    logger.warning(
        "zoom.connection.needs_reauth",
        extra={"connection": connection_id, "reason": failure.message},
    )
    last_error = refusal_text(failure)
    marked = (
        ZoomConnection.objects.filter(pk=connection_id)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .update(
            status=ConnectionStatus.NEEDS_REAUTH,
            last_error=last_error,
            access_token="",
            updated_at=timezone.now(),
        )
    )
    if marked:
        alert_needs_reauth(connection_id=connection_id, reason=failure.reason or failure.message)


def zoom_client(connection: ZoomConnection) -> ZoomClient:
    return ZoomClient(
        base_url=settings.ZOOM_API_BASE_URL,
        token_source=connection_token_source(connection),
        account_label=connection.zoom_account_id,
    )


def refusal_text(failure: ZoomAuthError) -> str:
    """What Zoom said when it refused the credentials, for `last_error`: a message id with Zoom's
    own words, translated when a person reads it (rule L1)."""
    if not failure.reason:
        return failure.message[:2000]
    return encode(
        stored_text(
            gettext_noop("Zoom refused the credentials: %(reason)s"),
            reason=failure.reason[:1000],
        )
    )
