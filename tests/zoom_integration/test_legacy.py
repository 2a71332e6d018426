"""Legacy Zoom contact properties P1-P4 and their cutoff (rules P1-P5, B9)."""

import datetime as dt
from decimal import Decimal

import pytest

from crm.properties import STANDARD_BY_NAME
from zoom_integration.legacy import P1, P2, P3, P4, Activity, legacy_values

CUTOFF = dt.datetime(2025, 1, 8, tzinfo=dt.UTC)
OLD = dt.datetime(2024, 11, 1, tzinfo=dt.UTC)
NEW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def activity(webinar, registered=None, joined=None, percent=None, url=""):
    return Activity(
        webinar_id=webinar,
        url=url or f"https://zoom.test/w/{webinar}",
        registered_at=registered,
        first_join_at=joined,
        percent=Decimal(percent) if percent is not None else None,
    )


def test_values_count_only_activity_before_the_cutoff():  # rule P5
    activities = [
        activity("1", registered=OLD, joined=OLD, percent="80.0"),
        activity("2", registered=OLD + dt.timedelta(days=3), joined=None),
        activity("3", registered=NEW, joined=NEW, percent="10.0"),  # after the cutoff
    ]
    assert legacy_values(activities, CUTOFF) == {
        P1: "80.0",
        P4: "1",
        P2: "https://zoom.test/w/2",
        P3: "2",
    }


def test_an_empty_cutoff_keeps_them_live():  # rule B9
    activities = [
        activity("1", registered=OLD, joined=OLD, percent="80.0"),
        activity("3", registered=NEW, joined=NEW, percent="10.0"),
    ]
    assert legacy_values(activities, None) == {
        P1: "45.0",
        P4: "2",
        P2: "https://zoom.test/w/3",
        P3: "2",
    }


def test_occurrences_of_one_recurring_webinar_count_once():  # rule P4
    activities = [
        activity("9", registered=OLD, joined=OLD, percent="50.0"),
        activity("9", registered=OLD, joined=OLD, percent="50.0"),
    ]
    assert legacy_values(activities, None)[P4] == "1"


def test_no_activity_no_values():
    assert legacy_values([], None) == {}


def test_they_are_read_only_contact_properties():
    for name in (P1, P2, P3, P4):
        assert STANDARD_BY_NAME[name].read_only


@pytest.mark.django_db
def test_hubspot_api_refuses_writes_and_reads_them(admin_api):
    from crm.models import Contact

    contact = Contact.objects.create(email="ana@example.com", properties={P3: "4"})
    response = admin_api.patch(
        f"/crm/v3/objects/contacts/{contact.pk}", {"properties": {P3: "5"}}, format="json"
    )
    assert response.status_code == 400
    body = admin_api.get(f"/crm/v3/objects/contacts/{contact.pk}?properties={P3}").json()
    assert body["properties"][P3] == "4"


@pytest.mark.django_db
def test_sync_keeps_them_live_with_an_empty_cutoff(
    settings, admin_user, zoom_sandbox, django_capture_on_commit_callbacks
):
    from crm.models import Brand, Contact
    from tests.zoom_integration.scenario import ACME, S2S
    from zoom_integration.services.connections import (
        connection_create_s2s,
        connection_settings_update,
    )
    from zoom_integration.services.sync import sync_run_execute, sync_run_request

    settings.ZOOM_LEGACY_PROPERTIES_CUTOFF = ""
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(
            brand=Brand.objects.create(name="Acme", is_primary=True), account_id=ACME, **S2S
        )
    connection_settings_update(connection=connection, sync_webinar_data=True)
    sync_run_execute(run_id=sync_run_request(connection=connection).pk)
    person2 = Contact.objects.get(email="person2@example.com")
    assert {k: person2.properties[k] for k in (P1, P3, P4)} == {P1: "87.0", P3: "1", P4: "1"}
    # With the default cutoff (2025-01-08), today's activity does not count.
    settings.ZOOM_LEGACY_PROPERTIES_CUTOFF = "2025-01-08"
    from zoom_integration.legacy import contacts_recompute_legacy

    contacts_recompute_legacy([person2.pk])
    person2.refresh_from_db()
    assert P3 not in person2.properties


@pytest.mark.django_db
def test_contact_page_shows_the_legacy_properties(admin_client):
    from django.urls import reverse

    from crm.models import Contact

    contact = Contact.objects.create(
        email="ana@example.com",
        properties={P1: "87.5", P3: "4", P4: "2", P2: "https://zoom.test/w/9"},
    )
    html = admin_client.get(reverse("crm:contact_detail", args=[contact.pk])).content.decode()
    assert "Zoom (legacy properties)" in html
    for label, value in (
        ("Average Zoom webinar attendance percent", "87.5"),
        ("Total Zoom webinar registrations", "4"),
        ("Total Zoom webinars attended", "2"),
        ("Last registered Zoom webinar", "https://zoom.test/w/9"),
    ):
        assert label in html and value in html


@pytest.mark.django_db(transaction=True)
def test_two_pages_with_live_legacy_properties_do_not_deadlock(settings, monkeypatch):
    # rule P5 live (empty cutoff): a page locks its contacts for the rollups, then again for
    # P1-P4. Webinar X's page changes Bo only (Ana was registered already), webinar Y's page
    # changes Ana only: were the rollups to lock just the changed contacts, X's page would
    # hold Bo and Y's Ana, each then waiting for the other's for P1-P4 — a deadlock. Both lock
    # the whole page, in id order, before either: one waits for the other, both succeed.
    import threading

    from django.db import connection, connections, transaction

    from crm.models import Contact
    from marketing_events import services
    from marketing_events.activity import fresh_values, stored_values
    from marketing_events.plan import Plan, RegistrationFact
    from marketing_events.services import event_upsert, plan_apply
    from zoom_integration.legacy import contacts_recompute_legacy

    if connection.vendor != "postgresql":
        pytest.skip("row locks, two transactions at once")
    settings.ZOOM_LEGACY_PROPERTIES_CUTOFF = ""
    at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    x, y = (
        event_upsert(
            source="zoom",
            external_account_id="acct",
            external_event_id=webinar,
            defaults={"name": webinar, "starts_at": at, "ends_at": at},
        )
        for webinar in ("81", "82")
    )
    ana = Contact.objects.create(email="ana@example.com")
    bo = Contact.objects.create(email="bo@example.com")

    def page(event, emails):
        return Plan(
            event_id=event.pk,
            registrations=[RegistrationFact(e, registered_at=at) for e in emails],
        )

    plan_apply(page(x, ["ana@example.com"]))
    plan_apply(page(y, ["bo@example.com"]))
    both_written = threading.Barrier(2, timeout=20)
    real = services.contacts_add_activity

    def after_both_wrote(**kwargs):
        both_written.wait()  # each page has written its participations, no contact locked
        return real(**kwargs)

    monkeypatch.setattr(services, "contacts_add_activity", after_both_wrote)
    failures = []

    def apply(event):
        try:
            with transaction.atomic():
                result = plan_apply(page(event, ["ana@example.com", "bo@example.com"]))
                contacts_recompute_legacy(result.contact_ids)
        except BaseException as exc:  # handed to the test
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=apply, args=(event,)) for event in (x, y)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures
    for contact in (ana, bo):
        contact.refresh_from_db()
        assert contact.properties[P3] == "2"
    stored = stored_values([ana.pk, bo.pk])
    assert stored == fresh_values([ana.pk, bo.pk])
    assert stored[ana.pk][0] == stored[bo.pk][0] == 2
