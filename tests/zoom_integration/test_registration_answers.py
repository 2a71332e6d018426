"""Rule E1 (answers kept on the participation) and E4 (a registrant's tracking source), from the
pull sync over real HTTP against the sandbox and from signed webhooks; the page cost stays
constant with answers on every registrant."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from crm.models import Brand
from marketing_events.models import Participation, RegistrationDetails
from tests.zoom_integration.scenario import ACME, S2S
from tests.zoom_integration.test_webhooks import SECRET, independent_signature
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.sync.pipeline import WebinarSync
from zoom_integration.sync.records import Registrant

from .test_sync_generated import GENERATE, run_sync

pytestmark = pytest.mark.django_db
STANDARD = (
    "address",
    "city",
    "state",
    "zip",
    "country",
    "phone",
    "industry",
    "org",
    "job_title",
    "purchasing_time_frame",
    "role_in_purchase_process",
    "no_of_employees",
    "comments",
)


def test_registrant_answers_are_standard_fields_then_custom_titles():  # rule E1
    registrant = Registrant.from_zoom(
        {
            "id": "r1",
            "email": "a@example.com",
            "first_name": "A",
            "last_name": "B",
            "org": " Acme ",
            "job_title": "",
            "phone": "555",
            "custom_questions": [
                {"title": "Company size", "value": "11-100"},
                {"title": "Empty", "value": ""},
                "junk",
            ],
            "source_id": "ts_1",
        }
    )
    assert registrant.answers == (("phone", "555"), ("org", "Acme"), ("Company size", "11-100"))
    assert (registrant.source_id, registrant.source_name) == ("ts_1", "")
    webhook = Registrant.from_zoom(
        {"id": "r2", "email": "b@example.com", "tracking_source": {"id": "7", "source_name": "X"}}
    )
    assert (webhook.source_id, webhook.source_name, webhook.answers) == ("7", "X", ())


def connect(zoom_sandbox, django_capture_on_commit_callbacks, **generate):
    zoom_sandbox.post("/_sandbox/generate", json={**GENERATE, **generate}).raise_for_status()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    state = zoom_sandbox.get("/_sandbox/state").json()
    account = state["accounts"][0]
    app = next(a for a in account["apps"] if a["type"] == "s2s")
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(
            brand=Brand.objects.create(name="B", is_primary=True),
            account_id=account["id"],
            client_id=app["client_id"],
            client_secret=app["client_secret"],
        )
    connection_settings_update(connection=connection, sync_webinar_data=True)
    return connection, state


def expected_answers(state):
    """(email, webinar id) → (answers, source id) from the sandbox's state, for registrants
    who answered anything: written from the scenario, not with the code under test."""
    out = {}
    for webinar in state["accounts"][0]["webinars"]:
        if webinar.get("zoom_events"):
            continue  # rule Z1
        for person in webinar["registrants"]:
            if person["status"] != "approved":
                continue
            answers = {f: person[f].strip() for f in STANDARD if person.get(f, "").strip()}
            for item in person.get("custom_questions", []):
                if item["value"]:
                    answers[item["title"]] = item["value"]
            if answers or person.get("source_id"):
                key = (person["email"].strip().lower(), str(webinar["id"]))
                out[key] = (answers, person.get("source_id", ""))
    return out


def stored_answers():
    return {
        (d.participation.contact.email, d.event.external_event_id): (d.answers, d.source_id)
        for d in RegistrationDetails.objects.select_related("participation__contact", "event")
    }


@pytest.mark.parametrize("listed", [True, False], ids=["sources listed", "as Zoom lists"])
def test_pull_sync_keeps_every_registrants_answers_and_source(
    zoom_sandbox, django_capture_on_commit_callbacks, listed
):  # rules E1, E4
    connection, state = connect(zoom_sandbox, django_capture_on_commit_callbacks, answers=0.5)
    # Zoom's own registrant list names no source: the sync asks each tracking source's list.
    zoom_sandbox.post(
        "/_sandbox/settings", json={"registrant_source_ids": listed}
    ).raise_for_status()
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    expected = expected_answers(state)
    assert len(expected) > 50
    with_source = sum(1 for _a, source in expected.values() if source)
    assert with_source
    assert stored_answers() == expected
    assert run.counts.get("registration_sources", 0) == (0 if listed else with_source)
    # Every stored row sits beside its participation in the same event.
    assert not RegistrationDetails.objects.exclude(event_id=db_field("participation__event_id"))
    before = list(RegistrationDetails.objects.values_list("pk", "updated_at").order_by("pk"))
    assert run_sync(connection).status == "succeeded"  # an unchanged re-sync writes nothing
    after = list(RegistrationDetails.objects.values_list("pk", "updated_at").order_by("pk"))
    if db_connection.vendor == "postgresql":
        assert after == before
    else:
        assert [pk for pk, _ in after] == [pk for pk, _ in before]


def db_field(name):
    from django.db.models import F

    return F(name)


@pytest.mark.parametrize("registrants", [10, 250])
def test_queries_per_page_stay_constant_with_answers_on_every_registrant(
    zoom_sandbox, registrants, monkeypatch, django_capture_on_commit_callbacks
):
    connection, _state = connect(
        zoom_sandbox,
        django_capture_on_commit_callbacks,
        webinars=3,
        registrants=registrants,
        answers=1,
    )
    per_page = []
    real_apply = WebinarSync._apply

    def counting_apply(self, *args, **kwargs):
        with CaptureQueriesContext(db_connection) as queries:
            real_apply(self, *args, **kwargs)
        per_page.append(len(queries))

    monkeypatch.setattr(WebinarSync, "_apply", counting_apply)
    assert run_sync(connection).status == "succeeded"
    assert RegistrationDetails.objects.count() >= registrants
    # The same bound as the sync without answers (test_sync_generated): no per-row queries.
    assert per_page and max(per_page) <= 36, per_page


@pytest.fixture
def acme(db, zoom_sandbox, django_capture_on_commit_callbacks):
    brand = Brand.objects.create(name="Acme", is_primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(
            brand=brand, account_id=ACME, webhook_secret_token=SECRET, **S2S
        )
    connection_settings_update(connection=connection, sync_webinar_data=True)
    return connection


def signed_post(client, connection, envelope):
    body = json.dumps(envelope, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    return client.post(
        f"/integrations/zoom/webhooks/{connection.pk}/",
        body,
        content_type="application/json",
        HTTP_X_ZM_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_ZM_SIGNATURE=independent_signature(SECRET, timestamp, body),
    )


def registration_event(event, registrant, ts):
    start = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "event": event,
        "event_ts": ts,
        "payload": {
            "account_id": ACME,
            "operator": "owner@acme.test",
            "object": {
                "uuid": "abcABC123==",
                "id": 84000000001,
                "host_id": "u_owner",
                "topic": "Upcoming",
                "type": 5,
                "start_time": start,
                "duration": 60,
                "timezone": "UTC",
                "registrant": registrant,
            },
        },
    }


def test_webhooks_keep_answers_and_a_cancellation_keeps_them(
    client, acme, django_capture_on_commit_callbacks
):  # rules E1, E4
    created = registration_event(
        "webinar.registration_created",
        {
            "id": "r_web",
            "email": "Web@Example.com",
            "first_name": "We",
            "last_name": "B",
            "org": "Globex",
            "custom_questions": [{"title": "Company size", "value": "100+"}],
            "status": "approved",
            "join_url": "https://example.com/j/1",
            "tracking_source": {"id": "ts_9", "source_name": "Partner site"},
        },
        1700000000000,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, acme, created).status_code == 200
    details = RegistrationDetails.objects.get()
    assert details.participation.contact.email == "web@example.com"
    assert details.answers == {"org": "Globex", "Company size": "100+"}
    assert details.source == {"id": "ts_9", "name": "Partner site"}
    cancelled = registration_event(
        "webinar.registration_cancelled",
        {"id": "r_web", "email": "web@example.com", "first_name": "We", "last_name": "B"},
        1700000001000,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_post(client, acme, cancelled).status_code == 200
    assert Participation.objects.get().state == "CANCELLED"
    details.refresh_from_db()
    assert details.answers == {"org": "Globex", "Company size": "100+"}
    assert details.source_name == "Partner site"
