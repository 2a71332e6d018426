"""Dates and numbers as pages show them, in the format of the page's language (rule L1):
"12/05/2026" is 12 May to a French or Brazilian reader and 5 December to an American one, so
each language gets its own order; counts are grouped the language's way. Machine-readable
values (ids in attributes and URLs) stay plain digits in every language."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from crm.models import Role
from marketing_events.models import MarketingEvent
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db

MAY_12 = dt.datetime(2026, 5, 12, 14, 30, tzinfo=dt.UTC)

# language: (a short date, a short date and time, 12345 as a count)
EXPECTED = {
    "en": ("05/12/2026", "05/12/2026 2:30 p.m.", "12,345"),
    "fr": ("12/05/2026", "12/05/2026 14:30", "12\xa0345"),
    "pt-br": ("12/05/2026", "12/05/2026 14:30", "12.345"),
}


@pytest.fixture
def reader(client, settings):
    settings.TIME_ZONE = "UTC"
    person = UserFactory(email="reader@crm.test", role=Role.MARKETING)
    client.force_login(person)

    def read(path: str, language: str) -> str:
        person.language = language
        person.save()
        response = client.get(path)
        assert response.status_code == 200
        return response.content.decode()

    return read


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_the_contacts_list_shows_a_creation_date_in_the_languages_order(reader, language):
    ContactFactory(email="ana@example.com", created_at=MAY_12)
    html = reader(reverse("crm:contact_list"), language)
    row = re.search(r"<tr>\s*<td>\s*<a class=\"contact-name\".*?</tr>", html, re.S).group(0)
    assert f'<td class="nowrap">{EXPECTED[language][0]}</td>' in row


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_the_events_list_shows_a_start_and_a_count_in_the_languages_format(reader, language):
    MarketingEvent.objects.create(
        id=12345,
        external_account_id="acct",
        external_event_id="ev-1",
        name="Q2 roadmap",
        starts_at=MAY_12,
        registered_count=12345,
        attended_count=999,
    )
    html = reader(reverse("marketing_events:list"), language)
    _date, date_time, count = EXPECTED[language]
    row = re.search(r'<tr data-event-id="12345">.*?</tr>', html, re.S).group(0)
    assert f'<td class="nowrap">{date_time}</td>' in row
    assert f'<td class="num" data-col="registered">{count}</td>' in row
    assert '<td class="num" data-col="attended">999</td>' in row
    # The id, in an attribute and in a URL, is not a number to read: plain digits.
    assert 'href="/marketing-events/12345/"' in row


@pytest.mark.parametrize(
    ("language", "expected"),
    [("pt-br", "6 de dezembro de 2026"), ("fr", "6 décembre 2026"), ("en", "Dec. 6, 2026")],
)
def test_month_names_inside_dates_are_written_as_each_language_does(language, expected):
    # rule L1: Django's own catalogue capitalises Brazilian Portuguese months ("Dezembro");
    # the project's catalogue writes them as Portuguese does, inside a date.
    import datetime as dt

    from django.utils import translation
    from django.utils.formats import date_format

    with translation.override(language):
        assert date_format(dt.date(2026, 12, 6), "DATE_FORMAT") == expected


def test_run_counts_are_grouped_the_languages_way():
    from django.utils import translation

    from zoom_integration.presentation import count_phrases

    counts = {"registrations": 9000, "zoom_records": 15376}
    with translation.override("en"):
        assert count_phrases(counts) == ["9,000 registrations", "15,376 records read from Zoom"]
    with translation.override("pt-br"):
        assert count_phrases(counts)[0] == "9.000 registros"
