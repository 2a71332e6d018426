"""The audit trail (issue 22, item 4) for Zoom: connect (S2S, OAuth), re-authorization,
disconnect, the global settings (S1-S5), per-user and per-webinar toggles (S6), through the
settings pages and the API alike. One entry per action, exact before/after values, no secret."""

import json
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from crm.models import AuditEntry, Brand
from tests.zoom_integration.scenario import ACME, OAUTH, S2S
from tests.zoom_integration.test_connections_api import _oauth_connect
from tests.zoom_integration.test_views import make_connection
from zoom_integration.models import ConnectionStatus, ZoomConnection, ZoomWebinar

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "whsec-never-shown"
CONNECTED = {
    "kind": "s2s",
    "status": "connected",
    "zoom_account_id": ACME,
    "client_id": S2S["client_id"],
    "client_secret": "(changed)",
    "webhook_secret_token": "(changed)",
    "connected_user_email": "owner@acme.test",
}


@pytest.fixture
def brand(db):
    return Brand.objects.create(name="Acme", is_primary=True)


@pytest.fixture
def ui(client, admin_user):
    client.force_login(admin_user)
    return client


def _last_id() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _only_entry(since_id: int) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(pk__gt=since_id))
    assert len(entries) == 1, [(e.kind, e.before, e.after) for e in entries]
    return entries[0]


def _no_secret(entry: AuditEntry, *secrets: str) -> None:
    stored = json.dumps([entry.before, entry.after, entry.target_label])
    for secret in (WEBHOOK_SECRET, S2S["client_secret"], OAUTH["client_secret"], *secrets):
        assert secret not in stored


def _s2s_form(**extra):
    return {"account_id": ACME, **S2S, "webhook_secret_token": WEBHOOK_SECRET, **extra}


@pytest.mark.parametrize("via", ["ui", "api"])
def test_connecting_s2s(via, ui, admin_api, admin_user, brand, zoom_sandbox, capture):
    before_id = _last_id()
    with capture(execute=True):
        if via == "ui":
            ui.post(reverse("zoom_integration:connect_s2s", args=[brand.pk]), _s2s_form())
        else:
            response = admin_api.post(
                "/api/v1/zoom/connections/",
                {"brand": brand.pk, "kind": "s2s", **_s2s_form()},
                format="json",
            )
            assert response.status_code == 201, response.json()
    entry = _only_entry(before_id)
    connection = ZoomConnection.objects.get(brand=brand)
    assert (entry.kind, entry.via, entry.actor_id) == ("zoom.connected", via, admin_user.pk)
    assert (entry.target_type, entry.target_id, entry.target_label) == (
        "zoom_connection",
        str(connection.pk),
        "Acme",
    )
    assert (entry.before, entry.after) == ({}, CONNECTED)
    _no_secret(entry, connection.access_token)


def test_reconnecting_an_s2s_connection_that_needs_reauthorization(
    ui, admin_user, brand, zoom_sandbox, capture
):
    with capture(execute=True):
        ui.post(reverse("zoom_integration:connect_s2s", args=[brand.pk]), _s2s_form())
    ZoomConnection.objects.filter(brand=brand).update(status=ConnectionStatus.NEEDS_REAUTH)
    before_id = _last_id()
    with capture(execute=True):
        ui.post(
            reverse("zoom_integration:connect_s2s", args=[brand.pk]),
            _s2s_form(webhook_secret_token=""),
        )
    entry = _only_entry(before_id)
    assert (entry.kind, entry.via, entry.actor_id) == ("zoom.reauthorized", "ui", admin_user.pk)
    assert (entry.before, entry.after) == ({"status": "needs_reauth"}, {"status": "connected"})


