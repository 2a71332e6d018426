"""The audit trail in a real browser: a super admin turns *Sync webinar data* on in the Zoom
Global settings, opens Settings > Audit log and sees who changed it, from what to what; the
kind filter keeps the row (issue 22, item 4)."""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import Brand, Role
from tests.factories import UserFactory
from tests.support.browser import log_in
from tests.zoom_integration.test_views import make_connection

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_zoom_setting_change_shows_in_the_audit_log(live_server, page: Page):
    brand = Brand.objects.create(name="Acme", is_primary=True)
    make_connection(brand)
    UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN, first_name="Ada")

    log_in(page, live_server, "admin@crm.test")
    page.goto(f"{live_server.url}/integrations/zoom/?brand={brand.pk}&tab=settings")
    page.get_by_label("Sync webinar data").check()
    page.get_by_test_id("save-settings").click()
    expect(page.get_by_text("Global settings saved.")).to_be_visible()

    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_test_id("nav-audit-log").click()
    row = page.get_by_test_id("audit-row").first
    expect(row).to_contain_text("admin@crm.test")
    expect(row).to_contain_text("Web interface")
    expect(row).to_contain_text("Zoom settings changed")
    expect(row).to_contain_text("Acme")
    expect(row).to_contain_text("Sync webinar data: no → yes")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "audit-log.png"), full_page=True)

    page.get_by_label("What").select_option("zoom.settings_changed")
    page.get_by_test_id("audit-filter").click()
    expect(page.get_by_test_id("audit-row")).to_have_count(1)
    expect(page.get_by_test_id("audit-csv")).to_have_attribute(
        "href", "/settings/audit-log/export.csv?kind=zoom.settings_changed"
    )
