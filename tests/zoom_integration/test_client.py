"""The Zoom client against mocked HTTP (`responses`): typed errors, token renewal, pagination,
UUID encoding, no retries. Integration against the sandbox lives in test_client_sandbox.py."""

import datetime as dt
import json
import logging

import pytest
import requests
import responses
from responses import matchers

from zoom_integration.client import (
    OAuthApp,
    S2STokenSource,
    StaticTokenSource,
    ZoomAuthError,
    ZoomClient,
    ZoomNotFound,
    ZoomPageTokenExpired,
    ZoomRateLimited,
    ZoomTransientError,
    ZoomValidationError,
    encode_uuid,
)
from zoom_integration.client.api import parse_retry_after
from zoom_integration.client.oauth import RefreshingTokenSource, TokenSet

API = "https://zoom.test/v2"
OAUTH = "https://zoom.test"


def client(token="tok") -> ZoomClient:
    return ZoomClient(base_url=API, token_source=StaticTokenSource(token))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (81234567890, "81234567890"),
        ("m3WqMkvuRXyYqH+eKWhk9w==", "m3WqMkvuRXyYqH%2BeKWhk9w%3D%3D"),
        # Zoom: a UUID beginning with '/' or containing '//' must be encoded twice.
        ("/ajXp112QmuoKj4854875==", "%252FajXp112QmuoKj4854875%253D%253D"),
        ("ab//cd==", "ab%252F%252Fcd%253D%253D"),
        ("/abc==", "%252Fabc%253D%253D"),
        ("a//b==", "a%252F%252Fb%253D%253D"),
    ],
)
def test_encode_uuid(value, expected):
    assert encode_uuid(value) == expected


@responses.activate
def test_double_encoded_uuid_reaches_zoom_verbatim():
    responses.get(
        f"{API}/past_webinars/%252Fab%252F%252Fc%253D%253D/instances",
        json={"webinars": [{"uuid": "/ab//c=="}]},
    )
    assert client().past_instances("/ab//c==") == [{"uuid": "/ab//c=="}]


@responses.activate
def test_pagination_follows_next_page_token_until_empty_or_missing():
    url = f"{API}/webinars/1/registrants"
    responses.get(
        url,
        match=[matchers.query_param_matcher({"page_size": "300", "status": "approved"})],
        json={"registrants": [{"id": "a"}, {"id": "b"}], "next_page_token": "t1"},
    )
    responses.get(
        url,
        match=[
            matchers.query_param_matcher(
                {"page_size": "300", "status": "approved", "next_page_token": "t1"}
            )
        ],
        json={"registrants": [{"id": "c"}], "next_page_token": "t2"},
    )
    responses.get(
        url,
        match=[
            matchers.query_param_matcher(
                {"page_size": "300", "status": "approved", "next_page_token": "t2"}
            )
        ],
        json={"registrants": [{"id": "d"}], "next_page_token": ""},
    )
    pages = list(client().registrant_pages(1))
    assert [[r["id"] for r in p["registrants"]] for p in pages] == [["a", "b"], ["c"], ["d"]]


@responses.activate
def test_pagination_stops_when_the_token_is_absent():
    responses.get(f"{API}/users/u1/webinars", json={"webinars": [{"id": 1}]})
    assert [w["id"] for w in client().list_webinars("u1")] == [1]
    assert len(responses.calls) == 1


@responses.activate
def test_expired_page_token_is_its_own_error():
    responses.get(
        f"{API}/webinars/1/registrants",
        status=400,
        json={"code": 300, "message": "The next page token is invalid or expired."},
    )
    with pytest.raises(ZoomPageTokenExpired):
        list(client().registrant_pages(1))


def client_whose_token_expires(path: str, answer: dict) -> ZoomClient:
    """A client holding the token "old", which `path` refuses (401, code 124), then answers
    `answer` to "new", the token renewal gives."""
    issued = iter(["old", "new"])
    source = RefreshingTokenSource(
        renew=lambda _c: TokenSet(
            access_token=next(issued), expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        )
    )
    responses.get(
        f"{API}{path}",
        status=401,
        json={"code": 124, "message": "Invalid access token."},
        match=[matchers.header_matcher({"Authorization": "Bearer old"})],
    )
    responses.get(
        f"{API}{path}",
        json=answer,
        match=[matchers.header_matcher({"Authorization": "Bearer new"})],
    )
    return ZoomClient(base_url=API, token_source=source)


@responses.activate
def test_401_code_124_renews_the_token_once_and_repeats_the_call():
    zc = client_whose_token_expires("/users/me", {"id": "u1"})
    assert zc.get_user()["id"] == "u1"
    assert len(responses.calls) == 2


