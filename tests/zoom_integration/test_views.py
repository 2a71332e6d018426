"""The Zoom settings pages (Settings > Integrations > Connected apps > Zoom): connect, tabs Home
and Global settings, per-user panel and per-webinar toggles (rules A2, S1-S7), read-only for
everyone but super admins. Connect and refresh flows run against the sandbox (real HTTP)."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Brand
from tests.factories import UserFactory
from tests.zoom_integration.scenario import ACME, ENDED_ID, S2S, UPCOMING_ID
from zoom_integration.models import (
    ConnectionStatus,
    SyncRun,
    ZoomConnection,
    ZoomUser,
    ZoomWebinar,
)

pytestmark = pytest.mark.django_db

SETTINGS_URL = reverse("zoom_integration:settings")


def page_url(brand, tab="home", **extra):
    query = "&".join(f"{k}={v}" for k, v in {"brand": brand.pk, "tab": tab, **extra}.items())
    return f"{SETTINGS_URL}?{query}"


@pytest.fixture
def brands(db):
    return (
        Brand.objects.create(name="Acme", is_primary=True),
        Brand.objects.create(name="Beta", is_primary=False),
    )


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def make_connection(brand, *, users=3, status=ConnectionStatus.CONNECTED, id_base=0, **fields):
    """A connection with `users` Zoom users, each hosting one ended and one upcoming webinar."""
    now = timezone.now()
    connection = ZoomConnection.objects.create(
        brand=brand,
        kind=fields.pop("kind", "s2s"),
        status=status,
        zoom_account_id=fields.pop("zoom_account_id", "acct_local"),
        client_id="cid",
        client_secret="secret",
        connected_user_id="u0",
        connected_user_email="owner@acme.test",
        connected_at=now - dt.timedelta(days=1),
        metadata_refreshed_at=now,
        **fields,
    )
    for n in range(users):
        domain = "acme.test" if n % 2 == 0 else "partner.example"
        user = ZoomUser.objects.create(
            connection=connection,
            zoom_user_id=f"u{n}",
            email=f"host{n}@{domain}",
            first_name=f"Host{n}",
            last_name="Zoom",
        )
        for k, delta in enumerate((-5, 5)):
            start = now + dt.timedelta(days=delta)
            ZoomWebinar.objects.create(
                connection=connection,
                zoom_webinar_id=90_000_000_000 + id_base + n * 10 + k,
                host=user,
                host_zoom_id=user.zoom_user_id,
                host_email=user.email,
                topic=f"Webinar {n}-{k}",
                start_time=start,
                end_time=start + dt.timedelta(hours=1),
            )
    return connection


def html_of(response) -> str:
    return response.content.decode()


def field_block(html: str, data_field: str) -> str:
    start = html.index(f'data-field="{data_field}"')
    return html[start : start + 1500]


# Pages by role ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["super_admin", "marketing", "viewer"])
@pytest.mark.parametrize("tab", ["home", "settings"])
def test_pages_render_for_every_role(client, brands, role, tab):
    connection = make_connection(brands[0])
    client.force_login(UserFactory(role=role))
    response = client.get(page_url(brands[0], tab))
    html = html_of(response)
    assert response.status_code == 200
    assert "Global settings" in html and 'data-testid="connection-status"' in html
    assert "owner@acme.test" in html or tab == "settings"
    # The user panel opens for everyone (read-only for non-admins).
    panel = client.get(
        reverse("zoom_integration:user_panel", args=[connection.pk, "u0"]), HTTP_HX_REQUEST="true"
    )
    assert panel.status_code == 200 and "Manage individual webinars for this user" in html_of(panel)


@pytest.mark.parametrize("role", ["marketing", "viewer"])
def test_non_admins_see_no_write_controls(client, brands, role):
    connection = make_connection(brands[0])
    client.force_login(UserFactory(role=role))
    home = html_of(client.get(page_url(brands[0], "home")))
    settings_tab = html_of(client.get(page_url(brands[0], "settings", user="u0")))
    for html in (home, settings_tab):
        assert 'data-testid="read-only-note"' in html
        # No form posts anywhere under /integrations/zoom/, no action buttons.
        assert not re.search(r'<form[^>]+action="/integrations/zoom/', html)
        assert "hx-post" not in html
        for testid in ("sync-now", "disconnect", "refresh", "save-settings", "save-user"):
            assert f'data-testid="{testid}"' not in html
    # Every input of the settings tab and the open panel is disabled.
    inputs = re.findall(r"<input[^>]*>", settings_tab)
    visible = [i for i in inputs if 'type="hidden"' not in i and "webhook-url" not in i]
    assert visible and all("disabled" in i for i in visible), visible
    assert "Manage individual webinars for this user" in settings_tab
    assert connection.pk  # the page is about this connection


def test_a_brand_without_connection_shows_connect_card(admin_client, brands):
    html = html_of(admin_client.get(SETTINGS_URL))
    assert 'data-testid="connect-s2s"' in html and 'data-testid="connect-oauth"' in html
    assert "Connect Zoom to Acme" in html  # the primary brand by default
    assert "Primary brand" in html and 'data-brand="Beta"' in html  # the brand picker
    html = html_of(admin_client.get(f"{SETTINGS_URL}?brand={brands[1].pk}"))
    assert "Connect Zoom to Beta" in html
    assert admin_client.get(f"{SETTINGS_URL}?brand=999999").status_code == 404


def test_no_brand_at_all_says_what_to_do(admin_client):
    html = html_of(admin_client.get(SETTINGS_URL))
    assert "Add a brand first" in html and reverse("crm:settings_brands") in html


def test_marketer_sees_no_connect_forms(client, brands, marketer):
    client.force_login(marketer)
    html = html_of(client.get(SETTINGS_URL))
    assert 'data-testid="connect-readonly"' in html
    assert 'data-testid="connect-s2s"' not in html


def test_integrations_page_links_zoom_and_shows_each_brand_status(admin_client, brands):
    make_connection(brands[0], zoom_account_id=ACME)
    html = html_of(admin_client.get(reverse("crm:settings_integrations")))
    assert f'href="{SETTINGS_URL}"' in html
    acme = html[html.index('data-brand="Acme"') :][:700]
    beta = html[html.index('data-brand="Beta"') :][:700]
    assert "Connected" in acme and "Primary brand" in acme and ACME in acme
    assert "Not connected yet" in beta and "Primary brand" not in beta


# Connecting (sandbox) --------------------------------------------------------------------------


def s2s_form(**overrides):
    return {
        "account_id": ACME,
        "client_id": S2S["client_id"],
        "client_secret": S2S["client_secret"],
        "webhook_secret_token": "acme-whsec",
        **overrides,
    }


@pytest.fixture
def connected(admin_client, brands, zoom_sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("zoom_integration:connect_s2s", args=[brands[0].pk]), s2s_form()
        )
    assert response.status_code == 302, html_of(response)
    assert response["Location"] == page_url(brands[0], "home")
    return ZoomConnection.objects.get(brand=brands[0])


def test_connect_s2s_lists_users_and_webinars(admin_client, brands, connected):  # rule A2
    assert connected.status == ConnectionStatus.CONNECTED
    assert connected.sync_webinar_data is False  # a new connection syncs nothing yet
    home = html_of(admin_client.get(page_url(brands[0], "home")))
    assert "Zoom account acct_acme is connected to Acme" in home
    assert 'data-testid="zoom-account-id">acct_acme<' in home
    assert 'data-testid="connected-user">owner@acme.test<' in home
    assert connected.webhook_url in home
    assert "No sync has run yet" in home
    assert "Last refreshed" in home

    settings_tab = html_of(admin_client.get(page_url(brands[0], "settings")))
    for email in ("owner@acme.test", "host@events.acme.test", "mia@partner.example"):
        assert f'data-zoom-user="{email}"' in settings_tab
    # The ended webinar was found through the reports, and shows in its host's panel.
    panel = html_of(
        admin_client.get(
            reverse("zoom_integration:user_panel", args=[connected.pk, "u_host"]),
            HTTP_HX_REQUEST="true",
        )
    )
    assert "Ended launch" in panel and str(ENDED_ID) in panel and "Ended" in panel
    owner_panel = html_of(admin_client.get(page_url(brands[0], "settings", user="u_owner")))
    assert "Roadmap 2027" in owner_panel and "Upcoming" in owner_panel


def test_connect_s2s_with_refused_credentials_stores_nothing(admin_client, brands, zoom_sandbox):
    response = admin_client.post(
        reverse("zoom_integration:connect_s2s", args=[brands[0].pk]),
        s2s_form(client_secret="wrong"),
    )
    html = html_of(response)
    assert response.status_code == 400
    assert 'data-testid="connect-error"' in html and "Zoom refused these credentials" in html
    assert not ZoomConnection.objects.exists()
    # The typed account id stays; the secret is never echoed back.
    assert f'value="{ACME}"' in html and 'value="wrong"' not in html


def test_connect_s2s_missing_fields_are_inline_errors(admin_client, brands):
    response = admin_client.post(
        reverse("zoom_integration:connect_s2s", args=[brands[0].pk]),
        s2s_form(account_id="  ", client_secret=""),
    )
    html = html_of(response)
    assert response.status_code == 400
    assert 'class="field__error"' in field_block(html, "account_id")
    assert 'class="field__error"' in field_block(html, "client_secret")
    assert not ZoomConnection.objects.exists()


def test_connect_oauth_redirects_to_zoom(admin_client, brands, zoom_sandbox, settings):
    response = admin_client.post(
        reverse("zoom_integration:connect_oauth", args=[brands[0].pk]),
        {"client_id": "acme-oauth", "client_secret": "acme-oauth-secret"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(settings.ZOOM_OAUTH_BASE_URL + "/oauth/authorize")
    connection = ZoomConnection.objects.get(brand=brands[0])
    assert connection.status == ConnectionStatus.PENDING
    html = html_of(admin_client.get(SETTINGS_URL))
    assert "Waiting for Zoom authorization" in html and 'data-testid="continue-oauth"' in html


def test_refresh_fetches_users_again(
    admin_client, brands, connected, django_capture_on_commit_callbacks
):
    ZoomUser.objects.filter(connection=connected, zoom_user_id="u_partner").delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("zoom_integration:refresh", args=[connected.pk]))
    assert response.status_code == 302
    assert ZoomUser.objects.filter(connection=connected, zoom_user_id="u_partner").exists()
    connected.refresh_from_db()
    assert connected.metadata_refreshing is False


def test_refreshing_shows_progress_and_polls(admin_client, brands):
    connection = make_connection(brands[0], metadata_refreshing=True)
    html = html_of(admin_client.get(page_url(brands[0])))
    assert "Refreshing…" in html
    assert f'hx-get="{reverse("zoom_integration:metadata", args=[connection.pk])}"' in html
    assert 'data-testid="refresh"' not in html


def test_sync_now_runs_and_is_listed(
    admin_client, brands, connected, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("zoom_integration:sync_now", args=[connected.pk]))
    assert response.status_code == 302
    run = SyncRun.objects.get(connection=connected)
    assert (run.trigger, run.status, run.errors) == ("manual", "skipped", ["sync_disabled"])
    html = html_of(admin_client.get(page_url(brands[0])))
    row = html[html.index(f'data-run="{run.pk}"') :][:2500]
    assert "Skipped" in row and "Sync now" in row and "Sync webinar data is off" in row
    assert "No sync has run yet" not in html


def test_sync_now_while_a_run_is_active_names_it(admin_client, brands):
    connection = make_connection(brands[0])
    active = SyncRun.objects.create(connection=connection, trigger="scheduled", status="running")
    response = admin_client.post(
        reverse("zoom_integration:sync_now", args=[connection.pk]), follow=True
    )
    assert f"A sync is already under way (run #{active.pk})" in html_of(response)
    assert SyncRun.objects.count() == 1
    # The runs table polls every 2 s while a run is active, and stops after.
    poll = f'hx-get="{reverse("zoom_integration:sync_runs", args=[connection.pk])}"'
    assert poll in html_of(response) and 'hx-trigger="every 2s"' in html_of(response)
    active.status = "succeeded"
    active.save()
    fragment = html_of(
        admin_client.get(
            reverse("zoom_integration:sync_runs", args=[connection.pk]), HTTP_HX_REQUEST="true"
        )
    )
    assert "Succeeded" in fragment and poll not in fragment


def test_disconnect_keeps_users_and_webinars(admin_client, brands, connected):  # rule A2
    users, webinars = ZoomUser.objects.count(), ZoomWebinar.objects.count()
    assert users == 3 and webinars >= 3
    response = admin_client.post(reverse("zoom_integration:disconnect", args=[connected.pk]))
    assert response.status_code == 302
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.DISCONNECTED
    assert (ZoomUser.objects.count(), ZoomWebinar.objects.count()) == (users, webinars)
    home = html_of(admin_client.get(page_url(brands[0])))
    assert "Disconnected" in home and "Connect again" in home
    assert 'data-testid="sync-now"' not in home
    # The cached users stay readable.
    settings_tab = html_of(admin_client.get(page_url(brands[0], "settings")))
    assert 'data-zoom-user="mia@partner.example"' in settings_tab
    response = admin_client.post(
        reverse("zoom_integration:sync_now", args=[connected.pk]), follow=True
    )
    assert "disconnected: connect Zoom again" in html_of(response)


@pytest.mark.parametrize("kind", ["s2s", "oauth"])
def test_needs_reauth_says_so_with_a_way_back(admin_client, brands, kind):
    make_connection(
        brands[0],
        kind=kind,
        status=ConnectionStatus.NEEDS_REAUTH,
        last_error="Invalid refresh token.",
    )
    html = html_of(admin_client.get(page_url(brands[0])))
    assert "Needs re-authorization" in html and "Invalid refresh token." in html
    assert 'data-testid="reauth-reason"' in html
    if kind == "oauth":
        assert 'data-testid="reauthorize"' in html and 'data-testid="connect-s2s"' not in html
    else:
        assert 'data-testid="connect-s2s"' in html and "Re-authorize" in html


def test_reauthorize_oauth_restarts_the_flow(admin_client, brands, zoom_sandbox, settings):
    connection = make_connection(brands[0], kind="oauth", status=ConnectionStatus.NEEDS_REAUTH)
    response = admin_client.post(reverse("zoom_integration:reauthorize", args=[connection.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(settings.ZOOM_OAUTH_BASE_URL + "/oauth/authorize")
    connection.refresh_from_db()
    assert connection.oauth_state and connection.oauth_state in response["Location"]


# Global settings ------------------------------------------------------------------------------


def test_global_settings_save(admin_client, brands):  # rules S1, S2
    connection = make_connection(brands[0])
    response = admin_client.post(
        reverse("zoom_integration:settings_update", args=[connection.pk]),
        {"sync_webinar_data": "on", "recordings_sync": "selected", "zoom_plan": "business"},
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.sync_webinar_data, connection.recordings_sync) == (True, "selected")
    assert connection.zoom_plan == "business"  # the client-side rate limits follow it
    html = html_of(admin_client.get(page_url(brands[0], "settings")))
    assert re.search(r'name="sync_webinar_data"[^>]*checked', html)
    assert re.search(r'value="selected"[^>]*checked', html)


def test_global_settings_bad_choice_is_inline(admin_client, brands):
    connection = make_connection(brands[0])
    response = admin_client.post(
        reverse("zoom_integration:settings_update", args=[connection.pk]),
        {"sync_webinar_data": "on", "recordings_sync": "some"},
    )
    assert response.status_code == 400
    assert 'class="field__error"' in field_block(html_of(response), "recordings_sync")
    connection.refresh_from_db()
    assert (connection.sync_webinar_data, connection.recordings_sync) == (False, "none")


@pytest.mark.parametrize("htmx", [True, False])
def test_domain_add_is_normalized(admin_client, brands, htmx):  # rules S3, S7
    connection = make_connection(brands[0])
    url = reverse("zoom_integration:domain_add", args=[connection.pk, "webinar_exclusion_domains"])
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = admin_client.post(
        url, {"webinar_exclusion_domains-domain": "@Acme.test "}, **headers
    )
    connection.refresh_from_db()
    assert connection.webinar_exclusion_domains == ["acme.test"]
    if htmx:
        assert response.status_code == 200
        assert 'data-domain="acme.test"' in html_of(response)
        assert "Added acme.test." in html_of(response)
    else:
        assert response.status_code == 302


@pytest.mark.parametrize("htmx", [True, False])
def test_domain_add_invalid_is_an_inline_error_and_saves_nothing(admin_client, brands, htmx):
    connection = make_connection(brands[0], contact_exclusion_domains=["acme.test"])
    url = reverse("zoom_integration:domain_add", args=[connection.pk, "contact_exclusion_domains"])
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = admin_client.post(
        url, {"contact_exclusion_domains-domain": "not a domain"}, **headers
    )
    assert response.status_code == (200 if htmx else 400)
    block = field_block(html_of(response), "contact_exclusion_domains-domain")
    assert 'class="field__error"' in block and "is not a valid domain" in block
    assert 'value="not a domain"' in block  # the typed value stays for correction
    connection.refresh_from_db()
    assert connection.contact_exclusion_domains == ["acme.test"]


def test_domain_add_empty_and_duplicate(admin_client, brands):
    connection = make_connection(brands[0], recording_exclusion_domains=["acme.test"])
    url = reverse(
        "zoom_integration:domain_add", args=[connection.pk, "recording_exclusion_domains"]
    )
    key = "recording_exclusion_domains-domain"
    html = html_of(admin_client.post(url, {key: "  "}, HTTP_HX_REQUEST="true"))
    assert "Enter a domain, such as example.com." in html
    html = html_of(admin_client.post(url, {key: "ACME.test"}, HTTP_HX_REQUEST="true"))
    assert "is already in the list" in html
    connection.refresh_from_db()
    assert connection.recording_exclusion_domains == ["acme.test"]


def test_domain_remove(admin_client, brands):
    connection = make_connection(brands[0], webinar_exclusion_domains=["a.test", "b.test"])
    url = reverse(
        "zoom_integration:domain_remove", args=[connection.pk, "webinar_exclusion_domains"]
    )
    response = admin_client.post(url, {"domain": "a.test"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-domain="a.test"' not in html_of(response)
    connection.refresh_from_db()
    assert connection.webinar_exclusion_domains == ["b.test"]


def test_unknown_domain_list_is_404(admin_client, brands):
    connection = make_connection(brands[0])
    url = reverse("zoom_integration:domain_add", args=[connection.pk, "sync_webinar_data"])
    assert admin_client.post(url, {"sync_webinar_data-domain": "a.test"}).status_code == 404


def test_recording_exclusions_offer_the_zoom_users_domains(admin_client, brands):  # rule S4
    connection = make_connection(brands[0], users=4, recording_exclusion_domains=["acme.test"])
    ZoomUser.objects.create(connection=connection, zoom_user_id="x", email="X@Sub.Acme.TEST")
    html = html_of(admin_client.get(page_url(brands[0], "settings")))
    block = html[html.index('id="domains-recording_exclusion_domains"') :]
    block = block[: block.index("</section>")]
    assert "Enter a domain or choose from the list" in block
    assert re.findall(r'data-choice="([^"]+)"', block) == ["partner.example", "sub.acme.test"]
    assert '<option value="acme.test">' in block  # the datalist offers them all
    # The other lists offer no choices.
    other = html[html.index('id="domains-contact_exclusion_domains"') :]
    assert "data-choice" not in other[: other.index("</section>")]


# Individual user settings (rule S6) -----------------------------------------------------------


def test_user_panel_toggles_save(admin_client, brands):
    connection = make_connection(brands[0])
    url = reverse("zoom_integration:user_update", args=[connection.pk, "u1"])
    response = admin_client.post(url, {"sync_recordings": "on"}, HTTP_HX_REQUEST="true")
    html = html_of(response)
    assert response.status_code == 200 and "Saved." in html
    assert 'hx-swap-oob="true"' in html  # the users table row follows
    user = ZoomUser.objects.get(connection=connection, zoom_user_id="u1")
    assert (user.sync_new_webinars_by_default, user.sync_recordings) == (False, True)
    response = admin_client.post(url, {"sync_new_webinars_by_default": "on"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.sync_new_webinars_by_default, user.sync_recordings) == (True, False)


def test_user_panel_without_htmx_opens_on_the_page(admin_client, brands):
    connection = make_connection(brands[0])
    response = admin_client.get(reverse("zoom_integration:user_panel", args=[connection.pk, "u2"]))
    assert response.status_code == 302
    assert response["Location"] == page_url(brands[0], "settings", user="u2")
    html = html_of(admin_client.get(response["Location"]))
    assert 'data-testid="user-panel"' in html and "host2@acme.test" in html
    assert "Webinar 2-0" in html and "Webinar 1-0" not in html
    missing = reverse("zoom_integration:user_panel", args=[connection.pk, "nobody"])
    assert admin_client.get(missing).status_code == 404


def test_webinar_toggle(admin_client, brands):
    connection = make_connection(brands[0])
    webinar = ZoomWebinar.objects.filter(connection=connection).first()
    url = reverse("zoom_integration:webinar_toggle", args=[connection.pk, webinar.zoom_webinar_id])
    response = admin_client.post(url, {}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Sync off" in html_of(response)
    webinar.refresh_from_db()
    assert webinar.sync_enabled is False
    admin_client.post(url, {"sync_enabled": "1"}, HTTP_HX_REQUEST="true")
    webinar.refresh_from_db()
    assert webinar.sync_enabled is True


def test_webinars_of_another_connection_are_404(admin_client, brands):
    mine = make_connection(brands[0])
    other = make_connection(brands[1], zoom_account_id="acct_other", id_base=5_000)
    webinar = ZoomWebinar.objects.filter(connection=other).first()
    url = reverse("zoom_integration:webinar_toggle", args=[mine.pk, webinar.zoom_webinar_id])
    assert admin_client.post(url, {}).status_code == 404


# Permissions ----------------------------------------------------------------------------------


def _post_urls(connection, brand):
    cid = connection.pk
    return [
        reverse("zoom_integration:connect_s2s", args=[brand.pk]),
        reverse("zoom_integration:connect_oauth", args=[brand.pk]),
        reverse("zoom_integration:reauthorize", args=[cid]),
        reverse("zoom_integration:disconnect", args=[cid]),
        reverse("zoom_integration:refresh", args=[cid]),
        reverse("zoom_integration:sync_now", args=[cid]),
        reverse("zoom_integration:settings_update", args=[cid]),
        reverse("zoom_integration:domain_add", args=[cid, "webinar_exclusion_domains"]),
        reverse("zoom_integration:domain_remove", args=[cid, "webinar_exclusion_domains"]),
        reverse("zoom_integration:user_update", args=[cid, "u0"]),
        reverse("zoom_integration:webinar_toggle", args=[cid, UPCOMING_ID]),
    ]


@pytest.mark.parametrize("role", ["marketing", "viewer"])
def test_every_post_is_403_for_non_admins(client, brands, role):
    connection = make_connection(brands[0], webinar_exclusion_domains=["a.test"])
    client.force_login(UserFactory(role=role))
    for url in _post_urls(connection, brands[0]):
        data = {
            "sync_webinar_data": "on",
            "recordings_sync": "all",
            "domain": "a.test",
            "webinar_exclusion_domains-domain": "b.test",
            **s2s_form(),
        }
        assert client.post(url, data).status_code == 403, url
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.CONNECTED
    assert connection.sync_webinar_data is False
    assert connection.webinar_exclusion_domains == ["a.test"]
    assert not SyncRun.objects.exists()


def test_anonymous_is_sent_to_log_in(client, brands):
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# Query counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("users", [3, 30])
@pytest.mark.parametrize("tab", ["home", "settings"])
def test_query_count_does_not_grow_with_zoom_users(
    admin_client, brands, users, tab, django_assert_max_num_queries
):
    connection = make_connection(brands[0], users=users)
    for _ in range(3):
        SyncRun.objects.create(connection=connection, trigger="manual", status="succeeded")
    url = page_url(brands[0], tab, user="u1") if tab == "settings" else page_url(brands[0], tab)
    with django_assert_max_num_queries(14):
        response = admin_client.get(url)
    assert response.status_code == 200