def test_oauth_start_then_callback(admin_api, admin_user, brand, zoom_sandbox, settings, client,
                                   capture):  # fmt: skip
    before_id = _last_id()
    callback, connection_id = _oauth_connect(admin_api, brand, zoom_sandbox, settings)
    started = _only_entry(before_id)
    assert (started.kind, started.via, started.token_name) == (
        "zoom.authorization_started",
        "api",
        "test",
    )
    assert (started.before, started.after) == (
        {},
        {
            "kind": "oauth",
            "status": "pending",
            "client_id": OAUTH["client_id"],
            "client_secret": "(changed)",
            "webhook_secret_token": "(changed)",
        },
    )
    client.force_login(admin_user)
    with capture(execute=True):
        client.get(f"{callback.path}?{callback.query}")
    connected = _only_entry(started.pk)
    connection = ZoomConnection.objects.get(pk=connection_id)
    assert (connected.kind, connected.via, connected.actor_id) == (
        "zoom.connected",
        "ui",
        admin_user.pk,
    )
    assert (connected.before, connected.after) == (
        {"status": "pending", "zoom_account_id": "", "connected_user_email": ""},
        {"status": "connected", "zoom_account_id": ACME,
         "connected_user_email": "host@events.acme.test"},
    )  # fmt: skip
    _no_secret(connected, connection.refresh_token, connection.access_token)
    assert "code=" not in json.dumps(connected.after) and urlparse(callback.path)


@pytest.fixture
def local(brand):
    """A stored connection (no Zoom needed): users u0-u2, two webinars each."""
    return make_connection(brand, webhook_secret_token=WEBHOOK_SECRET)


def _webinar(local):
    return ZoomWebinar.objects.filter(connection=local).order_by("zoom_webinar_id").first()


# (what a person does, expected kind, target (type, id), before, after)
LOCAL_CASES = {
    "global settings (ui)": (
        lambda ui, api, c: ui.post(
            reverse("zoom_integration:settings_update", args=[c.pk]),
            {"sync_webinar_data": "on", "recordings_sync": "all"},
        ),
        "zoom.settings_changed",
        lambda c: ("zoom_connection", str(c.pk)),
        {"sync_webinar_data": False, "recordings_sync": "none"},
        {"sync_webinar_data": True, "recordings_sync": "all"},
    ),
    "global settings (api)": (
        lambda ui, api, c: api.patch(
            f"/api/v1/zoom/connections/{c.pk}/settings/",
            {"sync_webinar_data": True, "webinar_exclusion_domains": ["@Partner.Example"]},
            format="json",
        ),
        "zoom.settings_changed",
        lambda c: ("zoom_connection", str(c.pk)),
        {"sync_webinar_data": False, "webinar_exclusion_domains": []},
        {"sync_webinar_data": True, "webinar_exclusion_domains": ["partner.example"]},
    ),
    "exclusion added (ui)": (
        lambda ui, api, c: ui.post(
            reverse("zoom_integration:domain_add", args=[c.pk, "contact_exclusion_domains"]),
            {"contact_exclusion_domains-domain": "Rival.com"},
        ),
        "zoom.settings_changed",
        lambda c: ("zoom_connection", str(c.pk)),
        {"contact_exclusion_domains": []},
        {"contact_exclusion_domains": ["rival.com"]},
    ),
    "recording exclusion removed (ui)": (
        lambda ui, api, c: (
            ZoomConnection.objects.filter(pk=c.pk).update(
                recording_exclusion_domains=["a.com", "b.com"]
            ),
            ui.post(
                reverse(
                    "zoom_integration:domain_remove", args=[c.pk, "recording_exclusion_domains"]
                ),
                {"domain": "a.com"},
            ),
        )[-1],
        "zoom.settings_changed",
        lambda c: ("zoom_connection", str(c.pk)),
        {"recording_exclusion_domains": ["a.com", "b.com"]},
        {"recording_exclusion_domains": ["b.com"]},
    ),
    "Zoom user toggles (ui)": (
        lambda ui, api, c: ui.post(
            reverse("zoom_integration:user_update", args=[c.pk, "u1"]), {"sync_recordings": "on"}
        ),
        "zoom.user_changed",
        lambda c: ("zoom_user", "u1"),
        {"sync_new_webinars_by_default": True, "sync_recordings": False},
        {"sync_new_webinars_by_default": False, "sync_recordings": True},
    ),
    "Zoom user toggle (api)": (
        lambda ui, api, c: api.patch(
            f"/api/v1/zoom/connections/{c.pk}/users/u2/", {"sync_recordings": True}, format="json"
        ),
        "zoom.user_changed",
        lambda c: ("zoom_user", "u2"),
        {"sync_recordings": False},
        {"sync_recordings": True},
    ),
    "webinar toggle (ui)": (
        lambda ui, api, c: ui.post(
            reverse("zoom_integration:webinar_toggle", args=[c.pk, _webinar(c).zoom_webinar_id]),
            {},
        ),
        "zoom.webinar_changed",
        lambda c: ("zoom_webinar", str(_webinar(c).zoom_webinar_id)),
        {"sync_enabled": True},
        {"sync_enabled": False},
    ),
    "webinar toggle (api)": (
        lambda ui, api, c: api.patch(
            f"/api/v1/zoom/connections/{c.pk}/webinars/{_webinar(c).zoom_webinar_id}/",
            {"sync_enabled": False},
            format="json",
        ),
        "zoom.webinar_changed",
        lambda c: ("zoom_webinar", str(_webinar(c).zoom_webinar_id)),
        {"sync_enabled": True},
        {"sync_enabled": False},
    ),
    "disconnect (ui)": (
        lambda ui, api, c: ui.post(reverse("zoom_integration:disconnect", args=[c.pk])),
        "zoom.disconnected",
        lambda c: ("zoom_connection", str(c.pk)),
        {"status": "connected"},
        {"status": "disconnected"},
    ),
    "disconnect (api)": (
        lambda ui, api, c: api.delete(f"/api/v1/zoom/connections/{c.pk}/"),
        "zoom.disconnected",
        lambda c: ("zoom_connection", str(c.pk)),
        {"status": "connected"},
        {"status": "disconnected"},
    ),
}


