"""OAuth: Server-to-Server tokens, their 1-hour life, and the authorization-code flow."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx

from tests.zoom_sandbox.helpers import bearer, s2s_token

INVALID_TOKEN = {"code": 124, "message": "Invalid access token."}


def test_s2s_token_shape_and_use(loaded: httpx.Client) -> None:
    response = loaded.post(
        "/oauth/token",
        data={"grant_type": "account_credentials", "account_id": "acct_demo"},
        auth=("s2s-client", "s2s-secret"),
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "api_url"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["api_url"] == str(loaded.base_url).rstrip("/")
    me = loaded.get("/v2/users/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == "u_owner"  # S2S "me" is the account owner


def test_s2s_bad_credentials_and_wrong_account(loaded: httpx.Client) -> None:
    bad = loaded.post(
        "/oauth/token",
        params={"grant_type": "account_credentials", "account_id": "acct_demo"},
        auth=("s2s-client", "wrong"),
    )
    assert (bad.status_code, bad.json()) == (
        400,
        {"reason": "Invalid client_id or client_secret", "error": "invalid_client"},
    )
    wrong = loaded.post(
        "/oauth/token",
        params={"grant_type": "account_credentials", "account_id": "acct_other"},
        auth=("s2s-client", "s2s-secret"),
    )
    assert (wrong.status_code, wrong.json()) == (
        400,
        {"reason": "Account does not exist", "error": "invalid_request"},
    )


def test_missing_and_unknown_tokens(loaded: httpx.Client) -> None:
    missing = loaded.get("/v2/users")
    assert (missing.status_code, missing.json()) == (
        401,
        {"code": 124, "message": "Requires an access token."},
    )
    unknown = loaded.get("/v2/users", headers=bearer("nope"))
    assert (unknown.status_code, unknown.json()) == (401, INVALID_TOKEN)


def test_token_expires_after_an_hour(loaded: httpx.Client) -> None:
    token = s2s_token(loaded)
    loaded.post("/_sandbox/clock", json={"advance_seconds": 3599}).raise_for_status()
    assert loaded.get("/v2/users", headers=bearer(token)).status_code == 200
    loaded.post("/_sandbox/clock", json={"advance_seconds": 2}).raise_for_status()
    expired = loaded.get("/v2/users", headers=bearer(token))
    assert (expired.status_code, expired.json()) == (401, INVALID_TOKEN)
    assert loaded.get("/v2/users", headers=bearer(s2s_token(loaded))).status_code == 200


def test_expire_tokens_control_call(loaded: httpx.Client) -> None:
    token = s2s_token(loaded)
    other = s2s_token(loaded, "acct_other", "other-client", "other-secret")
    answer = loaded.post("/_sandbox/tokens/expire", json={"account_id": "acct_demo"})
    assert answer.json() == {"expired": 1}
    assert loaded.get("/v2/users", headers=bearer(token)).status_code == 401
    assert loaded.get("/v2/users", headers=bearer(other)).status_code == 200


def _authorize(client: httpx.Client, user_id: str = "u_host", state: str = "xyz") -> str:
    query = {
        "response_type": "code",
        "client_id": "oauth-client",
        "redirect_uri": "http://127.0.0.1:8000/cb/",
        "state": state,
    }
    page = client.get("/oauth/authorize", params=query)
    assert page.status_code == 200
    assert 'name="user_id"' in page.text and "host@events.acme.test" in page.text
    form = {k: query[k] for k in ("client_id", "redirect_uri", "state")} | {"user_id": user_id}
    answer = client.post("/oauth/authorize", data=form, follow_redirects=False)
    assert answer.status_code == 302
    location = urlparse(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == "http://127.0.0.1:8000/cb/"
    params = parse_qs(location.query)
    assert params["state"] == [state]
    return params["code"][0]


def _exchange(client: httpx.Client, **params: str) -> httpx.Response:
    return client.post("/oauth/token", params=params, auth=("oauth-client", "oauth-secret"))


def test_authorization_code_flow_with_rotating_refresh_tokens(loaded: httpx.Client) -> None:
    code = _authorize(loaded)
    first = _exchange(
        loaded, grant_type="authorization_code", code=code, redirect_uri="http://127.0.0.1:8000/cb/"
    )
    assert first.status_code == 200
    tokens = first.json()
    assert tokens["expires_in"] == 3600 and tokens["refresh_token"]
    me = loaded.get("/v2/users/me", headers=bearer(tokens["access_token"]))
    assert me.json()["email"] == "host@events.acme.test"  # "me" is the user who authorized

    reused_code = _exchange(
        loaded, grant_type="authorization_code", code=code, redirect_uri="http://127.0.0.1:8000/cb/"
    )
    assert reused_code.status_code == 400

    second = _exchange(loaded, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != tokens["refresh_token"]
    reused = _exchange(loaded, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (reused.status_code, reused.json()) == (
        400,
        {"reason": "Invalid Token!", "error": "invalid_request"},
    )
    third = _exchange(
        loaded, grant_type="refresh_token", refresh_token=second.json()["refresh_token"]
    )
    assert third.status_code == 200


def test_authorization_code_needs_the_same_redirect_uri(loaded: httpx.Client) -> None:
    code = _authorize(loaded)
    answer = _exchange(
        loaded, grant_type="authorization_code", code=code, redirect_uri="http://evil.test/cb/"
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    bad_page = loaded.get(
        "/oauth/authorize",
        params={"client_id": "oauth-client", "redirect_uri": "http://evil.test/", "state": "s"},
    )
    assert bad_page.status_code == 400
