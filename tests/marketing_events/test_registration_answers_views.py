"""Rule E1/E4 on the pages: a column per question answered on the event's participants table
and its CSV, the answers and source on the contact page; the cost per page stays constant."""

import re

import pytest
from django.urls import reverse

from crm.models import Contact
from marketing_events.plan import NewContact, Plan, RegistrationFact
from marketing_events.services import plan_apply
from tests.marketing_events.test_views import at, csv_of, html_of, make_event

pytestmark = pytest.mark.django_db


def register(event, people):
    """people: {name: (answers, source_id, source_name)}."""
    plan = Plan(
        event_id=event.pk,
        new_contacts=[NewContact(f"{n}@example.com", n.capitalize(), "Silva") for n in people],
        registrations=[
            RegistrationFact(
                f"{n}@example.com",
                registered_at=at(-60),
                answers=tuple(answers.items()),
                source_id=source_id,
                source_name=source_name,
            )
            for n, (answers, source_id, source_name) in people.items()
        ],
    )
    plan_apply(plan, now=at(-30))


@pytest.fixture
def answered():
    event = make_event()
    register(
        event,
        {
            "ana": ({"org": "Acme", "Company size": "11-100"}, "ts_1", "LinkedIn"),
            "bo": ({"job_title": "CTO"}, "", ""),
            "cy": ({}, "", ""),  # answered nothing
        },
    )
    return event


def test_participants_table_has_a_column_per_question(admin_client, answered):  # rule E1
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[answered.pk])))
    table = html[html.index('data-testid="participant-table"') :]
    head = table[: table.index("</thead>")]
    # Standard fields first in Zoom's order with their labels, then custom titles.
    assert head.index(">Organization<") < head.index(">Job title<") < head.index(">Company size<")
    assert "Tracking source" in head
    ana = table[
        table.index(f'data-contact-id="{Contact.objects.get(email="ana@example.com").pk}"') :
    ]
    ana = ana[: ana.index("</tr>")]
    assert '<td data-question="org">Acme</td>' in ana
    assert '<td data-question="Company size">11-100</td>' in ana
    assert '<td data-question="job_title">—</td>' in ana
    assert '<td data-col="source">LinkedIn</td>' in ana


def test_csv_has_the_source_and_a_column_per_question(admin_client, answered):  # rule E1
    response = admin_client.get(reverse("marketing_events:participants_csv", args=[answered.pk]))
    rows = csv_of(response)
    assert rows[0][10:] == ["tracking_source", "org", "job_title", "Company size"]
    by_email = {row[1]: row[10:] for row in rows[1:]}
    assert by_email == {
        "ana@example.com": ["LinkedIn", "Acme", "", "11-100"],
        "bo@example.com": ["", "", "CTO", ""],
        "cy@example.com": ["", "", "", ""],
    }


def test_contact_page_shows_the_answers_and_source(admin_client, answered):  # rule E1
    ana = Contact.objects.get(email="ana@example.com")
    html = html_of(admin_client.get(reverse("crm:contact_detail", args=[ana.pk])))
    block = html[html.index('data-testid="registration-answers"') :]
    block = block[: block.index("</dl>")]
    assert "<dt>Organization</dt><dd>Acme</dd>" in block
    assert "<dt>Company size</dt><dd>11-100</dd>" in block
    assert '<dd data-col="source">LinkedIn</dd>' in block
    cy = Contact.objects.get(email="cy@example.com")
    assert 'data-testid="registration-answers"' not in html_of(
        admin_client.get(reverse("crm:contact_detail", args=[cy.pk]))
    )


def test_answers_are_translated_labels(admin_client, admin_user, answered):  # rule L1
    admin_user.language = "fr"
    admin_user.save(update_fields=["language"])
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[answered.pk])))
    assert ">Organisation<" in html and ">Intitulé du poste<" in html
    assert ">Company size<" in html  # a custom title stays as the host wrote it


@pytest.mark.parametrize("size", [5, 40])
def test_answers_cost_no_query_per_row(admin_client, django_assert_max_num_queries, size):
    event = make_event()
    register(
        event,
        {f"p{i:02d}": ({"org": f"Org {i}", "Team": str(i)}, "ts", "News") for i in range(size)},
    )
    contact = Contact.objects.get(email="p00@example.com")
    with django_assert_max_num_queries(11):  # the same bounds as without answers (test_views)
        html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    with django_assert_max_num_queries(5):
        response = admin_client.get(reverse("marketing_events:participants_csv", args=[event.pk]))
        assert len(csv_of(response)) == size + 1
    with django_assert_max_num_queries(10):  # + the webinars of the personal links (one)
        html_of(admin_client.get(reverse("crm:contact_detail", args=[contact.pk])))


def test_event_page_charts_registrations_by_source_and_utm(admin_client):  # rules E4, E5
    event = make_event()
    register(
        event,
        {
            "ana": ({}, "ts_1", "LinkedIn"),
            "bo": ({}, "ts_1", "LinkedIn"),
            "cy": ({}, "ts_2", "Partner site"),
        },
    )
    plan_apply(
        Plan(
            event_id=event.pk,
            new_contacts=[NewContact("dee@example.com"), NewContact("eli@example.com")],
            registrations=[
                RegistrationFact(
                    "dee@example.com",
                    registered_at=at(-50),
                    utm=(("utm_source", "newsletter"), ("utm_campaign", "spring")),
                ),
                RegistrationFact(
                    "eli@example.com", registered_at=at(-50), utm=(("utm_source", "newsletter"),)
                ),
            ],
        ),
        now=at(-30),
    )
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    section = html[html.index('data-testid="attribution"') :]

    def bars(key):
        chart = section[section.index(f'data-chart="{key}"') :]
        chart = chart[: chart.index("</figure>")]
        return re.findall(r'data-label="([^"]+)" data-count="(\d+)"', chart)

    assert bars("source") == [("LinkedIn", "2"), ("Partner site", "1")]
    assert bars("utm_source") == [("newsletter", "2")]
    assert bars("utm_campaign") == [("spring", "1")]
    assert "style=" not in section and "<script" not in section  # strict CSP


def test_event_page_without_attribution_says_what_to_do(admin_client):
    event = make_event()
    html = html_of(admin_client.get(reverse("marketing_events:detail", args=[event.pk])))
    assert 'data-testid="attribution-empty"' in html


def test_hubspot_breakdown_rows_carry_answers_source_and_utm(admin_api):  # rules E1, E4, E5
    event = make_event()
    register(event, {"ana": ({"org": "Acme"}, "ts_1", "LinkedIn"), "bo": ({}, "", "")})
    plan_apply(
        Plan(
            event_id=event.pk,
            registrations=[
                RegistrationFact(
                    "bo@example.com",
                    registered_at=at(-50),
                    utm=(("utm_source", "newsletter"),),
                    referrer="https://news.example/",
                )
            ],
        ),
        now=at(-30),
    )
    response = admin_api.get(f"/marketing/v3/marketing-events/participations/{event.pk}/breakdown")
    assert response.status_code == 200, response.content
    rows = {
        r["associations"]["contact"]["email"]: r["properties"] for r in response.json()["results"]
    }
    assert (rows["ana@example.com"]["answers"], rows["ana@example.com"]["source"]) == (
        {"org": "Acme"},
        {"id": "ts_1", "name": "LinkedIn"},
    )
    assert rows["ana@example.com"]["utm"] == {}
    assert (rows["bo@example.com"]["utm"], rows["bo@example.com"]["referrer"]) == (
        {"utm_source": "newsletter"},
        "https://news.example/",
    )
    assert rows["bo@example.com"]["source"] is None