@responses.activate
def test_a_second_401_is_an_auth_error_not_a_loop():
    responses.get(
        f"{API}/users/me", status=401, json={"code": 124, "message": "Invalid access token."}
    )
    with pytest.raises(ZoomAuthError) as info:
        client().get_user()
    assert info.value.code == 124
    assert len(responses.calls) == 2


@responses.activate
def test_429_carries_retry_after_and_category():
    responses.get(
        f"{API}/webinars/1",
        status=429,
        json={
            "code": 429,
            "message": "You have reached the maximum per-second rate "
            "limit for this API. Try again later.",
        },
        headers={
            "Retry-After": "2",
            "X-RateLimit-Category": "Light",
            "X-RateLimit-Type": "QPS",
            "X-RateLimit-Remaining": "0",
        },
    )
    with pytest.raises(ZoomRateLimited) as info:
        client().get_webinar(1)
    assert (info.value.retry_after, info.value.category, info.value.limit_type) == (
        2.0,
        "Light",
        "QPS",
    )
    assert len(responses.calls) == 1  # the client never retries


def test_retry_after_as_a_date_is_seconds_from_now():
    now = dt.datetime(2026, 5, 30, 23, 0, tzinfo=dt.UTC).timestamp()
    assert parse_retry_after("2026-05-31T00:00:00Z", now=now) == 3600.0
    assert parse_retry_after("Sun, 31 May 2026 00:00:00 GMT", now=now) == 3600.0
    assert parse_retry_after(None) == 1.0
    assert parse_retry_after("garbage") == 1.0


@responses.activate
def test_404_3001_is_not_found():
    responses.get(
        f"{API}/webinars/9",
        status=404,
        json={"code": 3001, "message": "Webinar does not exist: 9."},
    )
    with pytest.raises(ZoomNotFound) as info:
        client().get_webinar(9)
    assert info.value.code == 3001


@responses.activate
def test_validation_errors_keep_zooms_field_list():
    responses.post(
        f"{API}/webinars/1/registrants",
        status=400,
        json={
            "code": 300,
            "message": "Validation Failed.",
            "errors": [{"field": "last_name", "message": "Last name is required."}],
        },
    )
    with pytest.raises(ZoomValidationError) as info:
        client().add_registrant(1, {"email": "a@b.c", "first_name": "A"})
    assert info.value.errors == [{"field": "last_name", "message": "Last name is required."}]
    assert not isinstance(info.value, ZoomPageTokenExpired)


@responses.activate
def test_host_cannot_register_is_a_validation_error_with_code_3027():
    responses.post(
        f"{API}/webinars/1/registrants",
        status=400,
        json={"code": 3027, "message": "Host cannot register."},
    )
    with pytest.raises(ZoomValidationError) as info:
        client().add_registrant(1, {"email": "host@acme.test", "first_name": "H"})
    assert info.value.code == 3027


@responses.activate
@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_transient(status):
    responses.get(f"{API}/webinars/1", status=status, body="oops")
    with pytest.raises(ZoomTransientError):
        client().get_webinar(1)
    assert len(responses.calls) == 1


@responses.activate
def test_timeouts_and_dropped_connections_are_transient():
    responses.get(f"{API}/webinars/1", body=requests.ConnectTimeout("slow"))
    responses.get(f"{API}/webinars/2", body=requests.ConnectionError("reset"))
    with pytest.raises(ZoomTransientError, match="in time"):
        client().get_webinar(1)
    with pytest.raises(ZoomTransientError, match="reach"):
        client().get_webinar(2)


def test_every_call_has_a_default_timeout():
    seen = {}

    class Recorder(requests.Session):
        def request(self, method, url, **kwargs):
            seen.update(kwargs)
            raise requests.ConnectionError("stop here")

    zc = ZoomClient(base_url=API, token_source=StaticTokenSource("t"), session=Recorder())
    with pytest.raises(ZoomTransientError):
        zc.get_user()
    assert seen["timeout"] == (5.0, 30.0)


@responses.activate
def test_s2s_token_is_cached_until_shortly_before_expiry():
    responses.post(
        f"{OAUTH}/oauth/token",
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "account_credentials", "account_id": "acct"}
            )
        ],
        json={"access_token": "a1", "expires_in": 3600, "token_type": "bearer"},
    )
    clock = {"now": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}
    app = OAuthApp(oauth_base_url=OAUTH, client_id="cid", client_secret="sec")
    source = S2STokenSource(app, account_id="acct", clock=lambda: clock["now"])
    assert source.access_token() == "a1"
    assert source.access_token() == "a1"
    assert len(responses.calls) == 1
    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")


