"""The own API's participation read (issue 19 item 6): `GET /api/v1/marketing-events/{id}/
participations/` lists an event's participations with the contact, state, times, answers,
source and UTM, recording and `engagement: {"score", "parts"}` (rules M2, E1, E4, E5, E7, E8;
the names the HubSpot-compatible breakdowns use), paged by cursor, at a constant number of
queries per page, with the scopes of the other own-API reads of contacts' data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketing_events.models import Participation
from marketing_events.models_registration import RegistrationDetails
from tests.support.openapi import operation, resolve
from tests.zoom_integration.test_engagement_views import engaged_event
from zoom_integration.engagement.models import ParticipationEngagement

pytestmark = pytest.mark.django_db
PATH = "/api/v1/marketing-events/{event_id}/participations/"


def url(event) -> str:
    return PATH.format(event_id=event.pk)


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def test_each_participation_with_its_contact_times_facts_and_score(admin_api):
    event = engaged_event(people=3)
    p0 = Participation.objects.select_related("contact").get(contact__email="p0@example.com")
    RegistrationDetails.objects.create(
        participation=p0,
        event=event,
        answers={"job_title": "CTO", "Topics": ["SSO", "Billing"]},
        source_id="ts-1",
        source_name="Newsletter",
        utm={"utm_source": "mail", "utm_campaign": "q1"},
        referrer="https://example.org/blog",
    )
    viewed_at = dt.datetime(2026, 1, 12, 9, 30, tzinfo=dt.UTC)
    ParticipationEngagement.objects.filter(participation=p0).update(
        recording_first_viewed_at=viewed_at, recording_seconds=600
    )

    response = admin_api.get(url(event))

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["next"] is None
    rows = data["results"]
    assert [r["contact"]["email"] for r in rows] == [f"p{n}@example.com" for n in range(3)]
    first = rows[0]
    p0.refresh_from_db()
    engagement = ParticipationEngagement.objects.get(participation=p0)
    assert first["id"] == p0.pk
    assert first["contact"] == {
        "id": p0.contact_id,
        "email": "p0@example.com",
        "firstname": "P0",
        "lastname": "Person",
    }
    assert first["state"] == "ATTENDED"
    assert (first["registered_at"], first["cancelled_at"]) == (iso(p0.registered_at), None)
    assert (first["first_join_at"], first["last_leave_at"]) == (
        iso(p0.first_join_at),
        iso(p0.last_leave_at),
    )
    assert first["duration_seconds"] == p0.duration_seconds == 3600
    assert first["attendance_percent"] == f"{p0.attendance_percent:.1f}" == "100.0"
    assert first["provisional"] is False
    assert first["answers"] == {"job_title": "CTO", "Topics": ["SSO", "Billing"]}
    assert first["source"] == {"id": "ts-1", "name": "Newsletter"}
    assert first["utm"] == {"utm_source": "mail", "utm_campaign": "q1"}
    assert first["referrer"] == "https://example.org/blog"
    # As on the breakdown rows (milliseconds, as HubSpot's times).
    assert first["recording"] == {
        "firstViewedAt": "2026-01-12T09:30:00.000Z",
        "secondsWatched": 600,
    }
    # rule E8: the score with its parts, which add up to it
    assert first["engagement"] == {"score": engagement.score, "parts": engagement.parts}
    assert sum(first["engagement"]["parts"].values()) == first["engagement"]["score"] > 0
    # No registration details nor recording: the facts are empty, not missing.
    second = rows[1]
    assert (second["answers"], second["source"], second["utm"], second["referrer"]) == (
        {},
        None,
        {},
        "",
    )
    assert second["recording"] is None
    assert (
        Decimal(second["attendance_percent"])
        == Participation.objects.get(pk=second["id"]).attendance_percent
    )


def test_a_registrant_of_an_event_over_who_never_came_reads_as_a_no_show(admin_api):
    event = engaged_event(people=1)
    Participation.objects.filter(event=event).update(
        state="REGISTERED", first_join_at=None, last_leave_at=None, duration_seconds=0
    )

    (row,) = admin_api.get(url(event)).json()["results"]

    assert row["state"] == "NO_SHOW"


def test_the_list_is_paged_by_cursor_without_losing_or_repeating_anyone(admin_api):
    event = engaged_event(people=5)

    seen, page_url, pages = [], url(event) + "?limit=2", 0
    while page_url:
        data = admin_api.get(page_url).json()
        seen += [r["contact"]["email"] for r in data["results"]]
        page_url, pages = data["next"], pages + 1

    assert pages == 3
    assert seen == [f"p{n}@example.com" for n in range(5)]


def test_a_page_costs_the_same_queries_whatever_the_event_size(admin_api):
    counts, queries_seen = [], []
    for people in (3, 40):
        Participation.objects.all().delete()
        event = engaged_event(people=people)
        admin_api.get(url(event))  # the token's first use is recorded once: not a page's cost
        with CaptureQueriesContext(connection) as queries:
            response = admin_api.get(url(event), {"limit": 50})
        assert len(response.json()["results"]) == people
        counts.append(len(queries))
        queries_seen.append([q["sql"][:80] for q in queries.captured_queries])
    # The token, the event, the page (contacts, details, scores joined).
    assert counts[0] == counts[1] <= 3, queries_seen


def test_bad_ids_and_limits(admin_api):
    event = engaged_event(people=1)

    assert admin_api.get(PATH.format(event_id=999999)).status_code == 404
    assert admin_api.get(url(event), {"limit": "0"}).status_code == 400
    assert admin_api.get(url(event), {"limit": "201"}).status_code == 400
    assert admin_api.get(url(event), {"cursor": "not-a-cursor"}).status_code == 404


def test_reading_needs_the_marketing_event_and_the_contact_read_scopes(
    token_client, marketer, viewer_api, client
):
    event = engaged_event(people=1)
    both = token_client(
        marketer, scopes=["crm.objects.marketing_events.read", "crm.objects.contacts.read"]
    )
    no_contacts = token_client(marketer, scopes=["crm.objects.marketing_events.read"])
    no_events = token_client(marketer, scopes=["crm.objects.contacts.read"])

    assert both.get(url(event)).status_code == 200
    assert viewer_api.get(url(event)).status_code == 200  # a read: every role may
    refused = no_contacts.get(url(event))
    assert refused.status_code == 403
    assert "crm.objects.contacts.read" in refused.json()["detail"]
    assert no_events.get(url(event)).status_code == 403
    assert client.get(url(event)).status_code == 401


def test_the_schema_documents_the_read_its_facts_and_statuses():
    op = operation(PATH, "get")
    assert {"200", "401", "403", "404", "429"} <= set(op["responses"])
    page = resolve(op["responses"]["200"]["content"]["application/json"]["schema"])
    item = resolve(page["properties"]["results"]["items"])
    assert {
        "contact",
        "state",
        "registered_at",
        "first_join_at",
        "duration_seconds",
        "attendance_percent",
        "answers",
        "source",
        "utm",
        "referrer",
        "recording",
        "engagement",
    } <= set(item["properties"])
    engagement = item["properties"]["engagement"]
    assert engagement["required"] == ["score", "parts"] and engagement["nullable"] is True
    assert set(engagement["properties"]["parts"]["required"]) == {
        "attendance",
        "questions",
        "polls",
        "survey",
        "recording",
    }
