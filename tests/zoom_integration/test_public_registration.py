"""Rule E5: the public registration page over real HTTP to the sandbox: UTM and referrer on the
participation, first touch on the contact, never a double registration; bad input, a honeypot,
a flood from one address and a missing CSRF token register nobody."""

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Account, Contact
from marketing_events.models import Participation, RegistrationDetails
from tests.zoom_integration.scenario import ENDED_ID, UPCOMING_ID
from tests.zoom_integration.test_connections_api import acme, brands  # noqa: F401
from tests.zoom_integration.test_registration_api import synced  # noqa: F401

pytestmark = pytest.mark.django_db


def url(connection, webinar_id=UPCOMING_ID):
    return reverse("public_registration", args=[connection.pk, webinar_id])


def sandbox_registrants(zoom_sandbox):
    state = zoom_sandbox.get("/_sandbox/state").json()
    for account in state["accounts"]:
        for webinar in account["webinars"]:
            if webinar["id"] == UPCOMING_ID:
                return webinar["registrants"]
    raise AssertionError


FORM = {
    "first_name": "Nia",
    "last_name": "News",
    "email": "Nia@Example.com",
    "q1": "Globex",  # org (required)
    "q2": "1-10",  # Company size (required)
}


def open_page(client, connection, **query):
    response = client.get(url(connection), query, HTTP_REFERER="https://news.example/issue-7")
    assert response.status_code == 200
    return response


def test_the_page_registers_with_utm_referrer_and_first_touch(client, synced, zoom_sandbox):  # noqa: F811
    page = open_page(client, synced, utm_source="newsletter", utm_campaign="spring")
    html = page.content.decode()
    assert 'name="utm_source" value="newsletter"' in html
    assert 'name="referrer" value="https://news.example/issue-7"' in html
    assert "X-Frame-Options" not in page.headers  # embeddable
    assert "frame-ancestors *" in page.headers["Content-Security-Policy"]
    before = len(sandbox_registrants(zoom_sandbox))
    body = {
        **FORM,
        "utm_source": "newsletter",
        "utm_campaign": "spring",
        "referrer": "https://news.example/issue-7",
    }
    response = client.post(url(synced), body)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="join-url"' in html
    registrants = sandbox_registrants(zoom_sandbox)
    assert len(registrants) == before + 1
    nia = registrants[-1]
    assert (nia["email"], nia["org"], nia["custom_questions"]) == (
        "nia@example.com",
        "Globex",
        [{"title": "Company size", "value": "1-10"}],
    )
    assert f"{UPCOMING_ID}?tk={nia['id']}" in html
    contact = Contact.objects.get(email="nia@example.com")
    participation = Participation.objects.get(contact=contact)
    details = RegistrationDetails.objects.get(participation=participation)
    assert details.utm == {"utm_source": "newsletter", "utm_campaign": "spring"}
    assert details.referrer == "https://news.example/issue-7"
    assert details.answers == {"org": "Globex", "Company size": "1-10"}
    assert contact.properties["first_utm_source"] == "newsletter"
    assert contact.properties["first_referrer"] == "https://news.example/issue-7"
    assert contact.company == "Globex"  # the built-in org → company mapping (rule E2)

    # A second submit for the same e-mail: the same join URL, nobody new, first touch kept.
    again = client.post(url(synced), {**body, "utm_source": "ads", "email": "nia@example.com"})
    assert again.status_code == 200
    assert f"{UPCOMING_ID}?tk={nia['id']}" in again.content.decode()
    assert len(sandbox_registrants(zoom_sandbox)) == before + 1
    contact.refresh_from_db()
    assert contact.properties["first_utm_source"] == "newsletter"


@pytest.mark.parametrize(
    "change",
    [
        {"email": "not-an-email"},
        {"q1": ""},  # a required standard field
        {"q2": "500+"},  # not one of the question's answers
        {"website": "http://spam.example"},  # the honeypot
    ],
)
def test_bad_input_re_renders_with_errors_and_registers_nobody(
    client,
    synced,  # noqa: F811
    zoom_sandbox,
    change,
):
    before = len(sandbox_registrants(zoom_sandbox))
    response = client.post(url(synced), {**FORM, **change})
    assert response.status_code == 400
    assert "public-register__error" in response.content.decode()
    assert len(sandbox_registrants(zoom_sandbox)) == before
    assert not Contact.objects.filter(email="nia@example.com").exists()


def test_a_flood_from_one_address_is_refused(client, synced, zoom_sandbox):  # noqa: F811
    from django.core.cache import cache

    cache.clear()
    for n in range(10):
        response = client.post(url(synced), {**FORM, "email": "bad"}, REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 400, n
    before = len(sandbox_registrants(zoom_sandbox))
    flood = client.post(url(synced), FORM, REMOTE_ADDR="203.0.113.9")
    assert flood.status_code == 429
    assert flood.headers["Retry-After"] == "60"
    assert "Too many registrations" in flood.content.decode()
    assert len(sandbox_registrants(zoom_sandbox)) == before
    other = client.post(url(synced), FORM, REMOTE_ADDR="198.51.100.1")
    assert other.status_code == 200  # another address is not held back


def test_consent_is_asked_when_the_account_requires_it(client, synced, zoom_sandbox):  # noqa: F811
    Account.objects.update_or_create(
        pk=1, defaults={"registration_consent_text": "I agree to be contacted."}
    )
    assert "I agree to be contacted." in open_page(client, synced).content.decode()
    refused = client.post(url(synced), FORM)
    assert refused.status_code == 400
    assert client.post(url(synced), {**FORM, "consent": "on"}).status_code == 200


def test_csrf_is_checked(synced, zoom_sandbox):  # noqa: F811
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url(synced), FORM).status_code == 403
    assert not Contact.objects.filter(email="nia@example.com").exists()


def test_only_upcoming_synced_webinars_have_a_page(client, synced):  # noqa: F811
    assert client.get(url(synced, ENDED_ID)).status_code == 404
    assert client.get(url(synced, 999)).status_code == 404


def test_the_page_speaks_the_visitors_language(client, synced):  # noqa: F811
    html = client.get(url(synced), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Prénom" in html
