"""The official `hubspot-api-client` package, pointed at our server, works unchanged for
marketing events (DESIGN "Interfaces other programs rely on", hubspot-api.md §5)."""

import datetime as dt

import hubspot
import pytest
from hubspot.marketing.events import (
    BatchInputMarketingEventCreateRequestParams,
    BatchInputMarketingEventEmailSubscriber,
    BatchInputMarketingEventSubscriber,
    MarketingEventCompleteRequestParams,
    MarketingEventCreateRequestParams,
    MarketingEventEmailSubscriber,
    MarketingEventSubscriber,
    MarketingEventUpdateRequestParams,
    PropertyValue,
)
from hubspot.marketing.events.exceptions import ApiException, NotFoundException

from crm.models import Contact
from crm.services.tokens import api_token_create
from marketing_events.models import MarketingEvent, Participation

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNT = "zoomacct_Xy12AbCd"
T0 = dt.datetime(2025, 9, 10, 15, 0, tzinfo=dt.UTC)


def ms(minutes: float) -> int:
    return int((T0 + dt.timedelta(minutes=minutes)).timestamp() * 1000)


@pytest.fixture
def events(live_server, marketer):
    _token, clear = api_token_create(user=marketer, name="sdk")
    return hubspot.Client.create(access_token=clear, host=live_server.url).marketing.events


def params(event_id: str, name: str = "Q3 product webinar") -> MarketingEventCreateRequestParams:
    return MarketingEventCreateRequestParams(
        external_account_id=ACCOUNT,
        external_event_id=event_id,
        event_name=name,
        event_type="WEBINAR",
        event_organizer="Jane Host",
        start_date_time=T0,
        end_date_time=T0 + dt.timedelta(hours=1),
        custom_properties=[PropertyValue(name="zoom_webinar_uuid", value="4444==")],
    )


def subscriber(email, minutes, **properties):
    return MarketingEventEmailSubscriber(
        email=email,
        interaction_date_time=ms(minutes),
        properties=properties,
        contact_properties={"firstname": email.split("@")[0].title()},
    )


