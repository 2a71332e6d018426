"""Personal registration links (rules E3, E5): the public page opened with a contact's signed
token pre-fills the name, the e-mail and every question a mapped property answers, and asks
only what is missing; a token that does not verify is ignored (the anonymous page: no error,
nothing of anyone's data). The contact page offers the links to copy."""

import datetime as dt
import re
import time
from unittest import mock

import pytest
from django.core import signing
from django.urls import reverse

from crm.models import Contact
from crm.services.properties import property_definition_create
from marketing_events.models import Participation, RegistrationDetails
from tests.factories import ContactFactory
from tests.zoom_integration.scenario import UPCOMING_ID
from tests.zoom_integration.test_connections_api import acme, brands  # noqa: F401
from tests.zoom_integration.test_public_registration import sandbox_registrants, signed
from tests.zoom_integration.test_registration_api import synced  # noqa: F401
from zoom_integration.models import QuestionMapping, ZoomWebinar
from zoom_integration.registration.personal import SALT, personal_token, token_contact

pytestmark = pytest.mark.django_db
# The synced webinar asks last_name (required), org (required, built-in mapping → company) and
# "Company size" (required, single choice "1-10"), as q0, q1 and q2.


def url(connection, **query):
    base = reverse("public_registration", args=[connection.pk, UPCOMING_ID])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.fixture
def ana(db):
    return ContactFactory(
        email="ana.known@example.com", first_name="Ana", last_name="Silva", company="Globex"
    )


def test_a_personal_link_asks_only_what_is_missing(client, synced, ana):  # noqa: F811
    html = client.get(url(synced, c=personal_token(ana))).content.decode()
    assert 'data-testid="known-person"' in html
    assert "Registering as Ana Silva (ana.known@example.com)." in html
    for asked_no_more in ('name="first_name"', 'name="last_name"', 'name="email"', 'name="q1"'):
        assert asked_no_more not in html, asked_no_more
    assert "<dt>Organization</dt><dd>Globex</dd>" in html  # known from the company property
    assert 'name="q2"' in html  # "Company size": no mapped property holds it


def test_a_personal_link_registers_with_what_is_known(client, synced, ana, zoom_sandbox):  # noqa: F811
    token = personal_token(ana)
    before = len(sandbox_registrants(zoom_sandbox))
    response = client.post(url(synced), signed(synced, {"c": token, "q2": "1-10"}))
    assert response.status_code == 200, response.content.decode()
    assert 'data-testid="join-url"' in response.content.decode()
    registrants = sandbox_registrants(zoom_sandbox)
    assert len(registrants) == before + 1
    sent = registrants[-1]
    assert (sent["email"], sent["first_name"], sent["last_name"], sent["org"]) == (
        "ana.known@example.com",
        "Ana",
        "Silva",
        "Globex",
    )
    participation = Participation.objects.get(contact=ana)
    assert RegistrationDetails.objects.get(participation=participation).answers == {
        "org": "Globex",
        "Company size": "1-10",
    }


def test_a_question_mapped_to_a_property_that_fits_is_not_asked(client, synced, ana):  # noqa: F811
    property_definition_create(
        name="company_size", label="Company size", type="string", field_type="text",
        group_name="contactinformation",
    )  # fmt: skip
    QuestionMapping.objects.create(
        connection=synced, question="Company size", property="company_size"
    )
    ana.properties = {**ana.properties, "company_size": "1-10"}
    ana.save()
    html = client.get(url(synced, c=personal_token(ana))).content.decode()
    assert 'name="q2"' not in html
    assert "<dt>Company size</dt><dd>1-10</dd>" in html
    # A value that is not one of the question's choices does not answer it: asked.
    Contact.objects.filter(pk=ana.pk).update(properties={**ana.properties, "company_size": "9"})
    html = client.get(url(synced, c=personal_token(ana))).content.decode()
    assert 'name="q2"' in html


def _tampered(token: str) -> str:
    i = len(token) // 2
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


def _expired(contact) -> str:
    long_ago = time.time() - dt.timedelta(days=181).total_seconds()
    with mock.patch("django.core.signing.time.time", return_value=long_ago):
        return personal_token(contact)


BAD_TOKENS = {
    "tampered": lambda c: _tampered(personal_token(c)),
    "other salt": lambda c: signing.dumps({"c": c.pk, "e": "x"}, salt="another.use"),
    "our salt, not our shape": lambda c: signing.dumps([c.pk], salt=SALT),
    "expired": _expired,
    "garbage": lambda c: "%00<script>",
    "too long": lambda c: "a" * 5000,
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_bad_token_is_ignored_and_shows_nothing_of_anyone(client, synced, ana, kind):  # noqa: F811
    token = BAD_TOKENS[kind](ana)
    assert token_contact(token) is None
    response = client.get(url(synced), {"c": token})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="email"' in html and 'name="first_name"' in html  # the anonymous form
    for secret in ("ana.known@example.com", "Ana", "Silva", "Globex", 'data-testid="known-person"'):
        assert secret not in html, secret
    # Submitted with it: the form asks for what it does not know, nobody is registered.
    response = client.post(url(synced), signed(synced, {"c": token, "q2": "1-10"}))
    assert response.status_code == 400
    assert "ana.known@example.com" not in response.content.decode()
    assert not Participation.objects.filter(contact=ana).exists()


def test_a_token_no_longer_works_once_the_email_changes_or_the_contact_is_gone(ana):
    token = personal_token(ana)
    assert token_contact(token) == ana
    Contact.objects.filter(pk=ana.pk).update(email="ana.new@example.com")
    assert token_contact(token) is None
    fresh = personal_token(Contact.objects.get(pk=ana.pk))
    Contact.objects.filter(pk=ana.pk).delete()
    assert token_contact(fresh) is None


def test_the_host_with_a_personal_link_gets_the_message_not_a_500(client, synced):  # noqa: F811
    host = ZoomWebinar.objects.get(connection=synced, zoom_webinar_id=UPCOMING_ID).host_email
    contact = ContactFactory(email=host.lower(), first_name="Host", last_name="H")
    body = {"c": personal_token(contact), "q1": "X", "q2": "1-10"}
    response = client.post(url(synced), signed(synced, body))
    assert response.status_code == 400
    assert "Webinar host cannot register to the webinar" in response.content.decode()


def test_the_contact_page_offers_the_personal_links(admin_client, synced, ana):  # noqa: F811
    html = admin_client.get(reverse("crm:contact_detail", args=[ana.pk])).content.decode()
    assert 'data-testid="personal-links"' in html
    links = re.findall(r'value="([^"]+)" readonly class="mono" data-testid="personal-link"', html)
    mine = [link for link in links if f"/r/{synced.pk}/{UPCOMING_ID}/?c=" in link]
    assert len(mine) == 1 and mine[0].startswith("http://testserver/")
    token = mine[0].split("?c=", 1)[1]
    assert token_contact(token) == ana


def test_people_who_cannot_change_contacts_get_no_personal_links(client, synced, ana, viewer):  # noqa: F811
    client.force_login(viewer)
    html = client.get(reverse("crm:contact_detail", args=[ana.pk])).content.decode()
    assert 'data-testid="personal-links"' not in html
