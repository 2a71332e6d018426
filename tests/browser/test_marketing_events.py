"""A marketer's path through marketing events in a real browser: the list, a search, an event
page with its counters and attendance chart, the participants filtered by state (HTMX), and a
participant's contact page with the "Attended" timeline entry (rule M4). Screenshots go to
screenshots/me-*.png."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import Contact, Role
from crm.services.timeline import timeline_event_add
from marketing_events.plan import NewContact, OccurrenceFact, Plan, RegistrationFact, SessionFact
from marketing_events.services import plan_apply
from tests.factories import UserFactory
from tests.marketing_events.test_views import WEBINAR, at, make_event, populate
from tests.support.browser import log_in as _log_in

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"me-{name}.png"), full_page=True)


def test_marketer_reads_an_event_and_a_participants_timeline(live_server, page: Page):
    UserFactory(email="marketer@crm.test", role=Role.MARKETING, first_name="Mia")
    populate(make_event())
    make_event("2", "Hiring webinar")
    make_event("3", "Partner onboarding")

    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, "marketer@crm.test")
    page.get_by_role("link", name="Marketing events").click()
    expect(page.get_by_role("heading", name="Marketing events")).to_be_visible()
    expect(page.get_by_test_id("result-count")).to_contain_text("3 events")
    _shot(page, "01-list")

    # Live search (HTMX): the table follows the typing, the URL too.
    page.get_by_placeholder("Search events by name").press_sequentially("roadm")
    expect(page.get_by_test_id("result-count")).to_contain_text("1 event")
    expect(page).to_have_url(re.compile(r"[?&]q=roadm"))
    table = page.get_by_test_id("event-table")
    expect(table).to_contain_text("Q1 roadmap")
    expect(table).not_to_contain_text("Hiring webinar")
    _shot(page, "02-search")

    # The event page: counters, funnel, and the histogram drawn as SVG bars.
    table.get_by_role("link", name="Q1 roadmap").click()
    expect(page.get_by_test_id("event-name")).to_have_text("Q1 roadmap")
    expect(page.locator('[data-counter="attended"] .me-stat__value')).to_have_text("7")
    expect(page.locator('[data-counter="no_shows"] .me-stat__value')).to_have_text("2")
    chart = page.get_by_test_id("histogram-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.me-histogram__bar")).to_have_count(6)
    expect(chart.locator('rect[data-bucket="0-5"]')).to_have_attribute("data-count", "2")
    box = chart.locator('rect[data-bucket="0-5"]').bounding_box()
    assert box is not None and box["height"] > 20  # really drawn, not a zero-height bar
    _shot(page, "03-event")

    # Participants by state, over HTMX: the URL follows, the rows change.
    participants = page.get_by_test_id("participants")
    expect(participants.locator("tbody tr")).to_have_count(10)
    participants.locator('[data-state="NO_SHOW"].me-tabs__tab').click()
    expect(page).to_have_url(re.compile(r"[?&]state=NO_SHOW"))
    expect(participants.locator("tbody tr")).to_have_count(2)
    expect(participants.get_by_test_id("participant-table")).to_contain_text("No-show")
    expect(participants.get_by_test_id("participant-table")).not_to_contain_text("Attended")
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top in the shot
    _shot(page, "04-no-shows")

    participants.locator('[data-state="ATTENDED"].me-tabs__tab').click()
    expect(participants.locator("tbody tr")).to_have_count(7)
    participants.get_by_role("link", name="Ana Silva").click()

    # The contact page: the Marketing events card and the "Attended" timeline entry.
    expect(page.get_by_test_id("contact-name")).to_have_text("Ana Silva")
    card = page.get_by_test_id("contact-participations")
    expect(card).to_contain_text("Q1 roadmap")
    expect(card).to_contain_text("Attended")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Attended Q1 roadmap — joined 15:02, left 15:40, 38 min")
    expect(timeline).to_contain_text("Registered for Q1 roadmap")
    _shot(page, "05-contact")

    # Back to the event from the timeline link.
    timeline.get_by_role("link", name="Q1 roadmap").first.click()
    expect(page.get_by_test_id("event-name")).to_have_text("Q1 roadmap")


def test_viewer_sees_every_webinar_timeline_kind(live_server, page: Page):
    UserFactory(email="viewer@crm.test", role=Role.VIEWER)
    event = populate(make_event())
    ana = Contact.objects.get(email="ana@example.com")
    plan_apply(  # a cancellation after attending: attendance wins, the cancel stays in history
        Plan(
            event_id=event.pk,
            registrations=[RegistrationFact("ana@example.com", cancelled_at=at(100))],
        ),
        now=at(120),
    )
    live = make_event("live-1", "Live demo", start=at(60 * 24))
    plan_apply(
        Plan(
            event_id=live.pk,
            new_contacts=[NewContact("ana@example.com")],
            occurrences=[OccurrenceFact("u", at(60 * 24), None)],
            sessions=[SessionFact("ana@example.com", "u", "a", at(60 * 24 + 1), None)],
            event_over=False,
        ),
        now=at(60 * 24 + 13),
    )
    timeline_event_add(
        contact=ana,
        kind="zoom_recording_available",
        occurred_at=at(60 * 3),
        data={**WEBINAR, "recording_url": "https://zoom.us/rec/share/abc", "event_id": event.pk},
    )

    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server, "viewer@crm.test")
    page.goto(f"{live_server.url}/contacts/{ana.pk}/")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Attended Live demo — joined 15:01, 12 min so far")
    expect(timeline).to_contain_text("(live, provisional)")
    expect(timeline).to_contain_text("Cancelled registration for Q1 roadmap")
    expect(timeline).to_contain_text("Recording available for Q1 roadmap")
    link = timeline.get_by_role("link", name="Watch the recording")
    expect(link).to_have_attribute("href", "https://zoom.us/rec/share/abc")
    card = page.get_by_test_id("contact-participations")
    expect(card.locator("tbody tr")).to_have_count(2)
    expect(card).to_contain_text("provisional")
    _shot(page, "06-contact-timeline-kinds")
