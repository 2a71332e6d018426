"""Zoom OAuth: Server-to-Server (account credentials) and the authorization-code flow with
rotating refresh tokens (zoom-api.md §4), and token sources that cache an access token until
shortly before it expires."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlencode

import requests

from .errors import ZoomAuthError, ZoomTransientError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (5.0, 30.0)  # connect, read
# Renew a token this long before Zoom says it expires, so a request never carries a token
# that dies in flight.
EXPIRY_SKEW = dt.timedelta(seconds=60)
EXPIRED = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    expires_at: dt.datetime
    refresh_token: str = ""
    scope: str = ""

    def fresh(self, now: dt.datetime | None = None) -> bool:
        return bool(self.access_token) and (now or utcnow()) < self.expires_at - EXPIRY_SKEW


@dataclass(frozen=True)
class OAuthApp:
    """A Zoom app's OAuth client: `oauth_base_url` is https://zoom.us or the sandbox's."""

    oauth_base_url: str
    client_id: str
    client_secret: str
    redirect_uri: str = ""
    timeout: tuple[float, float] = DEFAULT_TIMEOUT

    def authorize_url(self, *, state: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "state": state,
            }
        )
        return f"{self.oauth_base_url.rstrip('/')}/oauth/authorize?{query}"

    def account_credentials(self, *, account_id: str, session=None) -> TokenSet:
        """Server-to-Server token (1 hour, no refresh token)."""
        return self._token_request(
            {"grant_type": "account_credentials", "account_id": account_id}, session=session
        )

    def exchange_code(self, *, code: str, session=None) -> TokenSet:
        return self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri},
            session=session,
        )

    def refresh(self, *, refresh_token: str, session=None) -> TokenSet:
        """Zoom rotates refresh tokens: the returned set carries the new one, and the old one
        is dead from now on, so the caller must persist it before using the access token."""
        return self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, session=session
        )

    def _token_request(self, form: dict, *, session=None) -> TokenSet:
        http = session or requests
        url = f"{self.oauth_base_url.rstrip('/')}/oauth/token"
        try:
            response = http.post(
                url, data=form, auth=(self.client_id, self.client_secret), timeout=self.timeout
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ZoomTransientError(f"Zoom's token endpoint is unreachable: {exc}")
        if response.status_code >= 500 or response.status_code == 429:
            raise ZoomTransientError("Zoom's token endpoint failed", status=response.status_code)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            reason = body.get("reason") or body.get("error") or response.text[:200]
            logger.warning(
                "zoom.oauth.refused",
                extra={
                    "grant_type": form["grant_type"],
                    "status": response.status_code,
                    "reason": reason,
                },
            )
            raise ZoomAuthError(
                f"Zoom refused the credentials: {reason}",
                reason=str(reason),
                needs_reauthorization=True,
                status=response.status_code,
                body=body,
            )
        expires_in = int(body.get("expires_in") or 3600)
        return TokenSet(
            access_token=body["access_token"],
            expires_at=utcnow() + dt.timedelta(seconds=expires_in),
            refresh_token=body.get("refresh_token", ""),
            scope=body.get("scope", ""),
        )


class StaticTokenSource:
    """A fixed token (tests, scripts)."""

    def __init__(self, token: str):
        self._token = token

    def access_token(self) -> str:
        return self._token

    def invalidate(self) -> None:  # nothing to renew
        pass


class RefreshingTokenSource:
    """Caches a `TokenSet`; renews it through `renew(current)` when it is about to expire or
    was refused. `load`/`save` let the caller share tokens between workers (e.g. encrypted
    in the database, under a row lock)."""

    def __init__(
        self,
        *,
        renew: Callable[[TokenSet | None], TokenSet],
        load: Callable[[], TokenSet | None] | None = None,
        save: Callable[[TokenSet], None] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ):
        self._renew = renew
        self._load = load
        self._save = save
        self._clock = clock
        self._tokens: TokenSet | None = None
        self._lock = threading.Lock()

    def access_token(self) -> str:
        with self._lock:
            if self._tokens is None and self._load is not None:
                self._tokens = self._load()
            if self._tokens is None or not self._tokens.fresh(self._clock()):
                self._tokens = self._renew(self._tokens)
                if self._save is not None:
                    self._save(self._tokens)
            return self._tokens.access_token

    def invalidate(self) -> None:
        with self._lock:
            if self._tokens is not None:
                self._tokens = replace(self._tokens, expires_at=EXPIRED)


class S2STokenSource(RefreshingTokenSource):
    def __init__(self, app: OAuthApp, *, account_id: str, **kwargs):
        super().__init__(
            renew=lambda _current: app.account_credentials(account_id=account_id), **kwargs
        )
