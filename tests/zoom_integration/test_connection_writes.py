"""Writes of a connection name their fields: saving settings (web UI, API, service) or
disconnecting never puts back a token, or a status, that another process wrote after the
request read the connection (DESIGN "Production safety": a worker rotating an OAuth refresh
token meanwhile must not see it replaced by the dead one, which would force a re-authorization).

"Another process" is a write through a separate queryset between the request's read and its
save; the request's read is the view's own, wrapped so that the rotation happens right after it."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Brand
from zoom_integration.api import views as zoom_api_views
from zoom_integration.models import ConnectionStatus, ZoomConnection
from zoom_integration.services.connections import (
    connection_disconnect,
    connection_settings_update,
    connection_start_oauth,
)
from zoom_integration.views import settings as zoom_views

pytestmark = pytest.mark.django_db

ROTATED = {"access_token": "access-rotated", "refresh_token": "refresh-rotated"}


@pytest.fixture
def connection(db):
    return ZoomConnection.objects.create(
        brand=Brand.objects.create(name="Acme", is_primary=True),
        kind="oauth",
        status=ConnectionStatus.CONNECTED,
        zoom_account_id="acct-writes",
        client_id="cid",
        client_secret="secret",
        access_token="access-old",
        access_token_expires_at=timezone.now() + dt.timedelta(minutes=1),
        refresh_token="refresh-old",
        connected_at=timezone.now() - dt.timedelta(days=1),
    )


def rotate_elsewhere(connection_id: int) -> dt.datetime:
    """What a worker renewing the tokens writes (services.client.connection_token_source)."""
    expires_at = timezone.now() + dt.timedelta(hours=1)
    ZoomConnection.objects.filter(pk=connection_id).update(
        **ROTATED, access_token_expires_at=expires_at
    )
    return expires_at


def assert_rotation_kept(connection_id: int, expires_at: dt.datetime) -> ZoomConnection:
    row = ZoomConnection.objects.get(pk=connection_id)
    assert (row.access_token, row.refresh_token) == (
        ROTATED["access_token"],
        ROTATED["refresh_token"],
    )
    assert row.access_token_expires_at == expires_at
    assert row.status == ConnectionStatus.CONNECTED
    return row


@pytest.fixture
def rotate_after_read(monkeypatch):
    """Wraps a module's connection lookup: the request reads the row, then another process
    rotates the tokens before the request saves. Returns the rotation's expiry when done."""
    seen = {}

    def wrap(module, name):
        original = getattr(module, name)

        def read_then_rotate(connection_id):
            found = original(connection_id)
            seen["expires_at"] = rotate_elsewhere(found.pk)
            return found

        monkeypatch.setattr(module, name, read_then_rotate)
        return seen

    return wrap


def test_service_settings_update_keeps_a_rotated_token(connection):
    stale = ZoomConnection.objects.get(pk=connection.pk)  # as the request read it
    expires_at = rotate_elsewhere(connection.pk)
    connection_settings_update(
        connection=stale, sync_webinar_data=True, contact_exclusion_domains=["Acme.test"]
    )
    row = assert_rotation_kept(connection.pk, expires_at)
    assert row.sync_webinar_data is True and row.contact_exclusion_domains == ["acme.test"]


def test_service_settings_update_keeps_a_status_written_meanwhile(connection):
    # A worker whose refresh Zoom refused marks the connection meanwhile: saving settings must
    # not turn it back to "connected" with the dead tokens.
    stale = ZoomConnection.objects.get(pk=connection.pk)
    ZoomConnection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.NEEDS_REAUTH, access_token="", last_error="Invalid Token!"
    )
    connection_settings_update(connection=stale, zoom_plan="business")
    row = ZoomConnection.objects.get(pk=connection.pk)
    assert (row.status, row.access_token, row.last_error, row.zoom_plan) == (
        ConnectionStatus.NEEDS_REAUTH,
        "",
        "Invalid Token!",
        "business",
    )


