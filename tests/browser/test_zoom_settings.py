"""The Zoom settings page in a real browser, against the sandbox: an admin connects the sandbox
account, turns *Sync webinar data* on, sets recordings to "selected users", adds `@Acme.test `
(stored as `acme.test`) and an invalid domain (inline error, nothing saved), picks a
recording-exclusion domain from the list, opens a Zoom user's panel, turns a webinar's sync
off; a reload shows every change kept. A marketer sees the page read-only (rules A2, S1-S7)."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import Brand, Role
from tests.factories import UserFactory
from tests.support.browser import log_in as _log_in
from tests.zoom_integration.scenario import ACME, ENDED_ID, S2S
from zoom_integration.models import ZoomConnection, ZoomWebinar

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Full pages from the top (the sticky top bar stays in place); an open side panel is
    fixed to the viewport, so it is shot as the viewport."""
    SCREENSHOTS.mkdir(exist_ok=True)
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"zoom-{name}.png"), full_page=full_page)


def _connection() -> ZoomConnection:
    return ZoomConnection.objects.get(brand__name="Acme")


def test_admin_configures_zoom_and_a_marketer_sees_it_read_only(
    live_server, page: Page, zoom_sandbox
):
    Brand.objects.create(name="Acme", is_primary=True)
    Brand.objects.create(name="Acme Labs")
    UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN, first_name="Ada")
    UserFactory(email="marketer@crm.test", role=Role.MARKETING, first_name="Mo")

    # Settings > Integrations > Connected apps > Zoom
    _log_in(page, live_server, "admin@crm.test")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Connected apps").click()
    expect(page.get_by_test_id("zoom-brand-statuses")).to_contain_text("Not connected yet")
    page.get_by_test_id("open-zoom").click()
    expect(page.get_by_role("heading", name="Connect Zoom to Acme")).to_be_visible()
    expect(page.get_by_test_id("brand-picker")).to_contain_text("Primary brand")

    # Connect the sandbox account with Server-to-Server OAuth.
    form = page.get_by_test_id("connect-s2s")
    form.get_by_label("Account ID").fill(ACME)
    form.get_by_label("Client ID").fill(S2S["client_id"])
    form.get_by_label("Client secret").fill(S2S["client_secret"])
    form.get_by_label("Webhook secret token").fill("acme-whsec")
    _shot(page, "01-connect")
    form.get_by_role("button", name="Connect with Server-to-Server OAuth").click()
    expect(page.get_by_test_id("connection-status").first).to_have_text("Connected")
    expect(page.get_by_test_id("connected-user")).to_have_text("owner@acme.test")
    expect(page.get_by_test_id("zoom-account-id")).to_have_text(ACME)
    expect(page.get_by_test_id("webhook-url")).to_have_value(
        re.compile(rf"/integrations/zoom/webhooks/{_connection().pk}/$")
    )
    expect(page.get_by_test_id("no-runs")).to_contain_text("No sync has run yet")
    expect(page.get_by_test_id("sync-off-banner")).to_be_visible()
    _shot(page, "02-home")

    # Global settings: S1 on, S2 "Selected users".
    page.get_by_test_id("zoom-tabs").get_by_role("link", name="Global settings").click()
    page.get_by_label("Sync webinar data").check()
    page.get_by_label("Selected users").check()
    page.get_by_test_id("save-settings").click()
    expect(page.get_by_text("Global settings saved.")).to_be_visible()
    connection = _connection()
    assert (connection.sync_webinar_data, connection.recordings_sync) == (True, "selected")

    # S3: a messy domain is normalized; an invalid one is an inline error and saves nothing.
    exclusions = page.get_by_test_id("webinar_exclusion_domains")
    exclusions.get_by_label("Add a domain").fill("@Acme.test ")
    exclusions.get_by_role("button", name="Add", exact=True).click()
    expect(exclusions.locator('[data-domain="acme.test"]')).to_be_visible()
    assert _connection().webinar_exclusion_domains == ["acme.test"]
    exclusions = page.get_by_test_id("webinar_exclusion_domains")
    exclusions.get_by_label("Add a domain").fill("not a domain!")
    exclusions.get_by_role("button", name="Add", exact=True).click()
    expect(exclusions.get_by_role("alert")).to_contain_text("is not a valid domain")
    expect(exclusions.get_by_label("Add a domain")).to_have_value("not a domain!")
    assert _connection().webinar_exclusion_domains == ["acme.test"]
    _shot(page, "03-domain-error")

    # S4: "enter a domain or choose from the list" of the Zoom users' domains.
    recordings = page.get_by_test_id("recording_exclusion_domains")
    expect(recordings.get_by_label("Enter a domain or choose from the list")).to_be_visible()
    recordings.locator('[data-choice="partner.example"]').click()
    expect(recordings.locator('[data-domain="partner.example"]')).to_be_visible()
    expect(recordings.locator('[data-choice="partner.example"]')).to_have_count(0)
    assert _connection().recording_exclusion_domains == ["partner.example"]

    # S6: the host's User settings panel, one webinar's sync turned off.
    row = page.locator('[data-zoom-user="host@events.acme.test"]')
    row.get_by_role("link", name="User settings").click()
    panel = page.get_by_test_id("user-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Sync data from newly scheduled webinars by default")).to_be_checked()
    webinar = panel.locator(f'[data-webinar="{ENDED_ID}"]')
    expect(webinar).to_contain_text("Ended launch")
    expect(webinar).to_contain_text("Ended")
    expect(webinar.get_by_test_id("webinar-sync")).to_be_checked()
    webinar.get_by_test_id("webinar-sync").click()
    expect(panel.locator(f'[data-webinar="{ENDED_ID}"]')).to_contain_text("Sync off")
    assert ZoomWebinar.objects.get(zoom_webinar_id=ENDED_ID).sync_enabled is False
    _shot(page, "04-user-panel", full_page=False)

    # A reload keeps every change.
    page.reload()
    expect(page.get_by_label("Sync webinar data")).to_be_checked()
    expect(page.get_by_label("Selected users")).to_be_checked()
    expect(
        page.get_by_test_id("webinar_exclusion_domains").locator('[data-domain="acme.test"]')
    ).to_be_visible()
    expect(page.get_by_test_id("webinar_exclusion_domains")).not_to_contain_text("not a domain")
    expect(
        page.get_by_test_id("recording_exclusion_domains").locator(
            '[data-domain="partner.example"]'
        )
    ).to_be_visible()
    page.locator('[data-zoom-user="host@events.acme.test"]').get_by_role(
        "link", name="User settings"
    ).click()
    reloaded = page.get_by_test_id("user-panel").locator(f'[data-webinar="{ENDED_ID}"]')
    expect(reloaded.get_by_test_id("webinar-sync")).not_to_be_checked()
    _shot(page, "05-after-reload", full_page=False)
    page.get_by_test_id("close-panel").click()
    expect(page.get_by_test_id("user-panel")).to_have_count(0)

    # A marketer sees the same page read-only.
    page.get_by_role("button", name="Log out").click()
    _log_in(page, live_server, "marketer@crm.test")
    page.goto(live_server.url + "/integrations/zoom/?tab=settings")
    expect(page.get_by_test_id("read-only-note")).to_be_visible()
    expect(page.get_by_label("Sync webinar data")).to_be_checked()
    expect(page.get_by_label("Sync webinar data")).to_be_disabled()
    expect(page.get_by_label("Selected users")).to_be_disabled()
    expect(page.get_by_test_id("save-settings")).to_have_count(0)
    expect(page.get_by_role("button", name="Add")).to_have_count(0)
    expect(page.locator(".chip__remove")).to_have_count(0)
    page.locator('[data-zoom-user="host@events.acme.test"]').get_by_role(
        "link", name="User settings"
    ).click()
    panel = page.get_by_test_id("user-panel")
    expect(
        panel.locator(f'[data-webinar="{ENDED_ID}"]').get_by_test_id("webinar-sync")
    ).to_be_disabled()
    expect(panel.get_by_test_id("save-user")).to_have_count(0)
    _shot(page, "06-marketer-read-only", full_page=False)
    page.goto(live_server.url + "/integrations/zoom/")
    expect(page.get_by_test_id("sync-now")).to_have_count(0)
    expect(page.get_by_test_id("disconnect")).to_have_count(0)
    expect(page.get_by_test_id("refresh")).to_have_count(0)
    _shot(page, "07-marketer-home")


def test_sync_now_lists_the_run(live_server, page: Page, zoom_sandbox):
    from zoom_integration.services.connections import connection_create_s2s

    brand = Brand.objects.create(name="Acme", is_primary=True)
    UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN)
    connection_create_s2s(brand=brand, account_id=ACME, **S2S)  # refresh runs at commit
    _log_in(page, live_server, "admin@crm.test")
    page.goto(live_server.url + "/integrations/zoom/")
    expect(page.get_by_test_id("no-runs")).to_be_visible()
    page.get_by_test_id("sync-now").click()
    expect(page.get_by_text(re.compile(r"Sync #\d+ started"))).to_be_visible()
    runs = page.get_by_test_id("sync-runs")
    expect(runs).to_contain_text("Skipped")
    expect(runs).to_contain_text("Sync webinar data is off")
    expect(runs).to_contain_text("3 Zoom users")
    _shot(page, "08-sync-run")
