"""Zoom connections over the API against a running sandbox (real HTTP): S2S and OAuth connect,
users and webinars cached, settings (S1-S7), per-user and per-webinar toggles (S6), sync
requests, disconnect, refresh-token rotation and re-authorization (rule A2)."""

from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from django.db import connection as db

from crm.models import Brand
from tests.zoom_integration.scenario import (
    ACME,
    BETA,
    ENDED_ID,
    EVENTS_ID,
    OAUTH,
    RECURRING_ID,
    S2S,
    UPCOMING_ID,
)
from tests.zoom_integration.test_views import page_url
from zoom_integration.models import (
    ConnectionStatus,
    SyncRun,
    ZoomConnection,
    ZoomUser,
    ZoomWebinar,
)
from zoom_integration.services.client import zoom_client
from zoom_integration.services.metadata import connection_metadata_refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def brands(db):
    return (
        Brand.objects.create(name="Acme", is_primary=True),
        Brand.objects.create(name="Beta", is_primary=False),
    )


def connect_s2s(api, brand, **overrides):
    body = {
        "brand": brand.pk,
        "kind": "s2s",
        "account_id": ACME,
        **S2S,
        "webhook_secret_token": "acme-whsec",
        **overrides,
    }
    return api.post("/api/v1/zoom/connections/", body, format="json")


@pytest.fixture
def acme(admin_api, brands, zoom_sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = connect_s2s(admin_api, brands[0])
    assert response.status_code == 201, response.json()
    return ZoomConnection.objects.get(pk=response.json()["id"])


def test_s2s_connect_answers_the_documented_shape(acme, admin_api):  # rule A2
    body = admin_api.get(f"/api/v1/zoom/connections/{acme.pk}/").json()
    assert {
        k: body[k] for k in ("id", "brand", "kind", "zoom_account_id", "connected_user", "status")
    } == {
        "id": acme.pk,
        "brand": acme.brand_id,
        "kind": "s2s",
        "zoom_account_id": ACME,
        # S2S: the connected user is GET /users/me, the account owner.
        "connected_user": {"id": "u_owner", "email": "owner@acme.test"},
        "status": "connected",
    }
    assert body["webhook_url"] == f"http://127.0.0.1:8000/integrations/zoom/webhooks/{acme.pk}/"


def test_connecting_caches_users_and_webinars_including_ended_ones(acme):  # rule A2
    assert sorted(ZoomUser.objects.values_list("email", flat=True)) == [
        "host@events.acme.test",
        "mia@partner.example",
        "owner@acme.test",
    ]
    webinars = {w.zoom_webinar_id: w for w in ZoomWebinar.objects.all()}
    assert set(webinars) == {UPCOMING_ID, ENDED_ID, RECURRING_ID, EVENTS_ID}
    # The ended webinar is not in any host's list: it came from the report lists.
    assert webinars[ENDED_ID].source == "report"
    assert webinars[ENDED_ID].host.zoom_user_id == "u_host"
    assert webinars[ENDED_ID].has_ended
    # A recurring webinar ends with its last occurrence.
    recurring = webinars[RECURRING_ID]
    assert len(recurring.occurrences) == 2 and not recurring.has_ended
    # Decisions: every user's "newly scheduled" default is on, so every webinar syncs.
    assert all(w.sync_enabled for w in webinars.values())
    # The report history counted the ended webinar's participants: its size, for the sync's
    # order (largest first). The others ran no instance in the window.
    assert {wid: w.size_hint for wid, w in webinars.items()} == {
        UPCOMING_ID: 0,
        ENDED_ID: 2,
        RECURRING_ID: 0,
        EVENTS_ID: 0,
    }
    acme.refresh_from_db()
    assert acme.metadata_refreshed_at is not None and not acme.metadata_refreshing
    # A new connection has Sync webinar data off.
    assert acme.sync_webinar_data is False


def test_secrets_and_tokens_are_encrypted_at_rest(acme):  # rule A2
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret, access_token, webhook_secret_token, refresh_token "
            "FROM zoom_integration_zoomconnection WHERE id = %s",
            [acme.pk],
        )
        raw = cursor.fetchone()
    acme.refresh_from_db()
    assert acme.client_secret == "acme-s2s-secret" and acme.access_token
    row_text = " ".join(str(v) for v in raw)
    for clear in ("acme-s2s-secret", "acme-whsec", acme.access_token):
        assert clear not in row_text
    assert all(value.startswith("gAAAA") for value in raw[:3])  # Fernet tokens


