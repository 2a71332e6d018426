"""How the UI's language is chosen (rule L1) and what API errors speak (rule L2): a person's
profile language, else the language cookie (the login page's switcher), else Accept-Language;
API paths follow Accept-Language, never the token owner's profile. The JavaScript catalogue is
the one the URL names."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from crm.errors import ValidationFailed
from crm.services.accounts import user_set_language
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

REQUIRED = {
    "en": "This field is required.",
    "fr": "Ce champ est obligatoire.",
    "pt-br": "Este campo é obrigatório.",
}


def _html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


@pytest.fixture
def person(db):
    return UserFactory(email="ana@crm.test")


@pytest.fixture
def person_client(client, person):
    client.force_login(person)
    return client


# The languages offered -------------------------------------------------------------------


def test_the_ui_offers_english_brazilian_portuguese_and_french():  # rule L1
    assert [code for code, _name in settings.LANGUAGES] == ["en", "pt-br", "fr"]


def test_locale_middleware_sits_between_sessions_and_common():
    middleware = settings.MIDDLEWARE
    locale = middleware.index("django.middleware.locale.LocaleMiddleware")
    assert middleware.index("django.contrib.sessions.middleware.SessionMiddleware") < locale
    assert locale < middleware.index("django.middleware.common.CommonMiddleware")
    assert middleware.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    ) < middleware.index("crm.middleware.UserLanguageMiddleware")


# Pages: profile, then cookie, then Accept-Language ----------------------------------------


@pytest.mark.parametrize("accept, expected", [("fr-FR,fr;q=0.9", "fr"), ("pt-BR", "pt-br")])
def test_without_a_profile_language_the_browser_decides(person_client, accept, expected):
    response = person_client.get(reverse("crm:contact_list"), HTTP_ACCEPT_LANGUAGE=accept)
    assert _html_lang(response) == expected
    assert response["Content-Language"] == expected


def test_portuguese_of_portugal_gets_the_brazilian_catalogue(person_client):
    response = person_client.get(reverse("crm:contact_list"), HTTP_ACCEPT_LANGUAGE="pt-PT")
    assert _html_lang(response) == "pt-br"


def test_an_unknown_browser_language_gets_english(person_client):
    response = person_client.get(reverse("crm:contact_list"), HTTP_ACCEPT_LANGUAGE="de-DE")
    assert _html_lang(response) == "en"


@pytest.mark.parametrize("language", ["fr", "pt-br"])
def test_the_profile_language_wins_over_the_browser_and_the_cookie(
    person_client, person, language
):  # rule L1
    person.language = language
    person.save()
    person_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = person_client.get(reverse("crm:contact_list"), HTTP_ACCEPT_LANGUAGE="en-US")
    assert _html_lang(response) == language
    assert response["Content-Language"] == language


def test_a_profile_language_no_longer_offered_falls_back_to_the_browser(person_client, person):
    person.language = "de"  # e.g. a language since removed from settings.LANGUAGES
    person.save()
    response = person_client.get(reverse("crm:contact_list"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert _html_lang(response) == "fr"


# Settings > Profile ----------------------------------------------------------------------


def test_the_settings_menu_links_the_profile(person_client):
    html = person_client.get(reverse("crm:settings_account")).content.decode()
    assert f'href="{reverse("crm:settings_profile")}"' in html


def test_the_profile_page_offers_the_browser_and_each_language(person_client):
    response = person_client.get(reverse("crm:settings_profile"))
    assert response.status_code == 200
    html = response.content.decode()
    for code, name in settings.LANGUAGES:
        assert f'<option value="{code}">{name}</option>' in html
    assert '<option value="" selected>' in html


def test_choosing_a_language_saves_it_sets_the_cookie_and_speaks_it(person_client, person):
    response = person_client.post(
        reverse("crm:settings_profile"), {"language": "fr"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.language == "fr"
    # The cookie keeps the login page in French after logging out.
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    page = person_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert _html_lang(page) == "fr"
    assert '<option value="fr" selected>' in page.content.decode()


def test_choosing_the_browser_language_clears_the_profile_and_the_cookie(person_client, person):
    person.language = "fr"
    person.save()
    person_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = person_client.post(
        reverse("crm:settings_profile"), {"language": ""}, HTTP_ACCEPT_LANGUAGE="pt-BR"
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.language == ""
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == ""  # deleted
    page = person_client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert _html_lang(page) == "pt-br"


@pytest.mark.parametrize("value", ["de", "xx" * 300, "fr\x00"])
def test_a_language_not_offered_is_refused_and_nothing_changes(person_client, person, value):
    response = person_client.post(reverse("crm:settings_profile"), {"language": value})
    assert response.status_code == 400
    assert 'class="field__error"' in response.content.decode()
    person.refresh_from_db()
    assert person.language == ""


def test_the_profile_needs_a_login(client):
    response = client.get(reverse("crm:settings_profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_user_set_language_refuses_a_code_not_offered(person):
    with pytest.raises(ValidationFailed) as caught:
        user_set_language(user=person, language="de")
    assert caught.value.errors[0]["name"] == "language"
    person.refresh_from_db()
    assert person.language == ""


def test_user_set_language_normalizes_and_clears(person):
    assert user_set_language(user=person, language=" PT-BR ").language == "pt-br"
    assert user_set_language(user=person, language="").language == ""


# The login page ----------------------------------------------------------------------------


@pytest.mark.parametrize("accept, expected", [("fr", "fr"), ("pt-BR,pt;q=0.8", "pt-br")])
def test_the_login_page_follows_accept_language(client, accept, expected):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=accept)
    assert _html_lang(response) == expected
    html = response.content.decode()
    assert (
        f'value="{expected}" lang="{expected}" class="language-switcher__choice" aria-current'
        in (html)
    )


def test_the_login_page_switcher_sets_the_cookie_the_page_then_honours(client):
    login = reverse("login") + "?next=/segments/"
    page = client.get(login, HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert f'action="{reverse("set_language")}"' in html
    for code, name in settings.LANGUAGES:
        assert f'name="language" value="{code}"' in html and f">{name}</button>" in html

    response = client.post(
        reverse("set_language"), {"language": "fr", "next": login}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 302
    assert response["Location"] == login
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME]["httponly"]

    again = client.get(login, HTTP_ACCEPT_LANGUAGE="en")
    assert _html_lang(again) == "fr"
    # Each language is named in its own language, whatever the page's.
    for code, name in settings.LANGUAGES:
        assert f'value="{code}" lang="{code}"' in again.content.decode()
        assert f">{name}</button>" in again.content.decode()
    # Django's own messages come in French: an empty form's field errors.
    refused = client.post(login, {"username": "", "password": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert REQUIRED["fr"] in refused.content.decode()


# API errors follow Accept-Language (rule L2) -----------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr", "pt-br"])
def test_api_error_messages_follow_accept_language(admin_api, language):  # rule L2
    response = admin_api.post("/api/v1/users/", {}, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == [{"name": "email", "message": REQUIRED[language]}]
    assert body["detail"] == f"email: {REQUIRED[language]}"
    assert body["code"] == "validation_error"  # payloads stay English


@pytest.mark.parametrize("language", ["en", "fr", "pt-br"])
def test_hubspot_api_error_messages_follow_accept_language(admin_api, language):  # rule L2
    response = admin_api.post(
        "/crm/v3/objects/contacts/batch/read", {}, format="json", HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 400
    body = response.json()
    assert REQUIRED[language] in body["message"]
    assert body["category"] == "VALIDATION_ERROR"


def test_api_errors_ignore_the_token_owners_profile_language(admin_user, admin_api):  # rule L2
    admin_user.language = "fr"
    admin_user.save()
    response = admin_api.post("/api/v1/users/", {}, format="json", HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert response.json()["errors"][0]["message"] == REQUIRED["pt-br"]
    without = admin_api.post("/api/v1/users/", {}, format="json")
    assert without.json()["errors"][0]["message"] == REQUIRED["en"]


# The JavaScript catalogue -------------------------------------------------------------------


@pytest.mark.parametrize("language, decimal", [("en", "."), ("fr", ","), ("pt-br", ",")])
def test_the_javascript_catalogue_is_the_one_the_url_names(client, language, decimal):
    # Whatever the browser says: the address alone decides, so a browser may cache it.
    response = client.get(reverse("javascript-catalog", args=[language]), HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "max-age=3600" in response["Cache-Control"]
    text = response.content.decode()
    assert "django.gettext = function" in text and "globals.gettext = django.gettext" in text
    assert f'"DECIMAL_SEPARATOR": "{decimal}"' in text


@pytest.mark.parametrize("language", ["de", "x" * 600, "fr;"])
def test_the_javascript_catalogue_of_a_language_not_offered_is_not_found(client, language):
    assert client.get(f"/jsi18n/{language}/").status_code == 404


@pytest.mark.parametrize("language", ["fr", "pt-br"])
def test_pages_load_the_catalogue_of_their_language_before_their_scripts(
    person_client, person, language
):
    person.language = language
    person.save()
    html = person_client.get(reverse("segments:list")).content.decode()
    catalogue = html.index(f'<script src="/jsi18n/{language}/"></script>')
    assert catalogue < html.index("<script src=", catalogue + 1)
    assert catalogue < html.index("segments/sizes.js")


# Model names (rule L1): they appear in messages such as what keeps a brand from being deleted


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "3 sync runs"),
        ("pt-br", "3 execuções de sincronização"),
        ("fr", "3 synchronisations"),
    ],
)
def test_a_records_kind_is_named_in_the_readers_language(language, expected):
    from django.utils import translation

    from crm.hooks import brand_holder_words
    from zoom_integration.models import SyncRun

    with translation.override(language):
        assert brand_holder_words(SyncRun, 3) == expected
