"""A marketer automates Zoom registrations in a real browser (rules W1–W7): with the sandbox
connected for the primary brand and the Professional tier, creates a workflow whose action
adds the contact to a webinar picked in the editor, turns it on, enrolls a contact from the
contact page and sees the succeeded row with the join URL in the execution log; then enrolls
the host of another webinar from a second workflow's page and sees the failed row with its
reason. Screenshots go to screenshots/wf-*.png."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import Account, Brand, Role, Tier
from tests.factories import ContactFactory, UserFactory
from tests.support.browser import log_in as _log_in
from tests.workflows.conftest import create_enrollment, create_workflow
from tests.zoom_integration.scenario import ACME, RECURRING_ID, S2S, UPCOMING_ID
from workflows.models import ActionExecution, Workflow
from zoom_integration.models import ZoomWebinar
from zoom_integration.services.connections import connection_create_s2s

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"wf-{name}.png"), full_page=True)


def _create_workflow(page: Page, name: str, *, pick: str | None = None, typed: str = "") -> None:
    page.get_by_role("link", name="Workflows", exact=True).click()
    page.get_by_test_id("new-workflow").first.click()
    page.get_by_test_id("workflow-name-input").fill(name)
    expect(page.get_by_test_id("trigger-manual")).to_be_checked()
    expect(page.get_by_test_id("segment-builder")).to_be_hidden()
    page.get_by_test_id("add-step").first.click()
    page.get_by_test_id("step-menu").locator("[data-type='zoom.add_contact_to_webinar']").click()
    panel = page.get_by_test_id("step-panel")
    if pick:
        panel.get_by_test_id("field-webinar_id").select_option(pick)
        expect(panel.get_by_test_id("typed-webinar_id")).to_have_value(pick)  # the picker fills it
    if typed:
        panel.get_by_test_id("typed-webinar_id").fill(typed)


def test_marketer_registers_contacts_through_a_workflow(live_server, page: Page, zoom_sandbox):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    acme = Brand.objects.create(name="Acme", is_primary=True)
    connection_create_s2s(brand=acme, account_id=ACME, **S2S)  # users and webinars, at commit
    assert ZoomWebinar.objects.filter(zoom_webinar_id=UPCOMING_ID).exists()
    UserFactory(email="marketer@crm.test", role=Role.MARKETING)
    ana = ContactFactory(email="ana@client.example", first_name="Ana", last_name="Silva")
    mia = ContactFactory(email="mia@partner.example", first_name="Mia", last_name="Partner")

    page.set_viewport_size({"width": 1380, "height": 900})
    _log_in(page, live_server, "marketer@crm.test")
    page.get_by_role("link", name="Workflows", exact=True).click()
    expect(page.get_by_test_id("workflows-empty")).to_be_visible()
    _shot(page, "01-empty-list")

    # The editor: a bad id first (the side panel says why, the step is marked, nothing is sent).
    _create_workflow(page, "Register for Roadmap", typed="8400-000")
    panel = page.get_by_test_id("step-panel")
    expect(panel).to_contain_text("without spaces or dashes")
    page.get_by_test_id("save-workflow").click()
    expect(page.get_by_test_id("flow-invalid")).to_be_visible()
    expect(page.get_by_test_id("step").first).to_have_class(re.compile("wf-step--invalid"))
    expect(panel.get_by_test_id("typed-webinar_id")).to_have_value("8400-000")
    expect(page.get_by_test_id("workflow-name-input")).to_have_value("Register for Roadmap")
    _shot(page, "02-editor-error")

    # Pick the webinar in the picker (it replaces the typed id), glance at the filter trigger.
    panel.get_by_test_id("field-webinar_id").select_option(str(UPCOMING_ID))
    expect(panel.get_by_test_id("typed-webinar_id")).to_have_value(str(UPCOMING_ID))
    expect(panel.get_by_test_id("field-webinar_id")).to_contain_text("Roadmap 2027")
    expect(page.get_by_test_id("step").first).not_to_have_class(re.compile("wf-step--invalid"))
    page.get_by_test_id("trigger-filters").check()
    expect(page.get_by_test_id("segment-builder")).to_be_visible()
    expect(page.get_by_test_id("filter-row")).to_have_count(1)
    _shot(page, "03-editor-filters-trigger")
    page.get_by_test_id("trigger-manual").check()
    expect(page.get_by_test_id("segment-builder")).to_be_hidden()
    # A second step can be added after it and removed again.
    page.get_by_test_id("add-step").nth(1).click()
    page.get_by_test_id("step-menu").locator("[data-type='delay']").click()
    expect(page.get_by_test_id("step")).to_have_count(2)
    page.get_by_test_id("step-panel").get_by_test_id("remove-step").click()
    expect(page.get_by_test_id("step")).to_have_count(1)
    _shot(page, "04-editor-picked")
    page.get_by_test_id("save-workflow").click()

    expect(page.get_by_test_id("workflow-name")).to_have_text("Register for Roadmap")
    expect(page.get_by_test_id("workflow-steps")).to_contain_text(
        f"Add contact to Zoom webinar {UPCOMING_ID}"
    )
    expect(page.get_by_test_id("log-empty")).to_be_visible()
    page.get_by_test_id("turn-on").click()
    expect(page.get_by_text("The workflow is on.")).to_be_visible()
    expect(page.get_by_test_id("workflow-state")).to_have_text("On")
    _shot(page, "05-workflow-on")

    # Enroll Ana from her contact page; the run happens at commit, inside the request.
    page.goto(live_server.url + f"/contacts/{ana.pk}/")
    page.get_by_test_id("enroll-workflow-select").select_option(label="Register for Roadmap")
    _shot(page, "06-contact-enroll-form")
    page.get_by_test_id("enroll-workflow-submit").click()
    expect(page.get_by_text("1 contact enrolled.")).to_be_visible()
    execution = ActionExecution.objects.get(contact=ana)
    assert execution.status == "succeeded", execution.message
    join_url = execution.output["join_url"]
    assert join_url.startswith("http")

    page.get_by_role("link", name="Workflows", exact=True).click()
    table = page.get_by_test_id("workflow-table")
    expect(table).to_contain_text("Register for Roadmap")
    expect(table.locator("tr", has_text="Register for Roadmap")).to_contain_text("1")
    _shot(page, "07-list")
    table.get_by_role("link", name="Register for Roadmap").click()
    log_row = page.get_by_test_id("log-row").first
    expect(log_row.get_by_test_id("log-status-badge")).to_have_text("Succeeded")
    expect(log_row).to_contain_text("ana@client.example")
    expect(log_row.get_by_test_id("log-message")).to_contain_text("Registered to “Roadmap 2027”")
    log_row.get_by_text("Details").click()
    link = log_row.get_by_test_id("log-join_url")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", join_url)
    _shot(page, "08-log-succeeded")

    # A second workflow on the webinar Mia hosts: registering her fails (rule W5).
    _create_workflow(page, "Office hours", typed=str(RECURRING_ID))
    page.get_by_test_id("save-workflow").click()
    expect(page.get_by_test_id("workflow-name")).to_have_text("Office hours")
    page.get_by_test_id("enroll-contacts-input").fill(mia.email)
    page.get_by_test_id("enroll-submit").click()
    expect(page.get_by_text("The workflow is off: turn it on to enroll contacts")).to_be_visible()
    page.get_by_test_id("turn-on").click()
    page.get_by_test_id("enroll-contacts-input").fill("MIA@partner.example")
    page.get_by_test_id("enroll-submit").click()
    expect(page.get_by_text("1 contact enrolled.")).to_be_visible()
    failed = page.get_by_test_id("log-row").first
    expect(failed.get_by_test_id("log-status-badge")).to_have_text("Failed")
    expect(failed.get_by_test_id("log-message")).to_have_text(
        "Webinar host cannot register to the webinar"
    )
    _shot(page, "09-log-failed")

    # The log filters: by status (HTMX swaps the log in place and keeps the URL).
    office = Workflow.objects.get(name="Office hours")
    page.get_by_test_id("log-status").select_option("succeeded")
    page.get_by_test_id("log-filter").click()
    expect(page.get_by_text("No execution matches these filters.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/workflows/{office.pk}/\?status=succeeded"))
    page.get_by_test_id("log-status").select_option("failed")
    page.get_by_test_id("log-filter").click()
    expect(page.get_by_test_id("log-row")).to_have_count(1)
    _shot(page, "10-log-filtered")


def test_segment_page_offers_enrollment_and_lower_tiers_get_the_reason(live_server, page: Page):
    from segments.models import Segment, SegmentKind, SegmentMember

    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN)
    segment = Segment.objects.create(name="Hand-picked", kind=SegmentKind.STATIC)
    SegmentMember.objects.create(segment=segment, contact=ContactFactory())
    create_workflow(
        name="Register for Roadmap", enabled=True,
        actions=[{"type": "zoom.add_contact_to_webinar", "webinar_id": str(UPCOMING_ID)}],
    )  # fmt: skip
    page.set_viewport_size({"width": 1380, "height": 900})
    _log_in(page, live_server, "admin@crm.test")
    page.goto(live_server.url + f"/segments/{segment.pk}/")
    expect(page.get_by_test_id("enroll-segment-select")).to_have_value(
        str(Workflow.objects.get().pk)
    )
    _shot(page, "11-segment-enroll-form")

    # A queued run: the log polls every 3 s until the row is final, then stops.
    workflow = Workflow.objects.get()
    contact = ContactFactory(email="queued@client.example")
    enrollment = create_enrollment(workflow, contact, source="manual")
    execution = ActionExecution.objects.create(
        enrollment=enrollment, workflow=workflow, contact=contact, action_index=0, step_id="s1",
        action_type="zoom.add_contact_to_webinar", status="queued",
    )  # fmt: skip
    page.goto(live_server.url + f"/workflows/{workflow.pk}/")
    badge = page.get_by_test_id("log-status-badge")
    expect(badge).to_have_text("Queued")
    ActionExecution.objects.filter(pk=execution.pk).update(status="succeeded")
    expect(badge).to_have_text("Succeeded", timeout=8000)
    expect(page.locator("#wf-log-rows")).to_have_attribute("data-pending", "0")

    Account.objects.filter(pk=1).update(tier=Tier.STARTER)
    page.get_by_role("link", name="Workflows", exact=True).click()
    expect(page.get_by_test_id("tier-reason")).to_contain_text("this account is on Starter")
    expect(page.get_by_test_id("tier-settings-link")).to_be_visible()
    _shot(page, "12-tier-below-professional")
    page.goto(live_server.url + f"/segments/{segment.pk}/")
    expect(page.get_by_test_id("enroll-segment")).to_have_count(0)
