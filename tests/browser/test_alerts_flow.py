"""Alerts and the audit trail in a real browser, against the sandbox (issue 22): an admin turns
*Sync webinar data* on; someone rotates the Zoom app's client secret; the admin presses "Sync
now" → the run fails → the bell in the top bar shows the unread count → the notifications page
lists the alerts with their fix hint; marking them read empties the count → Settings > Audit log
shows who changed the settings. Screenshots go to screenshots/alerts-*.png."""

from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from crm.models import Brand, Role
from tests.factories import UserFactory
from tests.support.browser import log_in
from tests.zoom_integration.scenario import ACME, S2S, acme_account
from zoom_integration.models import SyncRun
from zoom_integration.services.connections import connection_create_s2s

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"alerts-{name}.png"), full_page=True)


def test_a_broken_connection_rings_the_bell(
    live_server, page: Page, zoom_sandbox, settings, django_capture_on_commit_callbacks
):
    brand = Brand.objects.create(name="Acme", is_primary=True)
    UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN, first_name="Ada")
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(brand=brand, account_id=ACME, **S2S)
    # Break the credentials at Zoom: the app's secret is rotated, the CRM's tokens die.
    account = acme_account(settings.PUBLIC_BASE_URL)
    next(app for app in account["apps"] if app["type"] == "s2s")["client_secret"] = "rotated"
    zoom_sandbox.post("/_sandbox/accounts", json=account).raise_for_status()
    mail.outbox.clear()

    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, "admin@crm.test")
    expect(page.get_by_test_id("bell")).to_have_attribute("aria-label", "Notifications")
    expect(page.get_by_test_id("bell-count")).to_have_count(0)

    # The admin turns the sync of webinar data on (the audit trail records it).
    page.goto(f"{live_server.url}/integrations/zoom/?brand={brand.pk}&tab=settings")
    page.get_by_label("Sync webinar data").check()
    page.get_by_test_id("save-settings").click()
    expect(page.get_by_text("Global settings saved.")).to_be_visible()

    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Connected apps").click()
    page.get_by_test_id("open-zoom").click()
    page.get_by_test_id("sync-now").click()
    run = SyncRun.objects.get(connection=connection)
    expect(page.locator(f'[data-run="{run.pk}"] .run-status')).to_have_text("Failed")

    # The page after the run: the bell counts the two alerts (re-authorization, failed run).
    page.reload()
    expect(page.get_by_test_id("bell-count")).to_have_text("2")
    expect(page.get_by_test_id("bell")).to_have_attribute("aria-label", "Notifications: 2 unread")
    _shot(page, "01-bell")

    page.get_by_test_id("bell").click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    items = page.get_by_test_id("notification")
    expect(items).to_have_count(2)
    reauth = items.filter(has_text="Zoom connection of Acme needs re-authorization")
    expect(reauth.get_by_test_id("alert-hint")).to_contain_text(
        "Open Settings > Integrations > Zoom for this brand and re-authorize the connection"
    )
    failed = items.filter(has_text="A Zoom sync of Acme failed")
    expect(failed).to_contain_text(f"Sync run {run.pk} failed")
    expect(failed.get_by_test_id("alert-state")).to_have_text("Ongoing")
    expect(page.locator(".notification--unread")).to_have_count(2)
    _shot(page, "02-list")
    assert sorted(m.subject for m in mail.outbox) == [
        "[CRM alert] A Zoom sync of Acme failed",
        "[CRM alert] Zoom connection of Acme needs re-authorization",
    ]

    # The failed run's item links to the run page.
    failed.get_by_role("link", name="A Zoom sync of Acme failed").click()
    expect(page.get_by_test_id("run-title")).to_have_text(f"Sync run #{run.pk}")
    page.go_back()

    page.get_by_test_id("mark-all-read").click()
    expect(page.locator(".notification--unread")).to_have_count(0)
    expect(page.get_by_test_id("bell-count")).to_have_count(0)
    page.get_by_test_id("filter-unread").click()
    expect(page.get_by_test_id("empty-state")).to_contain_text("Nothing unread")

    # Who changed the settings: the audit trail.
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_test_id("nav-audit-log").click()
    row = page.get_by_test_id("audit-row").filter(has_text="Zoom settings changed")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("admin@crm.test")
    expect(row).to_contain_text("Web interface")
    expect(row).to_contain_text("Sync webinar data: no → yes")
    _shot(page, "03-audit")
