"""HubSpot-compatible event writes never answer 500 (DESIGN "Production safety": no 500s): an
event deleted by another request between a write's read and its update is a 404 (or, for an
upsert, created again); a date-time whose offset takes it outside years 1-9999 is a 400; an end
before the stored start is a 400 that changes nothing; a session still open that began over a
month ago at an event not over is refused (its seconds until now overflowed the duration
column). The API fuzzer found these 500s (PATCH, PUT, cancel and complete racing a DELETE of the
same event; an offset date-time; an attendance joined in year 102)."""

import datetime as dt
import threading
import time

import pytest
from django.db import connection as db_connection
from django.db import connections, transaction
from django.utils import timezone

from crm.errors import NotFound
from crm.properties import parse_datetime_value
from marketing_events import services_api
from marketing_events.hubspot import views as hubspot_views
from marketing_events.models import MarketingEvent, Participation

from .test_hubspot_events import ACCOUNT, M, assert_hubspot_error, body

pytestmark = pytest.mark.django_db
START = dt.datetime(2025, 9, 10, 15, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=1)


def _event(event_id="e1") -> MarketingEvent:
    services_api.event_create(
        fields={
            **body(event_id),
            "startDateTime": START,
            "endDateTime": END,
            "customProperties": [],
        }
    )
    return MarketingEvent.objects.get(external_event_id=event_id)


def _stale_event():
    """An event as a view read it, then deleted by someone else."""
    event = _event()
    MarketingEvent.objects.filter(pk=event.pk).delete()
    return event


@pytest.mark.parametrize(
    "write",
    [
        lambda e: services_api.event_update(event=e, fields={"eventName": "Renamed"}),
        lambda e: services_api.event_cancel(event=e),
        lambda e: services_api.event_complete(event=e, starts_at=e.starts_at, ends_at=e.ends_at),
    ],
    ids=["update", "cancel", "complete"],
)
def test_a_write_to_an_event_deleted_meanwhile_is_not_found(write):
    # Before: `save(update_fields=…)` raised DatabaseError ("did not affect any rows"), a 500.
    with pytest.raises(NotFound):
        write(_stale_event())
    assert not MarketingEvent.objects.exists()


def test_patch_by_object_id_of_an_event_deleted_after_the_view_read_it_is_a_404(
    admin_api, monkeypatch
):
    event = _event()
    read = hubspot_views.selectors.event_by_object_id

    def read_then_deleted_by_another_request(object_id):
        found = read(object_id)
        MarketingEvent.objects.filter(pk=found.pk).delete()
        return found

    monkeypatch.setattr(
        hubspot_views.selectors, "event_by_object_id", read_then_deleted_by_another_request
    )
    response = admin_api.patch(f"{M}/{event.pk}", {"eventName": "Renamed"}, format="json")

    # (The delete was this request's own, so it rolled back with it: the threads below race
    # a delete of another connection's.)
    assert_hubspot_error(response, 404, "OBJECT_NOT_FOUND")


def test_an_upsert_of_an_event_deleted_meanwhile_creates_it_again(monkeypatch):
    stale = _stale_event()
    find = services_api.event_find_external
    calls = []

    def found_before_the_delete(**key):
        calls.append(key)
        return stale if len(calls) == 1 else find(**key)

    monkeypatch.setattr(services_api, "event_find_external", found_before_the_delete)
    event, created = services_api.event_upsert_external(
        fields={**body("e1", eventName="Again"), "customProperties": []}
    )

    assert created and len(calls) == 2
    assert list(MarketingEvent.objects.values_list("pk", "name")) == [(event.pk, "Again")]


def test_an_upsert_racing_a_create_of_the_same_ids_updates_it(monkeypatch):
    # The other request inserted the event after this one looked for it.
    other = _event()
    find = services_api.event_find_external
    calls = []

    def not_found_the_first_time(**key):
        calls.append(key)
        return None if len(calls) == 1 else find(**key)

    monkeypatch.setattr(services_api, "event_find_external", not_found_the_first_time)
    event, created = services_api.event_upsert_external(
        fields={**body("e1", eventName="Updated"), "customProperties": []}
    )

    assert not created and event.pk == other.pk
    assert list(MarketingEvent.objects.values_list("name", flat=True)) == ["Updated"]


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:30+00:31"]
)
def test_a_date_time_outside_the_years_1_to_9999_in_utc_is_no_date(value):
    # Before: `astimezone` raised OverflowError, a 500 wherever a date-time is read.
    assert parse_datetime_value(value) is None


def test_patch_with_a_start_offset_before_year_1_is_a_400_and_changes_nothing(admin_api):
    event = _event()

    response = admin_api.patch(
        f"{M}/{event.pk}", {"startDateTime": "0001-01-01T00:00:00+01:00"}, format="json"
    )

    assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert "startDateTime" in response.content.decode()
    event_after = MarketingEvent.objects.get()
    assert (event_after.starts_at, event_after.updated_at) == (event.starts_at, event.updated_at)