def test_token_within_the_skew_is_renewed():
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    tokens = TokenSet(access_token="x", expires_at=now + dt.timedelta(seconds=30))
    assert not tokens.fresh(now)
    assert TokenSet(access_token="x", expires_at=now + dt.timedelta(minutes=5)).fresh(now)


@responses.activate
def test_refresh_rotates_and_a_refused_refresh_needs_reauthorization():
    app = OAuthApp(
        oauth_base_url=OAUTH,
        client_id="cid",
        client_secret="sec",
        redirect_uri="http://crm.test/cb",
    )
    responses.post(
        f"{OAUTH}/oauth/token",
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "refresh_token", "refresh_token": "r1"}
            )
        ],
        json={"access_token": "a2", "refresh_token": "r2", "expires_in": 3599},
    )
    tokens = app.refresh(refresh_token="r1")
    assert (tokens.access_token, tokens.refresh_token) == ("a2", "r2")
    responses.post(
        f"{OAUTH}/oauth/token",
        status=400,
        json={"reason": "Invalid Token!", "error": "invalid_request"},
    )
    with pytest.raises(ZoomAuthError) as info:
        app.refresh(refresh_token="r1")
    assert info.value.needs_reauthorization
    assert "Invalid Token!" in info.value.message


def test_authorize_url_carries_state_and_redirect():
    app = OAuthApp(
        oauth_base_url=OAUTH, client_id="cid", client_secret="s", redirect_uri="http://crm.test/cb/"
    )
    assert app.authorize_url(state="xyz") == (
        "https://zoom.test/oauth/authorize?response_type=code&client_id=cid"
        "&redirect_uri=http%3A%2F%2Fcrm.test%2Fcb%2F&state=xyz"
    )


@responses.activate
def test_requests_are_logged_with_rate_limit_headers_and_no_token(caplog):
    responses.get(
        f"{API}/webinars/1",
        json={"id": 1},
        headers={"X-RateLimit-Category": "Light", "X-RateLimit-Remaining": "79"},
    )
    with caplog.at_level(logging.INFO, logger="zoom_integration.client.api"):
        client(token="secret-token-value").get_webinar(1)
    record = next(r for r in caplog.records if r.msg == "zoom.api.request")
    assert (record.status, record.rate_limit_category, record.rate_limit_remaining) == (
        200,
        "Light",
        "79",
    )
    assert "secret-token-value" not in json.dumps({k: str(v) for k, v in record.__dict__.items()})


def test_api_sessions_read_the_environment_once(monkeypatch):
    from zoom_integration.client.api import api_session

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "sandbox.internal")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    session = api_session("https://api.zoom.us/v2")
    assert session.trust_env is False  # not read again on every request
    assert session.proxies["https"] == "http://proxy.internal:3128"
    assert session.verify == "/etc/ssl/corporate.pem"
    # A host the environment exempts goes direct.
    assert "https" not in api_session("https://sandbox.internal/v2").proxies


@responses.activate
@pytest.mark.parametrize("size", [10, 3 * 1024 * 1024], ids=["in memory", "on disk"])
def test_a_spooled_get_gives_the_body_as_a_file(size):
    body = b'{"questions": [' + b" " * size + b"]}"
    responses.get(f"{API}/past_webinars/abc/polls", body=body)
    with client().get_spooled("/past_webinars/abc/polls") as spooled:
        assert spooled.read() == body


@responses.activate
def test_a_spooled_get_renews_the_token_and_raises_as_other_calls():
    zc = client_whose_token_expires("/report/webinars/u/qa", {"questions": []})
    with zc.get_spooled("/report/webinars/u/qa") as spooled:
        assert json.loads(spooled.read()) == {"questions": []}
    responses.get(
        f"{API}/report/webinars/v/qa",
        status=429,
        headers={"Retry-After": "2"},
        json={"code": 429, "message": "Too many requests"},
    )
    responses.get(
        f"{API}/report/webinars/w/qa",
        status=404,
        json={"code": 3001, "message": "Meeting does not exist"},
    )
    with pytest.raises(ZoomRateLimited):
        zc.get_spooled("/report/webinars/v/qa")
    with pytest.raises(ZoomNotFound):
        zc.get_spooled("/report/webinars/w/qa")


@responses.activate
def test_a_spooled_get_cut_off_is_transient(monkeypatch):
    responses.get(f"{API}/past_webinars/abc/polls", body=b'{"questions": []}')

    def cut(self, chunk_size=1, decode_unicode=False):
        yield b'{"quest'
        raise requests.exceptions.ChunkedEncodingError("connection broken")

    monkeypatch.setattr(requests.Response, "iter_content", cut)
    with pytest.raises(ZoomTransientError, match="cut off"):
        client().get_spooled("/past_webinars/abc/polls")