def test_sdk_events_attendance_counters_breakdown_and_list(events):
    created = events.basic_api.create(params("845"))
    assert created.event_name == "Q3 product webinar"
    assert created.object_id == str(MarketingEvent.objects.get().pk)

    upserted = events.basic_api.upsert("845", params("845", name="Renamed"))
    batch = events.batch_api.upsert(
        BatchInputMarketingEventCreateRequestParams(inputs=[params("846"), params("847")])
    )
    assert upserted.object_id == created.object_id
    assert batch.status == "COMPLETE" and len(batch.results) == 2

    details = events.basic_api.get_details("845", external_account_id=ACCOUNT)
    assert details.event_name == "Renamed"
    assert details.start_date_time == T0
    assert details.custom_properties[0].value == "4444=="

    updated = events.basic_api.update(
        "845",
        external_account_id=ACCOUNT,
        marketing_event_update_request_params=MarketingEventUpdateRequestParams(
            event_description="Roadmap"
        ),
    )
    assert updated.event_description == "Roadmap"

    registered = events.add_event_attendees_api.record_by_contact_emails(
        external_event_id="845",
        subscriber_state="register",
        external_account_id=ACCOUNT,
        batch_input_marketing_event_email_subscriber=BatchInputMarketingEventEmailSubscriber(
            inputs=[subscriber("ana@example.com", -600), subscriber("bo@example.com", -600)]
        ),
    )
    assert registered.status == "COMPLETE"
    assert registered.num_errors == 0
    assert {r.email for r in registered.results} == {"ana@example.com", "bo@example.com"}
    assert Contact.objects.get(email="ana@example.com").first_name == "Ana"

    attended = events.add_event_attendees_api.record_by_contact_emails(
        external_event_id="845",
        subscriber_state="attend",
        external_account_id=ACCOUNT,
        batch_input_marketing_event_email_subscriber=BatchInputMarketingEventEmailSubscriber(
            inputs=[subscriber("ana@example.com", 1, joinedAt=str(ms(1)), leftAt=str(ms(36)))]
        ),
    )
    ana = Contact.objects.get(email="ana@example.com")
    assert attended.results[0].vid == ana.pk

    by_vid = events.add_event_attendees_api.record_by_contact_id(
        object_id=created.object_id,
        subscriber_state="cancel",
        batch_input_marketing_event_subscriber=BatchInputMarketingEventSubscriber(
            inputs=[
                MarketingEventSubscriber(
                    vid=Contact.objects.get(email="bo@example.com").pk,
                    interaction_date_time=ms(-60),
                    properties={},
                )
            ]
        ),
    )
    assert by_vid.num_errors == 0

    state = events.retrieve_participant_state_api
    counters = state.get_participations_counters_by_event_external_id(ACCOUNT, "845")
    assert (counters.registered, counters.attended, counters.cancelled, counters.no_shows) == (
        1,
        1,
        1,
        0,
    )
    assert state.get_participations_counters_by_marketing_event_id(int(created.object_id)) == (
        counters
    )

    breakdown = state.get_participations_breakdown_by_external_event_id(
        ACCOUNT, "845", state="ATTENDED", limit=100
    )
    assert breakdown.total == 1
    row = breakdown.results[0]
    assert row.properties.attendance_state == "ATTENDED"
    assert row.properties.attendance_duration_seconds == 35 * 60
    assert row.properties.attendance_percentage == "58.3"
    assert row.properties.occurred_at == ms(1)
    assert row.associations.contact.email == "ana@example.com"
    assert row.associations.marketing_event.external_event_id == "845"
    by_contact = state.get_participations_breakdown_by_contact_id("ana@example.com")
    assert by_contact.total == 1

    completed = events.change_property_api.complete(
        "845",
        external_account_id=ACCOUNT,
        marketing_event_complete_request_params=MarketingEventCompleteRequestParams(
            start_date_time=T0, end_date_time=T0 + dt.timedelta(minutes=70)
        ),
    )
    assert completed.event_completed is True
    assert Participation.objects.get(contact=ana).duration_seconds == 35 * 60
    assert str(Participation.objects.get(contact=ana).attendance_percent) == "50.0"

    page = events.basic_api.get_all(limit=2)
    assert [e.external_event_id for e in page.results] == ["845", "846"]
    assert page.results[0].registrants == 1
    rest = events.basic_api.get_all(limit=2, after=page.paging.next.after)
    assert [e.external_event_id for e in rest.results] == ["847"]
    assert rest.paging is None

    found = events.identifiers_api.do_search(q="846")
    assert [r.external_event_id for r in found.results] == ["846"]
    assert events.basic_api.get_by_object_id(created.object_id).event_name == "Renamed"

    cancelled = events.change_property_api.cancel("846", external_account_id=ACCOUNT)
    assert cancelled.event_cancelled is True
    events.basic_api.archive("846", external_account_id=ACCOUNT)
    events.basic_api.archive_by_object_id(created.object_id)
    assert list(MarketingEvent.objects.values_list("external_event_id", flat=True)) == ["847"]
    with pytest.raises(NotFoundException):
        events.basic_api.get_details("846", external_account_id=ACCOUNT)


def test_sdk_reports_refused_people_and_bad_states(events):
    events.basic_api.create(params("845"))
    from tests.factories import UserFactory

    UserFactory(email="staff@example.com")

    response = events.add_event_attendees_api.record_by_contact_emails(
        external_event_id="845",
        subscriber_state="register",
        external_account_id=ACCOUNT,
        batch_input_marketing_event_email_subscriber=BatchInputMarketingEventEmailSubscriber(
            inputs=[subscriber("staff@example.com", 0)]
        ),
    )
    assert response.num_errors == 1
    assert response.errors[0].sub_category == "crm_user"
    assert not Contact.objects.exists()

    with pytest.raises(ApiException) as excinfo:
        events.add_event_attendees_api.record_by_contact_emails(
            external_event_id="845",
            subscriber_state="maybe",
            external_account_id=ACCOUNT,
            batch_input_marketing_event_email_subscriber=BatchInputMarketingEventEmailSubscriber(
                inputs=[subscriber("ana@example.com", 0)]
            ),
        )
    assert excinfo.value.status == 400
    assert '"category":"VALIDATION_ERROR"' in excinfo.value.body.replace(" ", "")