def test_settings_update_of_a_deleted_connection_is_not_found(connection):
    from crm.errors import NotFound

    stale = ZoomConnection.objects.get(pk=connection.pk)
    ZoomConnection.objects.filter(pk=connection.pk).delete()
    with pytest.raises(NotFound):
        connection_settings_update(connection=stale, sync_webinar_data=True)
    assert not ZoomConnection.objects.exists()  # not re-created by the save


def test_ui_global_settings_form_keeps_a_rotated_token(
    client, admin_user, connection, rotate_after_read
):
    seen = rotate_after_read(zoom_views, "connection_or_404")
    client.force_login(admin_user)
    response = client.post(
        reverse("zoom_integration:settings_update", args=[connection.pk]),
        {"sync_webinar_data": "on", "recordings_sync": "all", "zoom_plan": "business"},
    )
    assert response.status_code == 302
    row = assert_rotation_kept(connection.pk, seen["expires_at"])
    assert (row.sync_webinar_data, row.recordings_sync, row.zoom_plan) == (True, "all", "business")


@pytest.mark.parametrize("action", ["domain_add", "domain_remove"])
def test_ui_domain_forms_keep_a_rotated_token(
    client, admin_user, connection, rotate_after_read, action
):
    ZoomConnection.objects.filter(pk=connection.pk).update(contact_exclusion_domains=["old.test"])
    seen = rotate_after_read(zoom_views, "connection_or_404")
    client.force_login(admin_user)
    url = reverse(f"zoom_integration:{action}", args=[connection.pk, "contact_exclusion_domains"])
    data = {"contact_exclusion_domains-domain": "new.test"} if action == "domain_add" else {}
    if action == "domain_remove":
        data = {"domain": "old.test"}
    response = client.post(url, data)
    assert response.status_code == 302
    row = assert_rotation_kept(connection.pk, seen["expires_at"])
    expected = ["new.test", "old.test"] if action == "domain_add" else []
    assert sorted(row.contact_exclusion_domains) == expected