@pytest.mark.parametrize(
    "change",
    [{"endDateTime": "2025-09-10T14:00:00Z"}, {"startDateTime": "2025-09-10T17:00:00Z"}],
    ids=["end-before-stored-start", "start-after-stored-end"],
)
def test_patch_of_one_time_across_the_stored_other_is_a_400_and_changes_nothing(admin_api, change):
    event = _event()

    response = admin_api.patch(f"{M}/events/e1?externalAccountId={ACCOUNT}", change, format="json")

    data = assert_hubspot_error(response, 400, "VALIDATION_ERROR")
    assert "endDateTime" in data["message"]
    after = MarketingEvent.objects.get()
    assert (after.starts_at, after.ends_at, after.updated_at) == (
        event.starts_at,
        event.ends_at,
        event.updated_at,
    )


# --- for real, on PostgreSQL: the delete is another connection's, holding its row lock --------


def _deleted_by_another_connection(event_id: int, *, commit_after: float) -> threading.Thread:
    """Starts a thread that deletes the event in its own transaction and commits
    `commit_after` seconds after the delete, returning once the delete is done."""
    deleted, failure = threading.Event(), []

    def run():
        try:
            with transaction.atomic():
                MarketingEvent.objects.filter(pk=event_id).delete()
                deleted.set()
                time.sleep(commit_after)
        except BaseException as exc:  # handed to the test
            failure.append(exc)
            deleted.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.failure = failure
    thread.start()
    assert deleted.wait(timeout=30)
    return thread


postgres_only = pytest.mark.skipif(
    db_connection.vendor != "postgresql", reason="row locks and a concurrent writer"
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_patch_racing_a_delete_of_the_same_event_is_a_404(admin_api):
    event = _event()
    thread = _deleted_by_another_connection(event.pk, commit_after=0.5)

    # The delete is not committed yet: the view still reads the event, then waits for its row.
    response = admin_api.patch(f"{M}/{event.pk}", {"eventName": "Renamed"}, format="json")
    thread.join(timeout=30)

    assert not thread.failure
    assert_hubspot_error(response, 404, "OBJECT_NOT_FOUND")
    assert not MarketingEvent.objects.exists()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_put_racing_a_delete_of_the_same_event_creates_it_again(admin_api):
    event = _event()
    thread = _deleted_by_another_connection(event.pk, commit_after=0.5)

    response = admin_api.put(
        f"{M}/events/e1?externalAccountId={ACCOUNT}",
        body("e1", eventName="Put again"),
        format="json",
    )
    thread.join(timeout=30)

    assert not thread.failure
    assert response.status_code == 200, response.content
    again = MarketingEvent.objects.get()
    assert (response.json()["objectId"], again.name) == (str(again.pk), "Put again")
    assert again.pk != event.pk


# --- attendance: a session still open counts until now ------------------------------------


def _attend(admin_api, event, inputs):
    response = admin_api.post(
        f"{M}/{event.pk}/attendance/attend/email-create", {"inputs": inputs}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("joined", ["0102-04-30T14:35:57+18:53", "9", "2026-01-01T00:00:00Z"])
def test_an_open_session_begun_over_a_month_ago_at_an_event_not_over_is_refused(admin_api, joined):
    # Before: its seconds until now overflowed the duration column (year 102), a 500; or it
    # counted 56 years of attendance (epoch 9 ms).
    event = _event()
    MarketingEvent.objects.filter(pk=event.pk).update(ends_at=None)
    recent = timezone.now() - dt.timedelta(hours=1)

    data = _attend(
        admin_api,
        event,
        [
            {"email": "old@example.com", "interactionDateTime": joined},
            {"email": "live@example.com", "interactionDateTime": recent.isoformat()},
        ],
    )

    assert [r["email"] for r in data["results"]] == ["live@example.com"]
    assert data["numErrors"] == 1
    assert data["errors"][0]["category"] == "VALIDATION_ERROR"
    assert "old@example.com" in data["errors"][0]["message"]
    assert "leftAt" in data["errors"][0]["message"]
    assert list(Participation.objects.values_list("contact__email", flat=True)) == [
        "live@example.com"
    ]


def test_an_old_session_with_its_leave_or_at_an_event_over_is_recorded(admin_api):
    event = _event()  # ended in 2025: an open session counts nothing
    data = _attend(
        admin_api,
        event,
        [
            {"email": "open@example.com", "interactionDateTime": "0102-04-30T14:35:57+18:53"},
            {
                "email": "closed@example.com",
                "interactionDateTime": "2025-09-10T15:00:00Z",
                "properties": {
                    "joinedAt": "2025-09-10T15:00:00Z",
                    "leftAt": "2025-09-10T15:30:00Z",
                },
            },
        ],
    )

    assert data["numErrors"] == 0, data["errors"]
    durations = dict(Participation.objects.values_list("contact__email", "duration_seconds"))
    assert durations == {"open@example.com": 0, "closed@example.com": 1800}
