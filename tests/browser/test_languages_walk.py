"""The main screens walked in Brazilian Portuguese and in French (rule L1, issue 20): a user whose
profile speaks the language opens the contacts list, a contact, the marketing events, an event with
its charts, the segment builder with a live count, a workflow, the Zoom Home and Global settings
tabs, and a finished sync run with its skips and fix hints. On each page no English UI phrase of a
list is left. The same walk in English checks the list itself: every phrase is on its page there,
so a phrase that silently stopped appearing cannot make the check vacuous.

Locators use test ids and form field names, never English labels. Screenshots go to
screenshots/walk-<language>-<page>.png."""

import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from crm.models import Account, Brand, Contact, Role, Tier
from tests.factories import UserFactory
from tests.marketing_events.test_views import make_event, populate
from tests.workflows.conftest import create_workflow
from tests.zoom_integration.test_views import make_connection
from zoom_integration.models import SyncRun, SyncSkip

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Values the test itself created (names, e-mails, topics) and product names are not UI text:
# they are taken out of the page's text before looking for English.
DATA_VALUES = (
    "Q1 roadmap",
    "Hiring webinar",
    "Acme",
    "Register for Roadmap",
    "Ada",
    "Sam Staff",
    "Guest",
    "Zoom",
    "HubSpot",
)
EMAIL = re.compile(r"\S+@\S+")
# Texts stored in English by background workers (workflow execution messages, a sync run's error
# text) are a known, accepted limitation: the walk's workflow has no execution and its run no
# error, so none of them is on these pages.

# English phrases of each page: all present in English, none left in pt-BR or French. Whole
# words, case-sensitive. The navigation is part of every page's text.
NAV = ["Contacts", "Marketing events", "Segments", "Workflows", "Settings"]
PHRASES: dict[str, list[str]] = {
    "contacts": [*NAV, "Deleted contacts", "New contact", "Search contacts", "COMPANY", "Log out"],
    "contact": [*NAV, "Edit", "Delete", "Timeline", "Attended", "Registered for"],
    "events": [*NAV, "Search by name", "Starts from", "Filter", "events", "attendees", "NO-SHOWS"],
    "event": [
        *NAV,
        "Attended",
        "No-show rate",
        "Registered",
        "Export as CSV",
        "Average time attended",
        "Minutes attended",
        "Occurrences",
        "Cancelled",
    ],
    "builder": [*NAV, "Add filter", "Save", "Cancel", "contacts", "Add OR group"],
    "workflow": [*NAV, "Edit", "Delete", "Enrollment", "Steps", "Version", "Execution log"],
    "zoom-home": [
        *NAV,
        "Home",
        "Global settings",
        "Sync now",
        "Connected",
        "Recent sync runs",
        "Refresh users and webinars",
        "Disconnect",
    ],
    "zoom-settings": [
        *NAV,
        "Home",
        "Global settings",
        "Sync webinar data",
        "Contact exclusions",
        "Manage individual user settings",
        "Save",
    ],
    "sync-run": [
        *NAV,
        "Sync run",
        "Succeeded",
        "Progress",
        "Requested by",
        "What it synced",
        "webinars synced",
        "records read",
        "How to fix",
        "CRM users",
    ],
}
# The same word in the language, by the glossary (locale/GLOSSARY.md): not English left over.
SAME_WORD = {
    "fr": {"Contacts", "Segments", "Workflows", "Actions", "Version"},
    "pt-br": set(),
}


def _visible_text(page: Page) -> str:
    text = page.inner_text("body")
    for value in DATA_VALUES:
        text = text.replace(value, " ")
    return EMAIL.sub(" ", text)


def _check(page: Page, language: str, name: str, found: dict[str, list[str]]) -> None:
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar stays on top in the shot
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"walk-{language}-{name}.png"), full_page=True)
    text = _visible_text(page)
    present = [p for p in PHRASES[name] if re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text)]
    if language == "en":
        missing = sorted(set(PHRASES[name]) - set(present))
        if missing:
            found[name] = missing
    else:
        left = [p for p in present if p not in SAME_WORD[language]]
        if left:
            found[name] = left


