"""A person's path through contacts in a real browser: log in, create, search (HTMX live
search), open, delete (tombstone), restore (rule B6). Screenshots go to screenshots/."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import Contact, Role, Tombstone
from tests.factories import ContactFactory, UserFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _log_in(page: Page, live_server, email: str) -> None:
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", name="Log in to your account")).to_be_visible()
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))


def test_super_admin_creates_finds_deletes_and_restores_a_contact(live_server, page: Page):
    UserFactory(email="admin@crm.test", role=Role.SUPER_ADMIN, first_name="Ada", last_name="Admin")
    for i in range(3):
        ContactFactory(email=f"other{i}@example.com", first_name="Other", last_name=f"Person{i}")

    _log_in(page, live_server, "admin@crm.test")
    expect(page.get_by_test_id("current-role")).to_have_text("Super admin")
    expect(page.get_by_test_id("result-count")).to_contain_text("3 contacts")
    _shot(page, "01-contacts-list")

    # Create
    page.get_by_test_id("new-contact").click()
    expect(page.get_by_role("heading", name="New contact")).to_be_visible()
    page.get_by_label("First name").fill("Grace")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Email", exact=True).fill("Grace.Hopper@Example.com")
    page.get_by_label("Company name").fill("Navy")
    _shot(page, "02-new-contact-form")
    page.get_by_role("button", name="Create contact").click()
    expect(page.get_by_test_id("contact-name")).to_have_text("Grace Hopper")
    expect(page.get_by_text("Contact created.")).to_be_visible()
    expect(page.locator('[data-property="email"] dd')).to_have_text("grace.hopper@example.com")
    expect(page.get_by_test_id("timeline")).to_contain_text("Contact created")

    # Find it with the live search: the table reloads as one types, the URL follows.
    page.get_by_role("link", name="Contacts", exact=True).first.click()
    expect(page.get_by_test_id("result-count")).to_contain_text("4 contacts")
    page.get_by_placeholder("Search by name, e-mail or company").press_sequentially("hopp")
    expect(page.get_by_test_id("result-count")).to_contain_text("1 contact")
    expect(page).to_have_url(re.compile(r"[?&]q=hopp"))
    table = page.get_by_test_id("contact-table")
    expect(table).to_contain_text("grace.hopper@example.com")
    expect(table).not_to_contain_text("other0@example.com")
    _shot(page, "03-live-search")

    page.get_by_placeholder("Search by name, e-mail or company").fill("nobody-here")
    expect(page.get_by_test_id("empty-state")).to_contain_text("No contact matches “nobody-here”")
    page.get_by_placeholder("Search by name, e-mail or company").fill("grace")
    expect(page.get_by_test_id("result-count")).to_contain_text("1 contact")

    # Open it
    page.get_by_role("link", name="Grace Hopper").click()
    expect(page.get_by_test_id("contact-name")).to_have_text("Grace Hopper")

    # A secondary e-mail, added inline over HTMX, with an inline error first.
    emails = page.get_by_test_id("secondary-emails")
    emails.get_by_label("Add an e-mail address").fill("other0@example.com")
    emails.get_by_role("button", name="Add").click()
    expect(emails).to_contain_text("already belongs to another contact")
    emails.get_by_label("Add an e-mail address").fill("grace@home.example")
    emails.get_by_role("button", name="Add").click()
    expect(emails.locator(".email-list")).to_contain_text("grace@home.example")
    expect(emails).not_to_contain_text("already belongs")
    _shot(page, "04-contact-page")

    # Delete, with a confirmation step
    page.get_by_test_id("delete-contact").click()
    expect(page.get_by_role("heading", name="Delete Grace Hopper?")).to_be_visible()
    page.get_by_test_id("confirm-delete").click()
    expect(page.get_by_test_id("archived-banner")).to_contain_text("This contact is deleted.")
    expect(page.get_by_test_id("edit-contact")).to_have_count(0)
    expect(page.get_by_test_id("timeline")).to_contain_text("Contact deleted")
    assert Tombstone.objects.filter(email="grace.hopper@example.com").exists()
    _shot(page, "05-deleted-contact")

    # It is gone from the list and listed under Deleted contacts
    page.goto(live_server.url + "/contacts/deleted/")
    expect(page.get_by_test_id("contact-table")).to_contain_text("grace.hopper@example.com")
    _shot(page, "06-deleted-contacts")

    # Restore
    page.get_by_role("link", name="Grace Hopper").click()
    page.get_by_test_id("restore-contact").click()
    expect(page.get_by_text("Contact restored.")).to_be_visible()
    expect(page.get_by_test_id("archived-banner")).to_have_count(0)
    expect(page.get_by_test_id("timeline")).to_contain_text("Contact restored")
    expect(page.get_by_test_id("edit-contact")).to_be_visible()
    assert Contact.objects.get(email="grace.hopper@example.com").archived_at is None
    assert not Tombstone.objects.exists()
    _shot(page, "07-restored-contact")


def test_viewer_sees_no_new_contact_button(live_server, page: Page):
    UserFactory(email="viewer@crm.test", role=Role.VIEWER, first_name="Vic", last_name="Viewer")
    contact = ContactFactory(email="ana@example.com", first_name="Ana", last_name="Silva")

    _log_in(page, live_server, "viewer@crm.test")
    expect(page.get_by_test_id("current-role")).to_have_text("Viewer")
    expect(page.get_by_test_id("contact-table")).to_contain_text("ana@example.com")
    expect(page.get_by_test_id("new-contact")).to_have_count(0)
    expect(page.get_by_text("New contact")).to_have_count(0)
    _shot(page, "08-viewer-contacts")

    page.get_by_role("link", name="Ana Silva").click()
    expect(page.get_by_test_id("contact-name")).to_have_text("Ana Silva")
    expect(page.get_by_test_id("edit-contact")).to_have_count(0)
    expect(page.get_by_test_id("delete-contact")).to_have_count(0)
    expect(page.get_by_label("Add an e-mail address")).to_have_count(0)

    response = page.goto(live_server.url + f"/contacts/{contact.pk}/edit/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You don't have access to this")).to_be_visible()
