"""Rule B1's lookup: a guest whose address Zoom hides is matched through their registrant id,
read from the event's participations a page of ids at a time (`selectors.registrant_emails`),
so neither the sync's worker nor a webhook holds a map of the webinar's registrants."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Contact
from marketing_events.models import MarketingEvent, Participation
from marketing_events.selectors import registrant_emails

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 5, 1, 15, 0, tzinfo=dt.UTC)


def event(external_id="81"):
    return MarketingEvent.objects.create(
        name="W", source="zoom", external_account_id="a", external_event_id=external_id
    )


def participation(event, email, registrant_id, minutes=0):
    contact = Contact.objects.create(email=email)
    return Participation.objects.create(
        event=event,
        contact=contact,
        state="REGISTERED",
        external_registrant_id=registrant_id,
        updated_at=T0 + dt.timedelta(minutes=minutes),
    )


def test_the_ids_asked_for_only_in_one_query():  # rule B1
    webinar, other = event("81"), event("82")
    participation(webinar, "ana@example.com", "r-ana")
    participation(webinar, "bo@example.com", "r-bo")
    participation(webinar, "cy@example.com", "")  # registered some other way: no id
    participation(other, "di@example.com", "r-di")  # another event's registrant
    with CaptureQueriesContext(connection) as queries:
        found = registrant_emails(webinar.pk, ["r-ana", "r-di", "r-unknown", ""])
    assert found == {"r-ana": "ana@example.com"}
    assert len(queries) == 1
    with CaptureQueriesContext(connection) as queries:
        assert registrant_emails(webinar.pk, ["", ""]) == {}
    assert len(queries) == 0  # nothing to look up: no query


def test_an_id_two_participations_hold_gives_the_one_written_last():  # rule B1
    # The registrant changed their address in Zoom: the participation of the new address,
    # written later, holds the same registrant id as the old one's.
    webinar = event()
    participation(webinar, "old@example.com", "r-1", minutes=0)
    participation(webinar, "new@example.com", "r-1", minutes=30)
    assert registrant_emails(webinar.pk, ["r-1"]) == {"r-1": "new@example.com"}