def test_refused_credentials_store_nothing(admin_api, brands, zoom_sandbox):
    response = connect_s2s(admin_api, brands[0], client_secret="wrong")
    assert response.status_code == 400
    assert "Invalid client_id or client_secret" in response.json()["detail"]
    assert not ZoomConnection.objects.exists()


def test_missing_fields_are_named(admin_api, brands, zoom_sandbox):
    response = admin_api.post(
        "/api/v1/zoom/connections/", {"brand": brands[0].pk, "kind": "s2s"}, format="json"
    )
    assert response.status_code == 400
    assert {e["name"] for e in response.json()["errors"]} == {
        "account_id",
        "client_id",
        "client_secret",
    }


def test_each_brand_connects_its_own_account(
    acme, admin_api, brands, django_capture_on_commit_callbacks
):
    # Multi-brand: the same Zoom account cannot serve two brands...
    response = connect_s2s(admin_api, brands[1])
    assert response.status_code == 409
    assert "already connected to the brand Acme" in response.json()["detail"]
    # ...a brand already connected must disconnect first...
    assert connect_s2s(admin_api, brands[0]).status_code == 409
    # ...and the second brand connects its own account.
    with django_capture_on_commit_callbacks(execute=True):
        beta = admin_api.post(
            "/api/v1/zoom/connections/",
            {
                "brand": brands[1].pk,
                "kind": "s2s",
                "account_id": BETA,
                "client_id": "beta-s2s",
                "client_secret": "beta-s2s-secret",
            },
            format="json",
        )
    assert beta.status_code == 201
    listing = admin_api.get("/api/v1/zoom/connections/").json()["results"]
    assert [(c["brand_name"], c["is_primary_brand"], c["zoom_account_id"]) for c in listing] == [
        ("Acme", True, ACME),
        ("Beta", False, BETA),
    ]
    # A token of one account never sees the other's data.
    assert ZoomUser.objects.filter(connection_id=beta.json()["id"]).count() == 1


