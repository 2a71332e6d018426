"""The API docs page in a real browser with the network cut off (CHROMIUM_ARGS resolve no host
but localhost): Swagger UI, served from drf-spectacular-sidecar, renders the operations list,
asks no other host for anything and breaks no rule of the Content-Security-Policy."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_the_operations_offline(live_server, page: Page, csp_violations):
    elsewhere, failed = [], []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((live_server.url, "data:"))
            else elsewhere.append(request.url)
        ),
    )
    page.on("requestfailed", lambda request: failed.append(request.url))

    page.goto(live_server.url + "/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Zoom webinar CRM API")
    brands = page.locator(".opblock-summary-path", has_text="/api/v1/brands/").first
    expect(brands).to_be_visible()
    assert page.locator(".opblock").count() > 20

    # An operation opens and shows its responses.
    brands.click()
    expect(page.locator(".opblock.is-open .responses-wrapper").first).to_be_visible()

    assert elsewhere == []
    assert failed == []
    assert csp_violations == []
