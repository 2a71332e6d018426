"""Choosing a language in a real browser (rule L1): the login page's switcher, then the
profile's setting, which outlives logging out. Every page loads the JavaScript catalogue of its
language under the Content-Security-Policy. Locators use names and attributes, not English
labels, so that the test holds once the catalogues are translated."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from crm.models import Role
from tests.factories import UserFactory

SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _speaks(page: Page, language: str, decimal: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", language)
    # The page's JavaScript catalogue is loaded: gettext() exists, with its language's formats.
    page.wait_for_function("() => typeof window.gettext === 'function'")
    assert page.evaluate("() => window.get_format('DECIMAL_SEPARATOR')") == decimal


def test_a_person_picks_french_on_the_login_page_then_portuguese_in_the_profile(
    live_server, page: Page
):
    UserFactory(email="ana@crm.test", role=Role.MARKETING)
    login = live_server.url + "/accounts/login/"
    page.goto(login)
    _speaks(page, "en", ".")
    switcher = page.get_by_test_id("language-switcher")
    expect(switcher.locator("[aria-current]")).to_have_text("English")

    switcher.get_by_role("button", name="Français").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    _speaks(page, "fr", ",")
    expect(switcher.locator("[aria-current]")).to_have_text("Français")
    _shot(page, "languages-01-login-fr")

    # Django's own messages are already French: an empty form's errors.
    form = page.locator('form[action="/accounts/login/"]')
    form.locator('button[type="submit"]').click()
    expect(page.get_by_text("Ce champ est obligatoire.").first).to_be_visible()

    form.locator('input[name="username"]').fill("ana@crm.test")
    form.locator('input[name="password"]').fill("password")
    form.locator('button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/contacts/$"))
    _speaks(page, "fr", ",")  # the cookie still speaks for a profile with no language

    page.goto(live_server.url + "/settings/profile/")
    profile = page.get_by_test_id("profile-form")
    profile.locator('select[name="language"]').select_option("pt-br")
    profile.locator('button[type="submit"]').click()
    expect(page).to_have_url(re.compile(r"/settings/profile/$"))
    _speaks(page, "pt-br", ",")
    expect(profile.locator('select[name="language"]')).to_have_value("pt-br")
    _shot(page, "languages-02-profile-pt-br")

    page.goto(live_server.url + "/segments/")
    _speaks(page, "pt-br", ",")

    # Logged out, the login page keeps the profile's language.
    page.locator('form[action="/accounts/logout/"] button').click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    _speaks(page, "pt-br", ",")
    expect(page.get_by_test_id("language-switcher").locator("[aria-current]")).to_have_text(
        "Português (Brasil)"
    )
