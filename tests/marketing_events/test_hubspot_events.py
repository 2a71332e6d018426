"""HubSpot-compatible marketing events v3: events by external id and objectId, batch writes,
cancel/complete, search, the list (hubspot-api.md §1.2), scopes and HubSpot-shaped errors."""

import datetime as dt

import pytest
from django.utils import timezone

from marketing_events.models import MarketingEvent, Participation
from marketing_events.services import event_upsert

pytestmark = pytest.mark.django_db

M = "/marketing/v3/marketing-events"
ACCOUNT = "zoomacct_Xy12AbCd"


def body(event_id="84512345678", **overrides):
    data = {
        "externalAccountId": ACCOUNT,
        "externalEventId": event_id,
        "eventName": "Q3 product webinar",
        "eventType": "WEBINAR",
        "eventOrganizer": "Jane Host",
        "eventDescription": "Roadmap and live Q&A",
        "eventUrl": "https://zoom.us/webinar/register/WN_abc123",
        "startDateTime": "2025-09-10T15:00:00Z",
        "endDateTime": "2025-09-10T16:00:00Z",
        "eventCancelled": False,
        "eventCompleted": False,
        "customProperties": [{"name": "zoom_webinar_uuid", "value": "4444AAAiAAAAAiAiAiiAii=="}],
    }
    data.update(overrides)
    return data


def zoom_event(event_id="900", account=ACCOUNT, **defaults):
    return event_upsert(
        source="zoom",
        external_account_id=account,
        external_event_id=event_id,
        defaults={"name": "Zoom webinar", "organizer": "Host", **defaults},
    )


def assert_hubspot_error(response, status_code, category):
    assert response.status_code == status_code, response.content
    data = response.json()
    assert data["status"] == "error"
    assert data["category"] == category
    assert data["message"]
    assert data["correlationId"]
    return data


def test_create_returns_200_with_the_public_read_shape(admin_api):
    response = admin_api.post(f"{M}/events", body(), format="json")

    assert response.status_code == 200, response.content
    data = response.json()
    event = MarketingEvent.objects.get()
    assert event.source == "api"
    assert data["id"] == data["objectId"] == str(event.pk)
    assert data["eventName"] == "Q3 product webinar"
    assert data["eventOrganizer"] == "Jane Host"
    assert data["startDateTime"] == "2025-09-10T15:00:00.000Z"
    assert data["endDateTime"] == "2025-09-10T16:00:00.000Z"
    assert data["customProperties"] == [
        {"name": "zoom_webinar_uuid", "value": "4444AAAiAAAAAiAiAiiAii=="}
    ]
    assert (data["registrants"], data["attendees"], data["cancellations"], data["noShows"]) == (
        0,
        0,
        0,
        0,
    )
    assert data["appInfo"] == {"id": "1", "name": "API"}
    assert data["eventStatus"] == "PAST"


def test_create_refuses_existing_external_ids_with_409(admin_api):
    admin_api.post(f"{M}/events", body(), format="json")

    response = admin_api.post(f"{M}/events", body(eventName="Again"), format="json")

    assert_hubspot_error(response, 409, "CONFLICT")
    assert MarketingEvent.objects.get().name == "Q3 product webinar"


@pytest.mark.parametrize("missing", ["externalAccountId", "externalEventId", "eventName"])
def test_create_without_a_required_field_is_a_400_and_writes_nothing(admin_api, missing):
    data = body()
    del data[missing]

    response = admin_api.post(f"{M}/events", data, format="json")

    error = assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert missing in error["message"]
    assert not MarketingEvent.objects.exists()


def test_malformed_json_is_a_hubspot_shaped_400(admin_api):
    response = admin_api.post(f"{M}/events", data="{not json", content_type="application/json")

    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert not MarketingEvent.objects.exists()


def test_bad_dates_are_a_400(admin_api):
    response = admin_api.post(f"{M}/events", body(startDateTime="tomorrow"), format="json")
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    response = admin_api.post(
        f"{M}/events",
        body(startDateTime="2025-09-10T16:00:00Z", endDateTime="2025-09-10T15:00:00Z"),
        format="json",
    )
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert not MarketingEvent.objects.exists()


def test_get_by_external_id_needs_the_account_id(admin_api):
    admin_api.post(f"{M}/events", body(), format="json")

    ok = admin_api.get(f"{M}/events/84512345678", {"externalAccountId": ACCOUNT})
    missing = admin_api.get(f"{M}/events/84512345678")
    other_account = admin_api.get(f"{M}/events/84512345678", {"externalAccountId": "other"})

    assert ok.status_code == 200
    assert ok.json()["externalEventId"] == "84512345678"
    assert_hubspot_error(missing, 400, "VALIDATION_ERROR")
    assert_hubspot_error(other_account, 404, "OBJECT_NOT_FOUND")