def test_settings_are_normalized_and_bad_input_changes_nothing(acme, admin_api):  # S1-S7
    url = f"/api/v1/zoom/connections/{acme.pk}/settings/"
    assert admin_api.get(url).json() == {
        "sync_webinar_data": False,
        "recordings_sync": "none",
        "zoom_plan": "pro",
        "webinar_exclusion_domains": [],
        "recording_exclusion_domains": [],
        "contact_exclusion_domains": [],
    }
    response = admin_api.patch(
        url,
        {
            "sync_webinar_data": True,
            "recordings_sync": "selected",
            "zoom_plan": "business",
            "webinar_exclusion_domains": ["@Acme.test ", "partner.example"],
            "contact_exclusion_domains": ["Bücher.de"],
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {
        "sync_webinar_data": True,
        "recordings_sync": "selected",
        "zoom_plan": "business",
        "webinar_exclusion_domains": ["acme.test", "partner.example"],
        "recording_exclusion_domains": [],
        "contact_exclusion_domains": ["xn--bcher-kva.de"],
    }
    bad = admin_api.patch(
        url,
        {
            "sync_webinar_data": False,
            "recordings_sync": "some",
            "zoom_plan": "gold",
            "recording_exclusion_domains": ["ok.test", "not a domain"],
        },
        format="json",
    )
    assert bad.status_code == 400
    assert sorted(e["name"] for e in bad.json()["errors"]) == [
        "recording_exclusion_domains",
        "recordings_sync",
        "zoom_plan",
    ]
    assert admin_api.get(url).json() == response.json()  # nothing changed


def test_only_super_admins_change_settings(acme, marketer_api, viewer_api):
    url = f"/api/v1/zoom/connections/{acme.pk}/settings/"
    for client in (marketer_api, viewer_api):
        assert client.get(url).status_code == 200
        assert client.patch(url, {"sync_webinar_data": True}, format="json").status_code == 403
    acme.refresh_from_db()
    assert acme.sync_webinar_data is False


def test_user_and_webinar_toggles(acme, admin_api):  # rule S6
    base = f"/api/v1/zoom/connections/{acme.pk}"
    users = admin_api.get(f"{base}/users/").json()["results"]
    assert {
        u["zoom_user_id"]: (u["sync_new_webinars_by_default"], u["sync_recordings"]) for u in users
    } == {"u_owner": (True, False), "u_host": (True, False), "u_partner": (True, False)}
    patched = admin_api.patch(
        f"{base}/users/u_host/",
        {"sync_recordings": True, "sync_new_webinars_by_default": False},
        format="json",
    ).json()
    assert patched == {
        "zoom_user_id": "u_host",
        "email": "host@events.acme.test",
        "first_name": "Hugo",
        "last_name": "Host",
        "status": "active",
        "sync_new_webinars_by_default": False,
        "sync_recordings": True,
    }
    # Changing a host's default does not touch webinars already seen.
    assert ZoomWebinar.objects.get(zoom_webinar_id=ENDED_ID).sync_enabled is True
    webinar = admin_api.patch(
        f"{base}/webinars/{UPCOMING_ID}/", {"sync_enabled": False}, format="json"
    ).json()
    assert (
        webinar["zoom_webinar_id"],
        webinar["topic"],
        webinar["host_id"],
        webinar["sync_enabled"],
    ) == (str(UPCOMING_ID), "Roadmap 2027", "u_owner", False)
    assert (
        admin_api.patch(f"{base}/webinars/1/", {"sync_enabled": False}, format="json").status_code
        == 404
    )
    assert (
        admin_api.patch(
            f"{base}/webinars/{UPCOMING_ID}/", {"sync_enabled": "maybe"}, format="json"
        ).status_code
        == 400
    )


def test_new_webinars_take_their_hosts_default(
    acme, admin_api, zoom_sandbox, django_capture_on_commit_callbacks
):  # rule S6
    ZoomUser.objects.filter(zoom_user_id="u_partner").update(sync_new_webinars_by_default=False)
    state = zoom_sandbox.get("/_sandbox/state").json()
    account = next(a for a in state["accounts"] if a["id"] == ACME)
    account["webinars"].append(
        {
            "id": 84000000099,
            "host_id": "u_partner",
            "topic": "New one",
            "type": 5,
            "start_time": "2030-01-01T10:00:00Z",
            "duration": 30,
            "timezone": "UTC",
            "registration_required": True,
        }
    )
    zoom_sandbox.post("/_sandbox/accounts", json=account).raise_for_status()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post(f"/api/v1/zoom/connections/{acme.pk}/refresh/")
    assert response.status_code == 202
    assert ZoomWebinar.objects.get(zoom_webinar_id=84000000099).sync_enabled is False
    assert ZoomWebinar.objects.get(zoom_webinar_id=RECURRING_ID).sync_enabled is True


def test_webinar_list_filters(acme, admin_api):
    base = f"/api/v1/zoom/connections/{acme.pk}/webinars/"

    def ids(query):
        return sorted(
            int(w["zoom_webinar_id"]) for w in admin_api.get(base + query).json()["results"]
        )

    assert ids("?ended=true") == [ENDED_ID]
    assert ids("?host=u_owner") == sorted([UPCOMING_ID, EVENTS_ID])
    assert ids("?q=office") == [RECURRING_ID]
    assert ids(f"?q={ENDED_ID}") == [ENDED_ID]
    assert admin_api.get(base + "?ended=perhaps").status_code == 400


def test_sync_with_s1_off_is_recorded_as_skipped(
    acme, marketer_api, django_capture_on_commit_callbacks
):  # S1
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_api.post(f"/api/v1/zoom/connections/{acme.pk}/sync/")
    assert response.status_code == 202
    run_id = response.json()["id"]
    body = marketer_api.get(f"/api/v1/zoom/sync-runs/{run_id}/").json()
    assert (body["status"], body["errors"], body["trigger"]) == (
        "skipped",
        ["sync_disabled"],
        "api",
    )
    assert body["counts"]["zoom_users"] == 3
    assert body["progress"] == {"done": 0, "total": 0}


def test_a_second_sync_while_one_is_queued_is_409_naming_it(acme, admin_api):
    first = admin_api.post(f"/api/v1/zoom/connections/{acme.pk}/sync/")  # not executed: queued
    assert first.status_code == 202 and first.json()["status"] == "queued"
    second = admin_api.post(f"/api/v1/zoom/connections/{acme.pk}/sync/")
    assert second.status_code == 409
    assert f"run {first.json()['id']}" in second.json()["detail"]
    assert SyncRun.objects.count() == 1


def test_viewers_cannot_request_a_sync(acme, viewer_api):
    assert viewer_api.post(f"/api/v1/zoom/connections/{acme.pk}/sync/").status_code == 403


def test_disconnect_stops_syncing_and_keeps_data(acme, admin_api):  # rule A2
    response = admin_api.delete(f"/api/v1/zoom/connections/{acme.pk}/")
    assert response.status_code == 200 and response.json()["status"] == "disconnected"
    acme.refresh_from_db()
    assert acme.access_token == "" and acme.status == ConnectionStatus.DISCONNECTED
    assert ZoomUser.objects.filter(connection=acme).count() == 3
    assert ZoomWebinar.objects.filter(connection=acme).count() == 4
    sync = admin_api.post(f"/api/v1/zoom/connections/{acme.pk}/sync/")
    assert sync.status_code == 409 and "disconnected" in sync.json()["detail"]
    assert admin_api.get(f"/api/v1/zoom/connections/{acme.pk}/webinars/").status_code == 200


def _oauth_connect(admin_api, brand, zoom_sandbox, settings):
    start = admin_api.post(
        "/api/v1/zoom/connections/oauth/",
        {"brand": brand.pk, **OAUTH, "webhook_secret_token": "acme-whsec"},
        format="json",
    )
    assert start.status_code == 201, start.json()
    authorize_url = start.json()["authorize_url"]
    assert authorize_url.startswith(settings.ZOOM_OAUTH_BASE_URL + "/oauth/authorize?")
    query = parse_qs(urlparse(authorize_url).query)
    # The admin's browser at Zoom's consent page: Authorize, as the account's user u_host.
    consent = httpx.post(
        settings.ZOOM_OAUTH_BASE_URL + "/oauth/authorize",
        data={
            "client_id": query["client_id"][0],
            "redirect_uri": query["redirect_uri"][0],
            "state": query["state"][0],
            "user_id": "u_host",
        },
        follow_redirects=False,
    )
    assert consent.status_code == 302
    callback = urlparse(consent.headers["location"])
    assert callback.path == "/integrations/zoom/oauth/callback/"
    return callback, start.json()["connection"]["id"]


def test_oauth_flow_connects_as_the_authorizing_user(
    admin_api,
    admin_user,
    brands,
    zoom_sandbox,
    settings,
    client,
    django_capture_on_commit_callbacks,
):
    callback, connection_id = _oauth_connect(admin_api, brands[0], zoom_sandbox, settings)
    assert ZoomConnection.objects.get(pk=connection_id).status == ConnectionStatus.PENDING
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"{callback.path}?{callback.query}")
    assert response.status_code == 302
    connection = ZoomConnection.objects.get(pk=connection_id)
    assert (
        connection.status,
        connection.kind,
        connection.zoom_account_id,
        connection.connected_user_email,
    ) == ("connected", "oauth", ACME, "host@events.acme.test")
    assert connection.refresh_token and connection.oauth_state == ""
    assert ZoomUser.objects.filter(connection=connection).count() == 3
    # The state is single-use: replaying the callback is refused.
    again = client.get(f"{callback.path}?{callback.query}")
    assert again.status_code == 302
    assert ZoomConnection.objects.get(pk=connection_id).refresh_token == connection.refresh_token


def test_refresh_tokens_rotate_and_a_refused_refresh_needs_reauthorization(
    admin_api,
    admin_user,
    brands,
    zoom_sandbox,
    settings,
    client,
    django_capture_on_commit_callbacks,
):  # rule A2
    callback, connection_id = _oauth_connect(admin_api, brands[0], zoom_sandbox, settings)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"{callback.path}?{callback.query}")
    connection = ZoomConnection.objects.get(pk=connection_id)
    first_refresh = connection.refresh_token
    # Zoom's access tokens live an hour: move the sandbox clock past it.
    zoom_sandbox.post("/_sandbox/clock", json={"advance_seconds": 3700}).raise_for_status()
    ZoomConnection.objects.filter(pk=connection_id).update(
        access_token_expires_at="2000-01-01T00:00Z"
    )
    assert zoom_client(connection).get_user("me")["id"] == "u_host"
    connection.refresh_from_db()
    assert connection.refresh_token != first_refresh  # rotated and persisted
    # The old refresh token is dead at Zoom.
    reuse = httpx.post(
        settings.ZOOM_OAUTH_BASE_URL + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first_refresh},
        auth=(OAUTH["client_id"], OAUTH["client_secret"]),
    )
    assert reuse.status_code == 400 and reuse.json()["reason"] == "Invalid Token!"
    # A refresh Zoom refuses marks the connection as needing re-authorization.
    ZoomConnection.objects.filter(pk=connection_id).update(
        refresh_token=first_refresh, access_token_expires_at="2000-01-01T00:00Z"
    )
    from zoom_integration.client import ZoomAuthError

    with pytest.raises(ZoomAuthError):
        zoom_client(connection).get_user("me")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH
    assert "Invalid Token!" in connection.last_error
    body = admin_api.get(f"/api/v1/zoom/connections/{connection_id}/").json()
    assert body["status"] == "needs_reauth"
    # Zoom's words inside a sentence: English in the API (rule L2), the reader's on the page (L1).
    assert body["last_error"] == "Zoom refused the credentials: Invalid Token!"
    admin_user.language = "pt-br"
    admin_user.save(update_fields=["language"])
    page = client.get(page_url(brands[0])).content.decode()
    assert "O Zoom recusou as credenciais: Invalid Token!" in page
    assert admin_api.post(f"/api/v1/zoom/connections/{connection_id}/sync/").status_code == 409


