"""OAuth as Zoom's token endpoint does it (zoom-api.md §4).

- ``account_credentials`` (Server-to-Server): Basic ``client_id:client_secret``, parameters in the
  query string or the form body, a 1-hour token, no refresh token.
- ``authorization_code`` then ``refresh_token``: every refresh rotates the refresh token; a used
  one answers ``400 {"reason":"Invalid Token!","error":"invalid_request"}`` (Zoom support article).
- Codes are single-use and live 5 minutes; the redirect URI must match exactly.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import OAuthError
from .store import Account, Store

ACCESS_TOKEN_LIFETIME = 3600
CODE_LIFETIME = 300
SCOPES = (
    "user:read:admin webinar:read:admin webinar:write:admin report:read:admin recording:read:admin"
)


@dataclass(slots=True)
class AccessToken:
    account_id: str
    user_id: str | None  # the authorizing user for OAuth apps; None for S2S (→ the owner)
    client_id: str
    expires_at: float


@dataclass(slots=True)
class Grant:
    """An authorization code or a refresh token, tied to one app and one user."""

    account_id: str
    user_id: str
    client_id: str
    redirect_uri: str
    issued_at: float
    used: bool = False


class OAuth:
    def __init__(self, store: Store, now: Callable[[], float]) -> None:
        self._store = store
        self._now = now
        self.access: dict[str, AccessToken] = {}
        self._codes: dict[str, Grant] = {}
        self._refresh: dict[str, Grant] = {}

    def reset(self) -> None:
        self.access.clear()
        self._codes.clear()
        self._refresh.clear()

    def forget_account(self, account_id: str) -> None:
        """Replacing an account invalidates its tokens, codes and refresh tokens."""
        for table in (self.access, self._codes, self._refresh):
            for key in [k for k, v in table.items() if v.account_id == account_id]:
                del table[key]

    def expire_all(self, account_id: str | None = None) -> int:
        doomed = [
            k for k, v in self.access.items() if account_id is None or v.account_id == account_id
        ]
        for key in doomed:
            del self.access[key]
        return len(doomed)

    def authenticate(self, token: str) -> AccessToken | None:
        entry = self.access.get(token)
        if entry is None or entry.expires_at <= self._now():
            return None
        return entry

    # -- apps --------------------------------------------------------------------------------
    def find_app(self, client_id: str, app_type: str) -> tuple[Account, dict[str, Any]] | None:
        for account in self._store.accounts.values():
            for app in account.data["apps"]:
                if app.get("client_id") == client_id and app.get("type") == app_type:
                    return account, app
        return None

    def _client(self, authorization: str, app_type: str) -> tuple[Account, dict[str, Any]]:
        client_id, secret = basic_credentials(authorization)
        found = self.find_app(client_id, app_type) if client_id else None
        if found is None or found[1].get("client_secret") != secret:
            raise OAuthError(400, "Invalid client_id or client_secret", "invalid_client")
        return found

    # -- grants ------------------------------------------------------------------------------
    def token(self, params: dict[str, str], authorization: str, api_url: str) -> dict[str, Any]:
        grant_type = params.get("grant_type", "")
        if grant_type == "account_credentials":
            account, app = self._client(authorization, "s2s")
            if params.get("account_id") != account.id:
                raise OAuthError(400, "Account does not exist", "invalid_request")
            return self._issue(account.id, None, app["client_id"], api_url, refresh=False)
        if grant_type == "authorization_code":
            account, app = self._client(authorization, "oauth")
            grant = self._codes.pop(params.get("code", ""), None)
            if (
                grant is None
                or grant.client_id != app["client_id"]
                or self._now() - grant.issued_at > CODE_LIFETIME
            ):
                raise OAuthError(400, "Invalid authorization code", "invalid_request")
            if params.get("redirect_uri", "") != grant.redirect_uri:
                raise OAuthError(400, "Redirect URI mismatch.", "invalid_request")
            return self._issue(account.id, grant.user_id, app["client_id"], api_url, refresh=True)
        if grant_type == "refresh_token":
            account, app = self._client(authorization, "oauth")
            grant = self._refresh.get(params.get("refresh_token", ""))
            if grant is None or grant.used or grant.client_id != app["client_id"]:
                raise OAuthError(400, "Invalid Token!", "invalid_request")
            grant.used = True  # rotation: only the newest refresh token works
            return self._issue(account.id, grant.user_id, app["client_id"], api_url, refresh=True)
        raise OAuthError(400, "Unsupported grant type", "unsupported_grant_type")

    def _issue(
        self, account_id: str, user_id: str | None, client_id: str, api_url: str, *, refresh: bool
    ) -> dict[str, Any]:
        now = self._now()
        token = secrets.token_urlsafe(32)
        self.access[token] = AccessToken(
            account_id, user_id, client_id, now + ACCESS_TOKEN_LIFETIME
        )
        body: dict[str, Any] = {"access_token": token, "token_type": "bearer"}
        if refresh:
            refresh_token = secrets.token_urlsafe(32)
            self._refresh[refresh_token] = Grant(account_id, user_id or "", client_id, "", now)
            body["refresh_token"] = refresh_token
        body.update({"expires_in": ACCESS_TOKEN_LIFETIME, "scope": SCOPES, "api_url": api_url})
        return body

    def issue_code(self, account: Account, client_id: str, user_id: str, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(24)
        self._codes[code] = Grant(account.id, user_id, client_id, redirect_uri, self._now())
        return code


def basic_credentials(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return "", ""
    try:
        decoded = base64.b64decode(encoded.strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return client_id, secret