def test_reads_by_external_id_find_zoom_events_and_prefer_api_ones(admin_api):
    zoom = zoom_event("900")

    found = admin_api.get(f"{M}/events/900", {"externalAccountId": ACCOUNT}).json()
    assert found["objectId"] == str(zoom.pk)
    assert found["appInfo"] == {"id": "2", "name": "Zoom"}

    api = event_upsert(
        source="api", external_account_id=ACCOUNT, external_event_id="900", defaults={"name": "A"}
    )
    found = admin_api.get(f"{M}/events/900", {"externalAccountId": ACCOUNT}).json()
    assert found["objectId"] == str(api.pk)


def test_put_upserts_by_external_id_and_is_idempotent(admin_api):
    first = admin_api.put(f"{M}/events/84512345678", body(), format="json")
    second = admin_api.put(f"{M}/events/84512345678", body(eventName="Renamed"), format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["objectId"] == second.json()["objectId"]
    event = MarketingEvent.objects.get()
    assert (event.name, event.source) == ("Renamed", "api")


def test_put_on_a_zoom_event_updates_it_instead_of_creating_another(admin_api):
    zoom = zoom_event("900")

    response = admin_api.put(f"{M}/events/900", body("900", eventName="From API"), format="json")

    assert response.status_code == 200
    assert response.json()["objectId"] == str(zoom.pk)
    zoom.refresh_from_db()
    assert (zoom.name, zoom.source) == ("From API", "zoom")
    assert MarketingEvent.objects.count() == 1


def test_put_refuses_a_body_naming_another_event(admin_api):
    response = admin_api.put(f"{M}/events/1", body("2"), format="json")

    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert not MarketingEvent.objects.exists()


def test_patch_updates_only_the_given_fields(admin_api):
    admin_api.post(f"{M}/events", body(), format="json")

    response = admin_api.patch(
        f"{M}/events/84512345678?externalAccountId={ACCOUNT}",
        {"eventName": "New name", "eventUrl": None},
        format="json",
    )

    assert response.status_code == 200
    event = MarketingEvent.objects.get()
    assert (event.name, event.url, event.organizer) == ("New name", "", "Jane Host")


def test_patch_and_delete_of_an_unknown_event_are_404(admin_api):
    patch = admin_api.patch(
        f"{M}/events/404?externalAccountId={ACCOUNT}", {"eventName": "x"}, format="json"
    )
    delete = admin_api.delete(f"{M}/events/404?externalAccountId={ACCOUNT}")

    assert_hubspot_error(patch, 404, "OBJECT_NOT_FOUND")
    assert_hubspot_error(delete, 404, "OBJECT_NOT_FOUND")


def test_delete_by_external_id(admin_api):
    admin_api.post(f"{M}/events", body(), format="json")

    response = admin_api.delete(f"{M}/events/84512345678?externalAccountId={ACCOUNT}")

    assert response.status_code == 204
    assert not MarketingEvent.objects.exists()


def test_batch_upsert_creates_and_updates_in_one_go(admin_api):
    zoom = zoom_event("900")
    inputs = [body("1"), body("2"), body("900", eventName="Zoom renamed")]

    response = admin_api.post(f"{M}/events/upsert", {"inputs": inputs}, format="json")

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "COMPLETE"
    assert [r["externalEventId"] for r in data["results"]] == ["1", "2", "900"]
    assert data["results"][2]["objectId"] == str(zoom.pk)
    assert sorted(MarketingEvent.objects.values_list("external_event_id", "source")) == [
        ("1", "api"),
        ("2", "api"),
        ("900", "zoom"),
    ]


def test_batch_upsert_with_one_bad_input_writes_nothing(admin_api):
    inputs = [body("1"), {**body("2"), "eventName": ""}]

    response = admin_api.post(f"{M}/events/upsert", {"inputs": inputs}, format="json")

    error = assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert "inputs[1].eventName" in error["message"]  # named as list items are everywhere
    assert not MarketingEvent.objects.exists()


def test_batch_upsert_of_more_than_100_inputs_is_a_400(admin_api):
    inputs = [body(str(i)) for i in range(101)]

    response = admin_api.post(f"{M}/events/upsert", {"inputs": inputs}, format="json")

    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert not MarketingEvent.objects.exists()


def test_batch_delete_ignores_unknown_events(admin_api):
    admin_api.post(f"{M}/events/upsert", {"inputs": [body("1"), body("2")]}, format="json")

    response = admin_api.post(
        f"{M}/events/delete",
        {
            "inputs": [
                {"externalAccountId": ACCOUNT, "externalEventId": "1", "appId": 1},
                {"externalAccountId": ACCOUNT, "externalEventId": "nope"},
            ]
        },
        format="json",
    )

    assert response.status_code == 204
    assert list(MarketingEvent.objects.values_list("external_event_id", flat=True)) == ["2"]


def test_cancel_marks_the_event_cancelled(admin_api):
    admin_api.post(f"{M}/events", body(startDateTime=None, endDateTime=None), format="json")

    response = admin_api.post(f"{M}/events/84512345678/cancel?externalAccountId={ACCOUNT}")

    assert response.status_code == 200
    assert response.json()["eventCancelled"] is True
    assert response.json()["eventStatus"] == "CANCELLED"
    assert MarketingEvent.objects.get().cancelled is True


def test_complete_needs_both_times_and_turns_registrants_into_no_shows(admin_api, marketer_api):
    future = timezone.now() + dt.timedelta(days=3)
    admin_api.post(
        f"{M}/events",
        body(startDateTime=future.isoformat(), endDateTime=None),
        format="json",
    )
    admin_api.post(
        f"{M}/attendance/84512345678/register/email-create?externalAccountId={ACCOUNT}",
        {"inputs": [{"email": "ana@example.com", "interactionDateTime": 1756900000000}]},
        format="json",
    )
    url = f"{M}/events/84512345678/complete?externalAccountId={ACCOUNT}"
    counters = f"{M}/participations/{ACCOUNT}/84512345678"
    assert admin_api.get(counters).json()["noShows"] == 0

    missing = admin_api.post(url, {"startDateTime": "2025-09-10T15:01:00Z"}, format="json")
    assert_hubspot_error(missing, 400, "VALIDATION_ERROR")
    assert MarketingEvent.objects.get().completed is False

    response = marketer_api.post(
        url,
        {"startDateTime": "2025-09-10T15:01:00Z", "endDateTime": "2025-09-10T16:03:00Z"},
        format="json",
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["eventCompleted"] is True
    assert data["endDateTime"] == "2025-09-10T16:03:00.000Z"
    assert data["noShows"] == 1
    assert admin_api.get(counters).json() == {
        "registered": 1,
        "attended": 0,
        "cancelled": 0,
        "noShows": 1,
    }
    assert MarketingEvent.objects.get().no_show_count == 1


def test_search_and_identifiers_find_events_of_every_source(admin_api):
    admin_api.post(f"{M}/events", body("900"), format="json")
    zoom = zoom_event("900", account="other-account")

    search = admin_api.get(f"{M}/events/search", {"q": "900"})
    identifiers = admin_api.get(f"{M}/900/identifiers")
    no_q = admin_api.get(f"{M}/events/search")

    assert search.status_code == 200
    assert [(r["externalAccountId"], r["appId"]) for r in search.json()["results"]] == [
        (ACCOUNT, 1),
        ("other-account", 2),
    ]
    assert identifiers.json()["total"] == 2
    assert identifiers.json()["results"][1]["objectId"] == str(zoom.pk)
    assert_hubspot_error(no_q, 400, "VALIDATION_ERROR")


def test_by_object_id_get_patch_delete(admin_api):
    zoom = zoom_event("900")

    got = admin_api.get(f"{M}/{zoom.pk}")
    patched = admin_api.patch(f"{M}/{zoom.pk}", {"eventDescription": "Desc"}, format="json")
    deleted = admin_api.delete(f"{M}/{zoom.pk}")

    assert got.status_code == 200
    assert got.json()["externalEventId"] == "900"
    assert patched.json()["eventDescription"] == "Desc"
    assert deleted.status_code == 204
    assert not MarketingEvent.objects.exists()
    assert_hubspot_error(admin_api.get(f"{M}/{zoom.pk}"), 404, "OBJECT_NOT_FOUND")


@pytest.mark.parametrize("list_url", [f"{M}/", "/marketing/marketing-events/v3"])
def test_list_pages_through_events_of_every_source_by_object_id(admin_api, list_url):
    ids = [zoom_event(str(i)).pk for i in range(3)]
    ids += [
        event_upsert(
            source="api", external_account_id="a", external_event_id=str(i), defaults={"name": "x"}
        ).pk
        for i in range(2)
    ]

    first = admin_api.get(list_url, {"limit": 3})
    after = first.json()["paging"]["next"]["after"]
    second = admin_api.get(list_url, {"limit": 3, "after": after})
    default = admin_api.get(list_url)

    assert [r["objectId"] for r in first.json()["results"]] == [str(i) for i in ids[:3]]
    assert [r["objectId"] for r in second.json()["results"]] == [str(i) for i in ids[3:]]
    assert "paging" not in second.json()
    assert len(default.json()["results"]) == 5
    assert first.json()["paging"]["next"]["link"].startswith("http")


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_list_refuses_bad_limits(admin_api, limit):
    assert_hubspot_error(admin_api.get(f"{M}/", {"limit": limit}), 400, "VALIDATION_ERROR")


def test_list_defaults_to_10_and_caps_at_100(admin_api):
    MarketingEvent.objects.bulk_create(
        MarketingEvent(external_account_id="a", external_event_id=str(i), name="e")
        for i in range(105)
    )
    assert len(admin_api.get(f"{M}/").json()["results"]) == 10
    assert len(admin_api.get(f"{M}/", {"limit": 100}).json()["results"]) == 100


@pytest.mark.parametrize("count", [5, 50])
def test_list_costs_a_fixed_number_of_queries(admin_api, django_assert_max_num_queries, count):
    from tests.factories import ContactFactory

    for i in range(count):
        event = zoom_event(str(i))
        Participation.objects.create(contact=ContactFactory(), event=event, state="REGISTERED")
    with django_assert_max_num_queries(4):  # token, user, events with counters
        response = admin_api.get(f"{M}/", {"limit": 100})
    assert len(response.json()["results"]) == count
    assert {r["registrants"] for r in response.json()["results"]} == {1}


def test_viewer_reads_but_cannot_write(viewer_api, admin_api):
    admin_api.post(f"{M}/events", body(), format="json")
    read = f"{M}/events/84512345678?externalAccountId={ACCOUNT}"

    assert viewer_api.get(read).status_code == 200
    assert viewer_api.get(f"{M}/").status_code == 200
    writes = [
        viewer_api.post(f"{M}/events", body("2"), format="json"),
        viewer_api.put(f"{M}/events/3", body("3"), format="json"),
        viewer_api.patch(read, {"eventName": "x"}, format="json"),
        viewer_api.delete(read),
        viewer_api.post(f"{M}/events/84512345678/cancel?externalAccountId={ACCOUNT}"),
        viewer_api.post(f"{M}/events/upsert", {"inputs": [body("4")]}, format="json"),
    ]
    for response in writes:
        assert_hubspot_error(response, 403, "MISSING_SCOPES")
    assert MarketingEvent.objects.get().name == "Q3 product webinar"


def test_a_token_without_the_write_scope_cannot_write(token_client, marketer):
    client = token_client(marketer, scopes=["crm.objects.marketing_events.read"])

    assert client.get(f"{M}/").status_code == 200
    response = client.post(f"{M}/events", body(), format="json")

    error = assert_hubspot_error(response, 403, "MISSING_SCOPES")
    assert "crm.objects.marketing_events.write" in error["message"]


def test_a_token_without_the_read_scope_cannot_read(token_client, marketer):
    client = token_client(marketer, scopes=["crm.objects.contacts.read"])

    assert_hubspot_error(client.get(f"{M}/"), 403, "MISSING_SCOPES")


def test_anonymous_requests_are_refused(client, db):
    response = client.get(f"{M}/")
    assert response.status_code in (401, 403)
    assert response.json()["status"] == "error"


def test_a_null_character_in_a_custom_property_is_a_400(admin_api):
    """Found by the API fuzzer: PostgreSQL's JSON cannot hold \\u0000, and the insert was a 500."""
    response = admin_api.post(
        f"{M}/events",
        body(customProperties=[{"name": "zoom_webinar_uuid", "value": "a\x00b"}]),
        format="json",
    )
    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert not MarketingEvent.objects.exists()


def test_search_longer_than_200_characters_is_a_hubspot_400_naming_q(admin_api):
    response = admin_api.get(f"{M}/events/search", {"q": "9" * 201})

    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert "at most 200 characters" in response.json()["message"]
    assert response.json()["errors"][0]["context"] == {"propertyName": ["q"]}


def test_the_schema_states_the_search_bound():
    from tests.support.openapi import parameter

    schema = parameter(f"{M}/events/search", "get", "q")
    assert schema["maxLength"] == 200