def test_unknown_oauth_state_is_refused(client, admin_user, zoom_sandbox):
    client.force_login(admin_user)
    response = client.get("/integrations/zoom/oauth/callback/?code=x&state=forged", follow=False)
    assert response.status_code == 302
    assert not ZoomConnection.objects.exists()


def test_a_later_refresh_updates_the_size_of_a_known_webinar(acme):
    ZoomWebinar.objects.filter(zoom_webinar_id=ENDED_ID).update(size_hint=0)
    ZoomConnection.objects.filter(pk=acme.pk).update(metadata_refreshed_at=None)
    acme.refresh_from_db()
    connection_metadata_refresh(connection=acme)  # a full backfill: its report is seen again
    assert ZoomWebinar.objects.get(zoom_webinar_id=ENDED_ID).size_hint == 2


def test_a_refresh_that_sees_fewer_instances_keeps_the_size_a_backfill_counted(acme):
    # A later refresh reads the report history of its last days only: a recurring webinar's
    # older instances are not in it, and its size must not shrink to the newest one's.
    ZoomWebinar.objects.filter(zoom_webinar_id=ENDED_ID).update(size_hint=500)
    ZoomConnection.objects.filter(pk=acme.pk).update(metadata_refreshed_at=None)
    acme.refresh_from_db()
    connection_metadata_refresh(connection=acme)  # its report counts 2 participants
    assert ZoomWebinar.objects.get(zoom_webinar_id=ENDED_ID).size_hint == 500


