"""What a Zoom sync writes is readable through the official `hubspot-api-client`, pointed at our
server (DESIGN "Interfaces other programs rely on"): the synced webinar as a marketing event by
its external ids (rule M1), its counters and its participations breakdown, per event and per
contact, with durations in seconds and percentages as one-decimal strings."""

import hubspot
import pytest
from hubspot.marketing.events.exceptions import NotFoundException

from crm.models import Brand, Contact
from crm.services.tokens import api_token_create
from tests.zoom_integration.scenario import ACME, ENDED_ID, S2S
from zoom_integration.models import ZoomConnection
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.services.sync import sync_run_execute, sync_run_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(zoom_sandbox, django_capture_on_commit_callbacks):
    """The scenario synced once for the Acme brand (over real HTTP to the sandbox)."""
    brand = Brand.objects.create(name="Acme", is_primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(brand=brand, account_id=ACME, **S2S)
    connection_settings_update(connection=connection, sync_webinar_data=True)
    run = sync_run_request(connection=ZoomConnection.objects.get(pk=connection.pk))
    run = sync_run_execute(run_id=run.pk)  # already done if the eager task ran on commit
    run.refresh_from_db()
    assert run.status == "succeeded", run.errors
    return run


@pytest.fixture
def events(live_server, marketer):
    _token, clear = api_token_create(user=marketer, name="sdk")
    return hubspot.Client.create(access_token=clear, host=live_server.url).marketing.events


def test_the_sdk_reads_a_synced_webinar(synced, events):
    event_id = str(ENDED_ID)

    details = events.basic_api.get_details(event_id, external_account_id=ACME)
    assert (details.external_event_id, details.event_name, details.event_type) == (
        event_id,
        "Ended launch",
        "WEBINAR",
    )
    # The event's own counters agree with the participations below.
    assert (details.registrants, details.attendees, details.no_shows) == (2, 2, 0)
    # External ids are scoped by the Zoom account: another account does not see it.
    with pytest.raises(NotFoundException):
        events.basic_api.get_details(event_id, external_account_id="acct_beta")

    state = events.retrieve_participant_state_api
    counters = state.get_participations_counters_by_event_external_id(ACME, event_id)
    assert (counters.registered, counters.attended, counters.no_shows, counters.cancelled) == (
        2,
        2,
        0,
        0,
    )

    breakdown = state.get_participations_breakdown_by_external_event_id(
        ACME, event_id, state="ATTENDED", limit=100
    )
    assert breakdown.total == 2
    rows = sorted(
        (
            row.associations.contact.email,
            row.properties.attendance_state,
            row.properties.attendance_duration_seconds,
            row.properties.attendance_percentage,
            row.associations.marketing_event.external_event_id,
        )
        for row in breakdown.results
    )
    assert rows == [
        ("person2@example.com", "ATTENDED", 2400, "87.0", event_id),
        ("person3@example.com", "ATTENDED", 1200, "43.5", event_id),
    ]

    person2 = Contact.objects.get(email="person2@example.com")
    by_contact = state.get_participations_breakdown_by_contact_id("person2@example.com")
    assert by_contact.total == 1
    row = by_contact.results[0]
    assert (
        row.associations.contact.contact_id,
        row.associations.marketing_event.external_event_id,
        row.associations.marketing_event.name,
        row.properties.attendance_state,
        row.properties.attendance_duration_seconds,
        row.properties.attendance_percentage,
    ) == (str(person2.pk), event_id, "Ended launch", "ATTENDED", 2400, "87.0")
    # The same contact by its internal id.
    assert state.get_participations_breakdown_by_contact_id(str(person2.pk)).total == 1