@pytest.mark.parametrize("case", list(LOCAL_CASES), ids=list(LOCAL_CASES))
def test_zoom_settings_changes(case, local, ui, admin_api, admin_user):
    act, kind, target, old, new = LOCAL_CASES[case]
    before_id = _last_id()
    response = act(ui, admin_api, local)
    assert response.status_code < 400, response.content[:300]
    entry = _only_entry(before_id)
    via = "api" if case.endswith("(api)") else "ui"
    assert (entry.kind, entry.via, entry.actor_id) == (kind, via, admin_user.pk)
    assert (entry.target_type, entry.target_id) == target(local)
    assert (entry.before, entry.after) == (old, new)
    _no_secret(entry, "secret")


ZOOM_NO_OPS = {
    "settings saved as they are (ui)": lambda ui, api, c: ui.post(
        reverse("zoom_integration:settings_update", args=[c.pk]), {"recordings_sync": "none"}
    ),
    "a domain already listed (ui)": lambda ui, api, c: (
        ZoomConnection.objects.filter(pk=c.pk).update(contact_exclusion_domains=["rival.com"]),
        ui.post(
            reverse("zoom_integration:domain_add", args=[c.pk, "contact_exclusion_domains"]),
            {"contact_exclusion_domains-domain": "@RIVAL.com"},
        ),
    )[-1],
    "same settings (api)": lambda ui, api, c: api.patch(
        f"/api/v1/zoom/connections/{c.pk}/settings/", {"sync_webinar_data": False}, format="json"
    ),
    "webinar toggle unchanged (api)": lambda ui, api, c: api.patch(
        f"/api/v1/zoom/connections/{c.pk}/webinars/{_webinar(c).zoom_webinar_id}/",
        {"sync_enabled": True},
        format="json",
    ),
    "disconnecting a disconnected connection (api)": lambda ui, api, c: (
        ZoomConnection.objects.filter(pk=c.pk).update(status="disconnected"),
        api.delete(f"/api/v1/zoom/connections/{c.pk}/"),
    )[-1],
}


@pytest.mark.parametrize("case", list(ZOOM_NO_OPS), ids=list(ZOOM_NO_OPS))
def test_zoom_saves_that_change_nothing_write_no_entry(case, local, ui, admin_api):
    before_id = _last_id()
    response = ZOOM_NO_OPS[case](ui, admin_api, local)
    assert response.status_code < 400
    assert not AuditEntry.objects.filter(pk__gt=before_id).exists()


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_restarting_oauth_on_a_pending_connection_lists_only_what_it_changes(
    admin_api, brand, zoom_sandbox, settings
):
    _oauth_connect(admin_api, brand, zoom_sandbox, settings)
    before_id = _last_id()
    response = admin_api.post(
        "/api/v1/zoom/connections/oauth/",
        {"brand": brand.pk, "client_id": "other-app", "client_secret": OAUTH["client_secret"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    entry = _only_entry(before_id)
    assert (entry.kind, entry.before, entry.after) == (
        "zoom.authorization_started",
        {"client_id": OAUTH["client_id"]},
        {"client_id": "other-app"},
    )