@pytest.fixture
def stored(brands):
    """A connection and two webinars written directly (no Zoom needed to list them)."""
    connection = ZoomConnection.objects.create(
        brand=brands[0], kind="s2s", status=ConnectionStatus.CONNECTED, zoom_account_id=ACME
    )
    for webinar_id, topic in ((84000000001, "Office hours"), (84000000002, "Launch")):
        ZoomWebinar.objects.create(connection=connection, zoom_webinar_id=webinar_id, topic=topic)
    return connection


@pytest.mark.parametrize("q", ["o" * 201, " " + "o" * 201 + " "])
def test_webinar_search_longer_than_200_characters_is_a_400_naming_q(stored, admin_api, q):
    response = admin_api.get(f"/api/v1/zoom/connections/{stored.pk}/webinars/", {"q": q})

    assert response.status_code == 400
    assert response.json()["errors"][0]["name"] == "q"
    assert "at most 200 characters; got 201" in response.json()["detail"]


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("o" * 200, []),
        ("²", []),
        ("9" * 200, []),
        ("84000000002", [84000000002]),
        ("hour", [84000000001]),
    ],
)
def test_webinar_search_within_its_bound_searches(stored, admin_api, q, found):
    # "²" is a digit to isdigit() but not to int(); 200 nines are no webinar id.
    response = admin_api.get(f"/api/v1/zoom/connections/{stored.pk}/webinars/", {"q": q})

    assert response.status_code == 200
    assert [int(w["zoom_webinar_id"]) for w in response.json()["results"]] == found