def _world(language: str):
    Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
    brand = Brand.objects.create(name="Acme", is_primary=True)
    UserFactory(email="ada@crm.test", role=Role.SUPER_ADMIN, first_name="Ada", language=language)
    event = make_event()
    populate(event)
    make_event("2", "Hiring webinar")
    connection = make_connection(brand, users=1)
    workflow = create_workflow(
        name="Register for Roadmap",
        enabled=True,
        actions=[{"type": "zoom.add_contact_to_webinar", "webinar_id": "84000000002"}],
    )
    run = SyncRun.objects.create(
        connection=connection,
        trigger="manual",
        status="succeeded",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        progress_done=4,
        progress_total=4,
        counts={
            "zoom_users": 1,
            "webinars": 2,
            "registrations": 5,
            "webinars_synced": 2,
            "webinars_skipped": 1,
            "zoom_records": 9,
        },
    )
    SyncSkip.objects.create(run=run, reason="no_email", name="Guest 01", webinar_id="84000000002")
    SyncSkip.objects.create(
        run=run, reason="crm_user", email="staff@acme.test", name="Sam Staff", webinar_id="1"
    )
    SyncSkip.objects.create(run=run, reason="zoom_events", webinar_id="84000000003")
    contact = Contact.objects.get(email__startswith="ana")
    return brand, event, contact, workflow, run


@pytest.mark.parametrize("language", ["pt-br", "fr", "en"])
def test_the_main_screens_speak_the_users_language(live_server, page: Page, language):
    brand, event, contact, workflow, run = _world(language)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server.url + "/accounts/login/")
    form = page.locator('form[action="/accounts/login/"]')
    form.locator('input[name="username"]').fill("ada@crm.test")
    form.locator('input[name="password"]').fill("password")
    form.locator('button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    found: dict[str, list[str]] = {}
    url = live_server.url

    _check(page, language, "contacts", found)

    page.goto(f"{url}/contacts/{contact.pk}/")
    expect(page.get_by_test_id("timeline")).to_be_visible()
    _check(page, language, "contact", found)

    page.goto(f"{url}/marketing-events/")
    expect(page.get_by_test_id("event-table")).to_be_visible()
    _check(page, language, "events", found)

    page.goto(f"{url}/marketing-events/{event.pk}/")
    chart = page.get_by_test_id("histogram-chart")
    expect(chart.locator("rect.me-histogram__bar")).to_have_count(6)
    expect(page.get_by_test_id("participant-table")).to_be_visible()
    _check(page, language, "event", found)

    # The builder, with a live count: who attended the event (7 people).
    page.goto(f"{url}/segments/new/")
    page.wait_for_function("() => typeof window.gettext === 'function'")
    row = page.get_by_test_id("filter-row").nth(0)
    row.get_by_test_id("filter-type").select_option("event_attended")
    row = page.get_by_test_id("filter-row").nth(0)
    row.get_by_test_id("picker-select").select_option(str(event.pk))
    expect(page.get_by_test_id("live-count")).to_have_text("7")
    _check(page, language, "builder", found)

    page.goto(f"{url}/workflows/{workflow.pk}/")
    _check(page, language, "workflow", found)

    page.goto(f"{url}/integrations/zoom/?brand={brand.pk}&tab=home")
    expect(page.locator(f'[data-run="{run.pk}"]')).to_be_visible()
    _check(page, language, "zoom-home", found)

    page.goto(f"{url}/integrations/zoom/?brand={brand.pk}&tab=settings")
    _check(page, language, "zoom-settings", found)

    page.goto(f"{url}/integrations/zoom/sync-runs/{run.pk}/")
    expect(page.get_by_test_id("skip-section")).to_have_count(3)
    expect(page.get_by_test_id("skip-hint").first).to_be_visible()
    _check(page, language, "sync-run", found)

    if language == "en":
        assert not found, f"phrases no longer on the English pages (fix the list): {found}"
    else:
        assert not found, f"English UI text left in {language}: {found}"
