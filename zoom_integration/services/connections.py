"""Connecting a brand to Zoom (rule A2), its settings (S1-S5) and per-user / per-webinar
toggles (S6). Credentials are checked against Zoom before anything is stored."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from crm.models import AuditKind, Brand, User
from crm.services.audit import audit_record

from ..alerts import clear_connection_alerts, clear_needs_reauth
from ..client import (
    StaticTokenSource,
    TokenSet,
    ZoomAuthError,
    ZoomClient,
    ZoomError,
    ZoomTransientError,
)
from ..domains import normalize_domains
from ..models import (
    ACTIVE_SYNC_STATUSES,
    ConnectionKind,
    ConnectionStatus,
    RecordingsSync,
    SyncStatus,
    ZoomConnection,
    ZoomPlan,
    ZoomUser,
    ZoomWebinar,
)
from .client import oauth_app, refusal_text

CREDENTIAL = re.compile(r"[\x21-\x7e]+")


class ZoomUnavailable(ApplicationError):
    status_code = 502
    category = "ZOOM_UNAVAILABLE"


def _require(**fields: str) -> None:
    errors = [
        {"name": name, "message": _("This field is required.")}
        for name, value in fields.items()
        if not (value or "").strip()
    ]
    if errors:
        raise ValidationFailed(
            _("Missing: %(fields)s") % {"fields": ", ".join(e["name"] for e in errors)},
            errors=errors,
        )
    # Zoom's ids and secrets are printable ASCII; anything else cannot even be sent (HTTP Basic
    # authentication is Latin-1), and was a 500.
    bad = [name for name, value in fields.items() if not CREDENTIAL.fullmatch(value.strip())]
    if bad:
        raise ValidationFailed(
            _("Zoom credentials are letters, digits and punctuation, without spaces: %(fields)s")
            % {"fields": ", ".join(bad)},
            errors=[
                {"name": name, "message": _("Letters, digits and punctuation only, no spaces.")}
                for name in bad
            ],
        )


def _reusable_connection(brand: Brand) -> ZoomConnection | None:
    """A brand has one connection; a new one may replace it only once it is not connected."""
    existing = ZoomConnection.objects.filter(brand=brand).first()
    if existing is not None and existing.status == ConnectionStatus.CONNECTED:
        raise Conflict(
            _(
                "The brand %(brand)s is already connected to Zoom account %(account)s; "
                "disconnect it first."
            )
            % {"brand": brand.name, "account": existing.zoom_account_id},
            connection_id=existing.pk,
        )
    return existing


def _check_account_not_taken(zoom_account_id: str, brand: Brand) -> None:
    other = (
        ZoomConnection.objects.filter(zoom_account_id=zoom_account_id)
        .exclude(brand=brand)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .select_related("brand")
        .first()
    )
    if other is not None:
        raise Conflict(
            _(
                "Zoom account %(account)s is already connected to the brand %(brand)s: each "
                "brand connects its own Zoom account."
            )
            % {"account": zoom_account_id, "brand": other.brand.name}
        )


# What connecting writes (the S2S form and the OAuth callback alike), besides the credentials.
CONNECTED_FIELDS = (
    "access_token",
    "access_token_expires_at",
    "connected_user_id",
    "connected_user_email",
    "status",
    "connected_at",
    "disconnected_at",
    "last_error",
    "oauth_state",
    "webhook_secret_token",
)


def _write(connection: ZoomConnection, fields: tuple[str, ...] | list[str]) -> None:
    """Writes only `fields` of a stored connection (a new one is inserted whole). A connection
    row is written by several processes: workers rotate its tokens (`services.client`) or mark
    it as needing re-authorization while a request that read it earlier saves settings. Saving
    every column would put the dead refresh token back and cost the connection (DESIGN
    "Production safety"), so no write here ever names a field it did not mean to change."""
    if connection.pk is None:
        connection.save()
        return
    connection.updated_at = timezone.now()
    values = {name: getattr(connection, name) for name in (*fields, "updated_at")}
    if not ZoomConnection.objects.filter(pk=connection.pk).update(**values):
        raise NotFound(_("Zoom connection %(id)s does not exist any more.") % {"id": connection.pk})


# What the audit trail shows of a connection (secrets as markers: crm.services.audit).
AUDITED_CONNECTION_FIELDS = (
    "kind",
    "status",
    "zoom_account_id",
    "client_id",
    "client_secret",
    "webhook_secret_token",
    "connected_user_email",
)


def _connection_fields(connection: ZoomConnection | None) -> dict:
    if connection is None:
        return {}
    return {name: getattr(connection, name) for name in AUDITED_CONNECTION_FIELDS}


def _connection_audit(
    kind: str, connection: ZoomConnection, *, before: dict, actor: User | None, fields=None
) -> None:
    after = _connection_fields(connection)
    if fields is not None:  # the action touches only these: compare only them
        after = {name: after[name] for name in fields}
        before = {name: value for name, value in before.items() if name in fields}
    audit_record(
        kind=kind,
        target_type="zoom_connection",
        target_id=connection.pk,
        target_label=connection.brand.name,
        before=before,
        after=after,
        actor=actor,
    )


def _connect_kind(before: dict) -> str:
    """Connecting a connection that needed re-authorization is a re-authorization."""
    if before.get("status") == ConnectionStatus.NEEDS_REAUTH:
        return AuditKind.ZOOM_REAUTHORIZED
    return AuditKind.ZOOM_CONNECTED


def _who_authorized(tokens: TokenSet) -> dict:
    from django.conf import settings

    client = ZoomClient(
        base_url=settings.ZOOM_API_BASE_URL, token_source=StaticTokenSource(tokens.access_token)
    )
    try:
        return client.get_user("me")
    except ZoomTransientError as exc:
        raise ZoomUnavailable(_("Zoom could not be reached: %(error)s") % {"error": exc})
    except ZoomError as exc:
        raise ValidationFailed(
            _("Zoom refused to describe the connected user: %(error)s") % {"error": exc}
        )


def connection_create_s2s(
    *,
    brand: Brand,
    account_id: str,
    client_id: str,
    client_secret: str,
    webhook_secret_token: str = "",
    actor: User | None = None,
) -> ZoomConnection:
    """Connects a brand with Server-to-Server OAuth. The credentials are tried first: refused
    ones raise `ValidationFailed` and store nothing. The connected user is `GET /users/me`."""
    _require(account_id=account_id, client_id=client_id, client_secret=client_secret)
    account_id, client_id = account_id.strip(), client_id.strip()
    existing = _reusable_connection(brand)
    _check_account_not_taken(account_id, brand)
    app = oauth_app(client_id=client_id, client_secret=client_secret.strip())
    try:
        tokens = app.account_credentials(account_id=account_id)
    except ZoomAuthError as exc:
        raise ValidationFailed(
            exc.message, errors=[{"name": "client_secret", "message": exc.message}]
        )
    except ZoomTransientError as exc:
        raise ZoomUnavailable(_("Zoom could not be reached: %(error)s") % {"error": exc})
    me = _who_authorized(tokens)
    with transaction.atomic():
        before = _connection_fields(existing)
        connection = existing or ZoomConnection(brand=brand)
        connection.kind = ConnectionKind.S2S
        connection.zoom_account_id = me.get("account_id") or account_id
        connection.client_id = client_id
        connection.client_secret = client_secret.strip()
        connection.refresh_token = ""
        _mark_connected(connection, tokens, me, webhook_secret_token)
        _write(
            connection,
            ("kind", "zoom_account_id", "client_id", "client_secret", "refresh_token")
            + CONNECTED_FIELDS,
        )
        clear_needs_reauth(connection_id=connection.pk)
        _connection_audit(_connect_kind(before), connection, before=before, actor=actor)
    _queue_metadata_refresh(connection)
    return connection


def _mark_connected(
    connection: ZoomConnection, tokens: TokenSet, me: dict, webhook_secret_token: str
) -> None:
    connection.access_token = tokens.access_token
    connection.access_token_expires_at = tokens.expires_at
    connection.connected_user_id = me.get("id", "")
    connection.connected_user_email = (me.get("email") or "").strip().lower()
    connection.status = ConnectionStatus.CONNECTED
    connection.connected_at = timezone.now()
    connection.disconnected_at = None
    connection.last_error = ""
    connection.oauth_state = ""
    if webhook_secret_token.strip():
        connection.webhook_secret_token = webhook_secret_token.strip()


def connection_start_oauth(
    *,
    brand: Brand,
    client_id: str,
    client_secret: str,
    webhook_secret_token: str = "",
    actor: User | None = None,
) -> tuple[ZoomConnection, str]:
    """Starts the authorization-code flow: stores the app's credentials with a fresh state and
    returns the Zoom authorize URL to send the admin to. Also used to re-authorize."""
    _require(client_id=client_id, client_secret=client_secret)
    existing = _reusable_connection(brand)
    with transaction.atomic():
        before = _connection_fields(existing)
        connection = existing or ZoomConnection(brand=brand)
        connection.kind = ConnectionKind.OAUTH
        connection.client_id = client_id.strip()
        connection.client_secret = client_secret.strip()
        if connection.status != ConnectionStatus.NEEDS_REAUTH:
            connection.status = ConnectionStatus.PENDING
        connection.oauth_state = secrets.token_urlsafe(24)
        if webhook_secret_token.strip():
            connection.webhook_secret_token = webhook_secret_token.strip()
        # The tokens are left alone: a re-authorization replaces them once Zoom answers.
        _write(
            connection,
            ("kind", "client_id", "client_secret", "status", "oauth_state", "webhook_secret_token"),
        )
        _connection_audit(
            AuditKind.ZOOM_AUTHORIZATION_STARTED,
            connection,
            before=before,
            actor=actor,
            fields=("kind", "status", "client_id", "client_secret", "webhook_secret_token"),
        )
    app = oauth_app(client_id=connection.client_id, client_secret=connection.client_secret)
    return connection, app.authorize_url(state=connection.oauth_state)


def connection_complete_oauth(
    *, state: str, code: str, actor: User | None = None
) -> ZoomConnection:
    """The OAuth callback: swaps the code for tokens, records who authorized, connects."""
    if not state or not code:
        raise ValidationFailed(_("The Zoom authorization answer lacks its code or state."))
    connection = ZoomConnection.objects.filter(oauth_state=state).select_related("brand").first()
    if connection is None:
        raise NotFound(
            _(
                "This Zoom authorization is unknown or was already used; start again "
                "from Settings > Integrations > Zoom."
            )
        )
    app = oauth_app(client_id=connection.client_id, client_secret=connection.client_secret)
    try:
        tokens = app.exchange_code(code=code)
    except ZoomAuthError as exc:
        ZoomConnection.objects.filter(pk=connection.pk).update(last_error=refusal_text(exc))
        raise ValidationFailed(
            _("Zoom refused the authorization: %(error)s") % {"error": exc.message}
        )
    except ZoomTransientError as exc:
        raise ZoomUnavailable(_("Zoom could not be reached: %(error)s") % {"error": exc})
    me = _who_authorized(tokens)
    account_id = me.get("account_id", "")
    _check_account_not_taken(account_id, connection.brand)
    with transaction.atomic():
        before = _connection_fields(connection)
        connection.zoom_account_id = account_id
        connection.refresh_token = tokens.refresh_token
        _mark_connected(connection, tokens, me, "")
        _write(connection, ("zoom_account_id", "refresh_token") + CONNECTED_FIELDS)
        clear_needs_reauth(connection_id=connection.pk)
        _connection_audit(_connect_kind(before), connection, before=before, actor=actor)
    _queue_metadata_refresh(connection)
    return connection


def connection_disconnect(
    *, connection: ZoomConnection, actor: User | None = None
) -> ZoomConnection:
    """Stops all syncing and keeps the data: tokens are dropped, cached users, webinars and
    synced records stay. Queued runs are ended as skipped. Idempotent (disconnecting a
    disconnected connection records nothing)."""
    with transaction.atomic():
        before = {"status": connection.status}
        connection.status = ConnectionStatus.DISCONNECTED
        connection.disconnected_at = timezone.now()
        connection.access_token = ""
        connection.access_token_expires_at = None
        connection.refresh_token = ""
        connection.oauth_state = ""
        _write(
            connection,
            (
                "status",
                "disconnected_at",
                "access_token",
                "access_token_expires_at",
                "refresh_token",
                "oauth_state",
            ),
        )
        connection.sync_runs.filter(status__in=ACTIVE_SYNC_STATUSES).update(
            status=SyncStatus.SKIPPED, errors=["disconnected"], finished_at=timezone.now()
        )
        # Disconnected on purpose: nothing of it is a problem to be told about any more.
        clear_connection_alerts(connection_id=connection.pk)
        _connection_audit(
            AuditKind.ZOOM_DISCONNECTED, connection, before=before, actor=actor, fields=["status"]
        )
    return connection


SETTINGS_DOMAIN_FIELDS = (
    "webinar_exclusion_domains",
    "recording_exclusion_domains",
    "contact_exclusion_domains",
)


def connection_settings_update(
    *, connection: ZoomConnection, actor: User | None = None, **changes: Any
) -> ZoomConnection:
    """Changes the global settings (S1-S5). Domains are normalized (S7); any bad value raises
    `ValidationFailed` naming its field and nothing is saved. Only the settings changed are
    written: tokens and status stay as other processes left them (`_write`). One audit entry
    lists the settings whose values changed; a save that changes nothing records nothing."""
    allowed = {"sync_webinar_data", "recordings_sync", "zoom_plan", *SETTINGS_DOMAIN_FIELDS}
    unknown = sorted(set(changes) - allowed)
    errors: list[dict] = [{"name": name, "message": _("Unknown setting.")} for name in unknown]
    cleaned: dict[str, Any] = {}
    if changes.get("sync_webinar_data") is not None:
        if not isinstance(changes["sync_webinar_data"], bool):
            errors.append({"name": "sync_webinar_data", "message": _("Must be true or false.")})
        cleaned["sync_webinar_data"] = changes["sync_webinar_data"]
    if changes.get("recordings_sync") is not None:
        if changes["recordings_sync"] not in RecordingsSync.values:
            errors.append(
                {
                    "name": "recordings_sync",
                    "message": _("Choose one of: %(choices)s")
                    % {"choices": ", ".join(RecordingsSync.values)},
                }
            )
        cleaned["recordings_sync"] = changes["recordings_sync"]
    if changes.get("zoom_plan") is not None:
        # The plan sets the client-side rate limits (zoom-api.md §5).
        if changes["zoom_plan"] not in ZoomPlan.values:
            errors.append(
                {
                    "name": "zoom_plan",
                    "message": _("Choose one of: %(choices)s")
                    % {"choices": ", ".join(ZoomPlan.values)},
                }
            )
        cleaned["zoom_plan"] = changes["zoom_plan"]
    for name in SETTINGS_DOMAIN_FIELDS:
        if changes.get(name) is None:
            continue
        value = changes[name]
        if isinstance(value, str):
            value = value.replace(",", "\n").splitlines()
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            errors.append({"name": name, "message": _("Must be a list of domains.")})
            continue
        domains, problems = normalize_domains(value)
        errors.extend({"name": name, "message": problem} for problem in problems)
        cleaned[name] = domains
    if errors:
        raise ValidationFailed(
            "; ".join(f"{e['name']}: {e['message']}" for e in errors), errors=errors
        )
    before = {name: getattr(connection, name) for name in cleaned}
    with transaction.atomic():
        for name, value in cleaned.items():
            setattr(connection, name, value)
        _write(connection, list(cleaned))
        audit_record(
            kind=AuditKind.ZOOM_SETTINGS_CHANGED,
            target_type="zoom_connection",
            target_id=connection.pk,
            target_label=connection.brand.name,
            before=before,
            after=cleaned,
            actor=actor,
        )
    return connection


def zoom_user_update(
    *,
    zoom_user: ZoomUser,
    sync_new_webinars_by_default: bool | None = None,
    sync_recordings: bool | None = None,
    actor: User | None = None,
) -> ZoomUser:
    """Per-user settings (S6). Changing the default does not touch webinars already seen."""
    fields = ("sync_new_webinars_by_default", "sync_recordings")
    before = {name: getattr(zoom_user, name) for name in fields}
    for name, value in (
        ("sync_new_webinars_by_default", sync_new_webinars_by_default),
        ("sync_recordings", sync_recordings),
    ):
        if value is not None:
            if not isinstance(value, bool):
                raise ValidationFailed(
                    _("%(name)s must be true or false.") % {"name": name},
                    errors=[{"name": name, "message": _("Must be true or false.")}],
                )
            setattr(zoom_user, name, value)
    with transaction.atomic():
        zoom_user.save(update_fields=list(fields))
        audit_record(
            kind=AuditKind.ZOOM_USER_CHANGED,
            target_type="zoom_user",
            target_id=zoom_user.zoom_user_id,
            target_label=zoom_user.email,
            before=before,
            after={name: getattr(zoom_user, name) for name in fields},
            actor=actor,
        )
    return zoom_user


def zoom_webinar_update(
    *, webinar: ZoomWebinar, sync_enabled: bool, actor: User | None = None
) -> ZoomWebinar:
    if not isinstance(sync_enabled, bool):
        raise ValidationFailed(
            _("%(name)s must be true or false.") % {"name": "sync_enabled"},
            errors=[{"name": "sync_enabled", "message": _("Must be true or false.")}],
        )
    before = {"sync_enabled": webinar.sync_enabled}
    with transaction.atomic():
        webinar.sync_enabled = sync_enabled
        webinar.save(update_fields=["sync_enabled"])
        audit_record(
            kind=AuditKind.ZOOM_WEBINAR_CHANGED,
            target_type="zoom_webinar",
            target_id=webinar.zoom_webinar_id,
            target_label=webinar.topic,
            before=before,
            after={"sync_enabled": sync_enabled},
            actor=actor,
        )
    return webinar


def _queue_metadata_refresh(connection: ZoomConnection) -> None:
    from .metadata import connection_metadata_refresh_queue

    connection_metadata_refresh_queue(connection=connection)