def test_the_schema_states_the_webinar_search_bound():
    from tests.support.openapi import parameter

    schema = parameter("/api/v1/zoom/connections/{connection_id}/webinars/", "get", "q")
    assert schema == {"type": "string", "maxLength": 200}


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["client_id", "client_secret", "account_id"])
def test_credentials_outside_printable_ascii_are_a_400(admin_api, field):
    """Found by the API fuzzer: a client id of "œ" cannot be sent in HTTP Basic authentication
    (Latin-1) and answered 500."""
    from crm.models import Brand
    from zoom_integration.models import ZoomConnection

    brand = Brand.objects.create(name="Acme", is_primary=True)
    body = {"brand": brand.pk, "kind": "s2s", "account_id": "acct", "client_id": "id",
            "client_secret": "secret", "webhook_secret_token": "tok"}  # fmt: skip
    body[field] = "\u0153uvre"
    response = admin_api.post("/api/v1/zoom/connections/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["name"] == field
    assert not ZoomConnection.objects.exists()


@pytest.mark.django_db
def test_the_service_refuses_such_credentials_too():
    from crm.errors import ValidationFailed
    from crm.models import Brand
    from zoom_integration.services.connections import connection_create_s2s

    brand = Brand.objects.create(name="Acme", is_primary=True)
    with pytest.raises(ValidationFailed) as refused:
        connection_create_s2s(
            brand=brand, account_id="acct", client_id="\u0153", client_secret="s",
            webhook_secret_token="", actor=None,
        )  # fmt: skip
    assert refused.value.errors[0]["name"] == "client_id"


@pytest.mark.django_db
def test_a_credential_that_is_not_a_string_is_a_400(admin_api):
    """Found by the API fuzzer: pattern-checked fields took numbers and turned them into text."""
    from crm.models import Brand

    brand = Brand.objects.create(name="Acme", is_primary=True)
    body = {"brand": brand.pk, "client_id": "id", "client_secret": 12345}
    response = admin_api.post("/api/v1/zoom/connections/oauth/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["name"] == "client_secret"
