"""Registration answers and attribution in a real browser, against the sandbox (issue 18):

1. An admin maps a webinar's registration question to a contact property on the webinar's
   "Registration questions" page, syncs, and the contact shows the answer (rule E2).
2. A visitor registers on the public page opened with `?utm_source=newsletter`; the contact
   page shows the participation's source; a segment `registration_source utm_source =
   newsletter`, built with the builder's pickers (the source field and its stored values, a
   question and its choices), counts them (rules E5, G2, G3).
Screenshots go to screenshots/registration-*.png."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import Brand, Contact, Role
from segments.models import Segment
from tests.factories import UserFactory
from tests.support.browser import log_in
from tests.zoom_integration.scenario import ACME, S2S, UPCOMING_ID
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.services.sync import sync_run_execute, sync_run_request

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"registration-{name}.png"), full_page=True)


@pytest.fixture
def world(zoom_sandbox, django_capture_on_commit_callbacks):
    state = zoom_sandbox.get("/_sandbox/state").json()
    account = next(a for a in state["accounts"] if a["id"] == ACME)
    webinar = next(w for w in account["webinars"] if w["id"] == UPCOMING_ID)
    webinar["questions"] = [
        {"field_name": "last_name", "required": True},
        {"field_name": "org", "required": True},
    ]
    webinar["custom_questions"] = [
        {"title": "Company size", "type": "single_radio", "required": True,
         "answers": ["1-10", "11-100"]}
    ]  # fmt: skip
    webinar["registrants"][0].update(
        {"org": "Acme Labs", "custom_questions": [{"title": "Company size", "value": "11-100"}]}
    )
    zoom_sandbox.post("/_sandbox/accounts", json=account).raise_for_status()
    brand = Brand.objects.create(name="Acme", is_primary=True)
    UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN, first_name="Ada")
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(brand=brand, account_id=ACME, **S2S)
    connection_settings_update(connection=connection, sync_webinar_data=True)
    with django_capture_on_commit_callbacks(execute=True):
        sync_run_execute(run_id=sync_run_request(connection=connection).pk)
    return connection


def test_map_a_question_then_sync_and_the_contact_shows_it(live_server, page: Page, world):
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, "admin@crm.test")
    person = Contact.objects.get(email="person1@example.com")
    assert person.job_title == ""
    page.goto(
        f"{live_server.url}/integrations/zoom/connections/{world.pk}/webinars/{UPCOMING_ID}/questions/"
    )
    row = page.locator('tr[data-question="Company size"]')
    row.get_by_test_id("property-picker").select_option("jobtitle")
    row.get_by_test_id("policy-picker").select_option("overwrite")
    _shot(page, "01-questions")
    page.get_by_test_id("save-mappings").click()
    expect(page.get_by_text("Mappings saved.")).to_be_visible()

    # Sync now, from the Zoom settings page.
    page.goto(f"{live_server.url}/integrations/zoom/?brand={world.brand_id}")
    page.get_by_test_id("sync-now").click()
    expect(page.locator(".run-status").first).to_have_text("Succeeded")

    page.goto(f"{live_server.url}/contacts/{person.pk}/")
    answers = page.get_by_test_id("registration-answers")
    expect(answers).to_contain_text("Company size")
    expect(answers).to_contain_text("11-100")
    person.refresh_from_db()
    assert person.job_title == "11-100"
    _shot(page, "02-contact")


def test_public_page_then_source_then_segment(live_server, page: Page, world):
    page.set_viewport_size({"width": 900, "height": 900})
    page.goto(f"{live_server.url}/r/{world.pk}/{UPCOMING_ID}/?utm_source=newsletter")
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Last name").fill("News")
    page.get_by_label("Email").fill("nia@example.com")
    page.get_by_label("Organization").fill("Globex")
    page.get_by_label("Company size").select_option("1-10")
    _shot(page, "03-public-form")
    page.get_by_test_id("register").click()
    expect(page.get_by_test_id("registered")).to_be_visible()
    # Zoom's join URL for this registrant (the sandbox's: /w/<webinar>?tk=<registrant id>).
    expect(page.get_by_test_id("join-url")).to_have_attribute(
        "href", re.compile(r"^https://sandbox\.zoom\.test/w/" + str(UPCOMING_ID) + r"\?tk=.+")
    )
    _shot(page, "04-registered")

    nia = Contact.objects.get(email="nia@example.com")
    log_in(page, live_server, "admin@crm.test")
    page.goto(f"{live_server.url}/contacts/{nia.pk}/")
    expect(page.locator('[data-col="utm_source"]')).to_have_text("newsletter")
    _shot(page, "05-contact-source")

    # The segment, built with the builder's pickers: the source field, then the value among the
    # stored ones (with its count of registrations); an answer among the question's choices.
    page.goto(f"{live_server.url}/segments/")
    page.get_by_test_id("new-segment").click()
    page.get_by_test_id("segment-name-input").fill("From the newsletter")
    count = page.get_by_test_id("live-count")
    row = page.get_by_test_id("filter-row").nth(0)
    row.get_by_test_id("filter-type").select_option("registration_source")
    row = page.get_by_test_id("filter-row").nth(0)
    row.get_by_test_id("source-field").select_option("utm_source")
    row = page.get_by_test_id("filter-row").nth(0)
    value = row.get_by_test_id("filter-value")
    expect(value.locator("option", has_text="newsletter (1)")).to_have_count(1)
    row.get_by_test_id("filter-value").select_option("newsletter")
    expect(count).to_have_text("1")
    page.get_by_test_id("add-filter").click()
    row = page.get_by_test_id("filter-row").nth(1)
    row.get_by_test_id("filter-type").select_option("zoom_registration_answer")
    row = page.get_by_test_id("filter-row").nth(1)
    row.get_by_test_id("picker-select").select_option(str(UPCOMING_ID))
    row = page.get_by_test_id("filter-row").nth(1)
    row.get_by_test_id("question-picker").select_option("Company size")
    row = page.get_by_test_id("filter-row").nth(1)
    row.get_by_test_id("filter-value").select_option("11-100")  # person1's answer, not Nia's
    expect(count).to_have_text("0")
    row.get_by_test_id("filter-value").select_option("1-10")
    expect(count).to_have_text("1")
    _shot(page, "06-segment-builder")
    page.get_by_test_id("save-segment").click()
    expect(page.get_by_test_id("segment-count")).to_have_text("1")
    expect(page.get_by_test_id("members-table")).to_contain_text("nia@example.com")
    expect(page.get_by_test_id("segment-filters")).to_contain_text("Registration source")
    segment = Segment.objects.get(name="From the newsletter")
    assert segment.filters == {"or": [{"and": [
        {"type": "registration_source", "event_id": None, "field": "utm_source",
         "operator": "eq", "value": "newsletter"},
        {"type": "zoom_registration_answer", "webinar_id": str(UPCOMING_ID),
         "question": "Company size", "operator": "eq", "value": "1-10"},
    ]}]}  # fmt: skip
    _shot(page, "07-segment")