def test_api_settings_patch_keeps_a_rotated_token(admin_api, connection, rotate_after_read):
    seen = rotate_after_read(zoom_api_views, "_connection")
    response = admin_api.patch(
        reverse("api-zoom-settings", args=[connection.pk]),
        {"sync_webinar_data": True, "webinar_exclusion_domains": ["Example.COM"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["webinar_exclusion_domains"] == ["example.com"]
    row = assert_rotation_kept(connection.pk, seen["expires_at"])
    assert row.sync_webinar_data is True and row.webinar_exclusion_domains == ["example.com"]


def test_disconnect_keeps_settings_written_meanwhile(connection):
    # Disconnecting drops the tokens on purpose; it still writes only what it changes.
    stale = ZoomConnection.objects.get(pk=connection.pk)
    ZoomConnection.objects.filter(pk=connection.pk).update(
        sync_webinar_data=True, contact_exclusion_domains=["acme.test"]
    )
    connection_disconnect(connection=stale)
    row = ZoomConnection.objects.get(pk=connection.pk)
    assert (row.status, row.access_token, row.refresh_token) == ("disconnected", "", "")
    assert row.sync_webinar_data is True and row.contact_exclusion_domains == ["acme.test"]


def test_oauth_restart_keeps_settings_written_meanwhile(connection, monkeypatch):
    # Re-authorizing: the row is read, then saved with a new state; a settings change made in
    # between (another request) is kept.
    from zoom_integration.services import connections as services

    ZoomConnection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.NEEDS_REAUTH)
    original = services._reusable_connection

    def read_then_change(brand):
        found = original(brand)
        ZoomConnection.objects.filter(pk=found.pk).update(zoom_plan="business")
        return found

    monkeypatch.setattr(services, "_reusable_connection", read_then_change)
    restarted, _url = connection_start_oauth(
        brand=connection.brand, client_id="cid", client_secret="secret"
    )
    row = ZoomConnection.objects.get(pk=connection.pk)
    assert row.zoom_plan == "business"
    assert row.oauth_state == restarted.oauth_state and row.oauth_state
    assert row.status == ConnectionStatus.NEEDS_REAUTH


def test_oauth_settings_save_after_a_worker_rotated_does_not_need_reauthorization(
    unnamed_saves,
    admin_api,
    admin_user,
    zoom_sandbox,
    settings,
    client,
    django_capture_on_commit_callbacks,
):
    """End to end against the sandbox, which kills a refresh token once it is used: a worker
    renews the tokens while an admin's settings save is under way; the next renewal works."""
    from tests.zoom_integration.test_connections_api import _oauth_connect
    from zoom_integration.services.client import zoom_client

    brand = Brand.objects.create(name="Acme", is_primary=True)
    callback, connection_id = _oauth_connect(admin_api, brand, zoom_sandbox, settings)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"{callback.path}?{callback.query}")
    stale = ZoomConnection.objects.get(pk=connection_id)  # the admin's request reads the row
    # Meanwhile a worker's access token expires and it renews: Zoom rotates the refresh token.
    zoom_sandbox.post("/_sandbox/clock", json={"advance_seconds": 3700}).raise_for_status()
    ZoomConnection.objects.filter(pk=connection_id).update(
        access_token_expires_at="2000-01-01T00:00Z"
    )
    assert zoom_client(stale).get_user("me")["id"] == "u_host"
    connection_settings_update(connection=stale, sync_webinar_data=True)  # the admin's save
    # The next renewal uses the rotated refresh token, which Zoom still honours.
    zoom_sandbox.post("/_sandbox/clock", json={"advance_seconds": 3700}).raise_for_status()
    ZoomConnection.objects.filter(pk=connection_id).update(
        access_token_expires_at="2000-01-01T00:00Z"
    )
    assert zoom_client(stale).get_user("me")["id"] == "u_host"
    row = ZoomConnection.objects.get(pk=connection_id)
    assert row.status == ConnectionStatus.CONNECTED and row.sync_webinar_data is True
    assert unnamed_saves == []  # the OAuth callback's save included


@pytest.fixture
def unnamed_saves(monkeypatch):
    """The connections saved without naming their fields (a stored row rewritten whole)."""
    unnamed = []
    original = ZoomConnection.save

    def spy(self, *args, **kwargs):
        if not self._state.adding and kwargs.get("update_fields") is None:
            unnamed.append(self.pk)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ZoomConnection, "save", spy)
    return unnamed


def test_no_write_of_a_stored_connection_rewrites_every_column(connection, unnamed_saves):
    connection_settings_update(connection=connection, recordings_sync="selected")
    connection_disconnect(connection=ZoomConnection.objects.get(pk=connection.pk))
    connection_start_oauth(brand=connection.brand, client_id="cid", client_secret="secret")
    assert unnamed_saves == []


def test_reconnecting_s2s_names_its_fields(zoom_sandbox, unnamed_saves):
    from tests.zoom_integration.scenario import ACME, S2S
    from zoom_integration.services.connections import connection_create_s2s

    brand = Brand.objects.create(name="Acme", is_primary=True)
    first = connection_create_s2s(brand=brand, account_id=ACME, **S2S)
    connection_disconnect(connection=first)
    ZoomConnection.objects.filter(pk=first.pk).update(zoom_plan="business")  # meanwhile
    again = connection_create_s2s(brand=brand, account_id=ACME, **S2S)
    assert again.pk == first.pk and unnamed_saves == []
    row = ZoomConnection.objects.get(pk=first.pk)
    assert (row.status, row.zoom_plan) == (ConnectionStatus.CONNECTED, "business")
    assert row.access_token and row.disconnected_at is None
