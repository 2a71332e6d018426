"""Rule E5: the public registration page over real HTTP to the sandbox: UTM and referrer on the
participation, first touch on the contact, never a double registration; bad input, a honeypot,
a flood from one address and a missing CSRF token register nobody."""

import re
import time
from unittest import mock

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from crm.models import Account, Contact
from marketing_events.models import Participation, RegistrationDetails
from tests.zoom_integration.scenario import ENDED_ID, UPCOMING_ID
from tests.zoom_integration.test_connections_api import acme, brands  # noqa: F401
from tests.zoom_integration.test_registration_api import synced  # noqa: F401
from zoom_integration.models import ZoomWebinar
from zoom_integration.registration.public import FORM_TOKEN_MAX_AGE, form_token

pytestmark = pytest.mark.django_db


def url(connection, webinar_id=UPCOMING_ID):
    return reverse("public_registration", args=[connection.pk, webinar_id])


def signed(connection, body, webinar_id=UPCOMING_ID):
    """The body with the form token the page renders (as a browser sends it back)."""
    webinar = ZoomWebinar.objects.get(connection=connection, zoom_webinar_id=webinar_id)
    return {**body, "t": form_token(webinar)}


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
    response = client.post(url(synced), signed(synced, body))
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
    again = client.post(
        url(synced), signed(synced, {**body, "utm_source": "ads", "email": "nia@example.com"})
    )
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
    response = client.post(url(synced), signed(synced, {**FORM, **change}))
    assert response.status_code == 400
    assert "public-register__error" in response.content.decode()
    assert len(sandbox_registrants(zoom_sandbox)) == before
    assert not Contact.objects.filter(email="nia@example.com").exists()


def test_a_flood_from_one_address_is_refused(client, synced, zoom_sandbox):  # noqa: F811
    from django.core.cache import cache
    from django.utils import timezone

    cache.clear()
    # All within one minute's window (a test crossing a minute would start a new count).
    now = timezone.now()
    with mock.patch("zoom_integration.registration.public.timezone.now", return_value=now):
        for n in range(10):
            response = client.post(
                url(synced), signed(synced, {**FORM, "email": "bad"}), REMOTE_ADDR="203.0.113.9"
            )
            assert response.status_code == 400, n
        before = len(sandbox_registrants(zoom_sandbox))
        flood = client.post(url(synced), signed(synced, FORM), REMOTE_ADDR="203.0.113.9")
    assert flood.status_code == 429
    assert flood.headers["Retry-After"] == "60"
    assert "Too many registrations" in flood.content.decode()
    assert len(sandbox_registrants(zoom_sandbox)) == before
    other = client.post(url(synced), signed(synced, FORM), REMOTE_ADDR="198.51.100.1")
    assert other.status_code == 200  # another address is not held back


def test_consent_is_asked_when_the_account_requires_it(client, synced, zoom_sandbox):  # noqa: F811
    Account.objects.update_or_create(
        pk=1, defaults={"registration_consent_text": "I agree to be contacted."}
    )
    assert "I agree to be contacted." in open_page(client, synced).content.decode()
    refused = client.post(url(synced), signed(synced, FORM))
    assert refused.status_code == 400
    assert client.post(url(synced), signed(synced, {**FORM, "consent": "on"})).status_code == 200


def _stale_token(connection):
    webinar = ZoomWebinar.objects.get(connection=connection, zoom_webinar_id=UPCOMING_ID)
    long_ago = time.time() - FORM_TOKEN_MAX_AGE - 60
    with mock.patch("django.core.signing.time.time", return_value=long_ago):
        return form_token(webinar)


def _other_webinar_token(connection):
    webinar = ZoomWebinar.objects.get(connection=connection, zoom_webinar_id=ENDED_ID)
    return form_token(webinar)


BAD_FORM_TOKENS = {
    "missing": lambda c: None,
    "forged": lambda c: signing.dumps({"w": [c.pk, UPCOMING_ID], "n": "x"}, salt="other"),
    "tampered": lambda c: signed(c, {})["t"][:-3] + "abc",
    "another webinar's": _other_webinar_token,
    "stale": _stale_token,
}


@pytest.mark.parametrize("kind", BAD_FORM_TOKENS)
def test_a_submission_needs_the_pages_own_form_token(synced, zoom_sandbox, kind):  # noqa: F811
    # Rule E5's CSRF check without a cookie (a third-party iframe keeps none): the page's
    # signed form token, bound to the webinar, valid for a day.
    strict = Client(enforce_csrf_checks=True)
    token = BAD_FORM_TOKENS[kind](synced)
    body = {**FORM, **({"t": token} if token else {})}
    before = len(sandbox_registrants(zoom_sandbox))
    response = strict.post(url(synced), body)
    html = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired or was not sent by this page." in html
    assert not Contact.objects.filter(email="nia@example.com").exists()
    assert len(sandbox_registrants(zoom_sandbox)) == before
    # Shown again with the answers kept and a fresh token that works.
    assert 'value="Globex"' in html
    fresh = re.search(r'name="t" value="([^"]+)"', html).group(1)
    assert strict.post(url(synced), {**FORM, "t": fresh}).status_code == 200
    assert Contact.objects.filter(email="nia@example.com").exists()


def test_the_page_works_without_cookies_and_sets_none(synced, zoom_sandbox):  # noqa: F811
    strict = Client(enforce_csrf_checks=True)
    page = strict.get(url(synced))
    assert page.cookies == {}  # no CSRF cookie: nothing a third-party iframe would lose
    token = re.search(r'name="t" value="([^"]+)"', page.content.decode()).group(1)
    strict.cookies.clear()
    response = strict.post(url(synced), {**FORM, "t": token})
    assert response.status_code == 200
    assert response.cookies == {}
    assert Contact.objects.filter(email="nia@example.com").exists()


def test_only_upcoming_synced_webinars_have_a_page(client, synced):  # noqa: F811
    assert client.get(url(synced, ENDED_ID)).status_code == 404
    assert client.get(url(synced, 999)).status_code == 404


def test_the_page_speaks_the_visitors_language(client, synced):  # noqa: F811
    html = client.get(url(synced), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Prénom" in html
