"""Issue 19's flow in a real browser, against the sandbox: an admin syncs; the ended webinar's
event page shows its poll chart and the Q&A (rule E6); a marketer builds the segment "answered
the buying-intent poll with 'This quarter'" in the builder and sees its count; a workflow
triggered by that segment's filters registers the contact for the upcoming webinar (Zoom's
registrant list in the sandbox says so). Screenshots go to screenshots/engagement-*.png."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import Account, Brand, Contact, Role, Tier
from marketing_events.models import MarketingEvent
from tests.factories import UserFactory
from tests.support.browser import log_in
from tests.zoom_integration.scenario import ACME, ENDED_ID, NOW, S2S, UPCOMING_ID, iso, scenario
from workflows.models import Workflow
from workflows.services import workflow_create
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
QUESTION = "When do you plan to buy?"


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"engagement-{name}.png"), full_page=True)


def _engaged_scenario(base_url: str) -> dict:
    data = scenario(base_url)
    account = next(a for a in data["accounts"] if a["id"] == ACME)
    ended = next(w for w in account["webinars"] if w["id"] == ENDED_ID)
    instance = ended["instances"][0]
    when = iso(NOW - timedelta(days=2))
    instance["polls"] = [
        {
            "email": "person2@example.com",
            "name": "P2 L2",
            "question_details": [
                {
                    "polling_id": "p1",
                    "question": QUESTION,
                    "answer": "This quarter",
                    "date_time": when,
                }
            ],
        },
        {
            "email": "person3@example.com",
            "name": "P3 L3",
            "question_details": [
                {"polling_id": "p1", "question": QUESTION, "answer": "Next year", "date_time": when}
            ],
        },
        {
            "email": "",
            "name": "Anonymous Attendee",
            "question_details": [
                {
                    "polling_id": "p1",
                    "question": QUESTION,
                    "answer": "This quarter",
                    "date_time": when,
                }
            ],
        },
    ]
    instance["qa"] = [
        {
            "email": "person3@example.com",
            "name": "P3 L3",
            "question_details": [
                {
                    "question_id": "q1",
                    "question": "How much is the Pro plan?",
                    "create_time": when,
                    "question_status": "answered",
                    "answer_details": [{"name": "Hugo Host", "content": "49 per seat"}],
                }
            ],
        }
    ]
    return data


def test_poll_answers_to_a_segment_to_a_workflow_registration(
    live_server, page: Page, zoom_sandbox, settings, django_capture_on_commit_callbacks
):
    zoom_sandbox.post(
        "/_sandbox/scenario", json=_engaged_scenario(settings.PUBLIC_BASE_URL)
    ).raise_for_status()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    brand = Brand.objects.create(name="Acme", is_primary=True)
    admin = UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN, first_name="Ada")
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(brand=brand, account_id=ACME, actor=admin, **S2S)
    connection_settings_update(connection=connection, sync_webinar_data=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, live_server, "admin@crm.test")

    # Sync now (Celery runs eagerly in tests: the run is over when the page comes back).
    page.goto(f"{live_server.url}/integrations/zoom/?brand={brand.pk}")
    page.get_by_test_id("sync-now").click()
    expect(page.locator(".run-status").first).to_have_text("Succeeded")
    expect(page.locator("#sync-runs").first).to_contain_text("2 poll answers")

    # The ended webinar's event page: its poll chart and the Q&A (rule E6).
    event = MarketingEvent.objects.get(external_event_id=str(ENDED_ID))
    page.goto(f"{live_server.url}/marketing-events/{event.pk}/")
    chart = page.get_by_test_id("poll-chart")
    expect(chart).to_contain_text(QUESTION)
    expect(chart.locator('g[data-answer="This quarter"]')).to_have_attribute("data-count", "2")
    expect(chart.locator('g[data-answer="Next year"]')).to_have_attribute("data-count", "1")
    expect(page.get_by_test_id("anonymous-polls")).to_be_visible()
    qa = page.get_by_test_id("qa-table")
    expect(qa).to_contain_text("How much is the Pro plan?")
    expect(qa).to_contain_text("49 per seat")
    expect(qa).to_contain_text("answered")
    _shot(page, "01-event-page")

    # A segment: answered the poll with "This quarter" → its count (the anonymous one: no one).
    page.goto(f"{live_server.url}/segments/")
    page.get_by_test_id("new-segment").click()
    page.get_by_test_id("segment-name-input").fill("Buying this quarter")
    count = page.get_by_test_id("live-count")
    row = page.get_by_test_id("filter-row").nth(0)
    row.get_by_test_id("filter-type").select_option("zoom_poll_answer")
    row = page.get_by_test_id("filter-row").nth(0)
    row.get_by_test_id("picker-select").select_option(str(ENDED_ID))
    expect(count).to_have_text("2")  # both answered the poll
    row.get_by_label("answer", exact=True).select_option("eq")
    row = page.get_by_test_id("filter-row").nth(0)
    row.get_by_label("answer value").fill("This quarter")
    expect(count).to_have_text("1")
    _shot(page, "02-segment")
    page.get_by_test_id("save-segment").click()
    expect(page.get_by_test_id("segment-count")).to_have_text("1")
    expect(page.get_by_test_id("members-table")).to_contain_text("person2@example.com")

    # A workflow triggered by those filters registers the contact for the upcoming webinar.
    from segments.models import Segment

    filters = Segment.objects.get(name="Buying this quarter").filters
    with django_capture_on_commit_callbacks(execute=True):
        workflow = workflow_create(
            name="Follow-up for buyers",
            trigger={"type": "filters", "filters": filters},
            actions=[{"type": "zoom.add_contact_to_webinar", "webinar_id": str(UPCOMING_ID)}],
            enabled=True,
            enroll_existing=True,
            actor=admin,
        )
    from workflows.tasks import tick

    tick()
    registrants = zoom_sandbox.get("/_sandbox/state").json()
    upcoming = next(
        w
        for a in registrants["accounts"]
        if a["id"] == ACME
        for w in a["webinars"]
        if w["id"] == UPCOMING_ID
    )
    emails = {r["email"].strip().lower() for r in upcoming["registrants"]}
    assert "person2@example.com" in emails and "person3@example.com" not in emails
    assert Workflow.objects.get(pk=workflow.pk).enabled
    page.goto(f"{live_server.url}/workflows/{workflow.pk}/")
    _shot(page, "03-workflow")
    contact = Contact.objects.get(email="person2@example.com")
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")
    expect(page.locator("body")).to_contain_text("Answered a Zoom webinar poll")
    _shot(page, "04-contact")
