"""A participation's timeline entries (rule M4) are read from it (`crm.models.TimelineEntry`,
a view): what they show, their ids and order, their cost, and the migration that stopped
storing them, both ways. Runs on SQLite and PostgreSQL (the view has a form for each)."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from crm import selectors
from crm.models import Contact, TimelineEntry, TimelineEvent
from marketing_events.models import Participation
from marketing_events.plan import NewContact, OccurrenceFact, Plan, RegistrationFact, SessionFact
from marketing_events.services import event_upsert, plan_apply

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 9, 10, 15, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def make_event(source="zoom", external_id="81", name="Q3 roadmap"):
    return event_upsert(
        source=source,
        external_account_id="acct",
        external_event_id=external_id,
        defaults={"name": name, "starts_at": at(0), "ends_at": at(60)},
    )


def registered(event, email="ana@example.com", **facts):
    return Plan(
        event_id=event.pk,
        new_contacts=[NewContact(email, "Ana", "Silva")],
        registrations=[RegistrationFact(email=email, **facts)],
    )


def attended(event, join, leave, email="ana@example.com", *, over=True):
    return Plan(
        event_id=event.pk,
        new_contacts=[NewContact(email, "Ana", "Silva")],
        occurrences=[OccurrenceFact("uuid-1", at(0), at(60))],
        sessions=[SessionFact(email, "uuid-1", "p1", join, leave, "Ana")],
        event_over=over,
    )


def entries(contact):
    return [
        (e.kind, e.occurred_at, e.data)
        for e in TimelineEntry.objects.filter(contact=contact).exclude(kind="contact_created")
    ]


def test_a_zoom_webinars_entries_show_what_the_participation_holds():  # rule M4
    event = make_event()
    plan_apply(registered(event, registered_at=at(-100)))
    plan_apply(registered(event, cancelled_at=at(-50)))
    plan_apply(attended(event, at(1), at(31.5)))
    contact = Contact.objects.get()
    webinar = {"event_id": event.pk, "webinar_id": "81", "webinar_name": "Q3 roadmap"}
    assert entries(contact) == [  # newest first
        (
            "zoom_webinar_attended",
            at(1),
            {
                **webinar,
                "joined_at": at(1).isoformat(),
                "left_at": at(31.5).isoformat(),
                "duration_seconds": 1830,
                "provisional": False,
            },
        ),
        ("zoom_webinar_cancelled", at(-50), webinar),
        ("zoom_webinar_registered", at(-100), webinar),
    ]


def test_a_live_attendance_is_provisional_without_a_leave():  # rules M4, B4
    event = make_event()
    plan_apply(attended(event, at(2), None, over=False))
    [(kind, occurred_at, data)] = entries(Contact.objects.get())
    assert (kind, occurred_at, data["joined_at"], data["left_at"], data["provisional"]) == (
        "zoom_webinar_attended",
        at(2),
        at(2).isoformat(),
        None,
        True,
    )


def test_other_events_entries_name_the_event():  # rule M4, the HubSpot-compatible API's events
    event = make_event(source="api", external_id="launch-1", name="Launch")
    plan_apply(registered(event, registered_at=at(-10)), timeline_kind="marketing_event")
    [(kind, _at, data)] = entries(Contact.objects.get())
    assert (kind, data) == (
        "marketing_event_registered",
        {"event_id": event.pk, "event_name": "Launch"},
    )


def test_entries_follow_the_participation_and_the_event_name():
    event = make_event()
    plan_apply(registered(event, registered_at=at(-100)))
    plan_apply(registered(event, registered_at=at(-90)))  # a later registration: its moment
    event.name = "Q3 roadmap (new date)"
    event.save(update_fields=["name"])
    [(_kind, occurred_at, data)] = entries(Contact.objects.get())
    assert (occurred_at, data["webinar_name"]) == (at(-90), "Q3 roadmap (new date)")
    Participation.objects.all().delete()
    assert entries(Contact.objects.get()) == []


def test_ids_are_negative_stable_and_apart_from_stored_entries():
    event = make_event()
    plan_apply(registered(event, registered_at=at(-100)))
    plan_apply(attended(event, at(0), at(30)))
    contact = Contact.objects.get()
    stored = TimelineEvent.objects.create(contact=contact, kind="note", occurred_at=at(10))
    participation = Participation.objects.get()
    ids = dict(TimelineEntry.objects.filter(contact=contact).values_list("kind", "id"))
    assert ids["zoom_webinar_registered"] == -(participation.pk * 4 + 1)
    assert ids["zoom_webinar_attended"] == -(participation.pk * 4 + 3)
    assert ids["note"] == stored.pk
    # Newest first, stored and derived together (the API's cursor walks this order).
    timeline = selectors.timeline_for_contact(contact=contact).exclude(kind="contact_created")
    assert [e.kind for e in timeline] == [
        "note",
        "zoom_webinar_attended",
        "zoom_webinar_registered",
    ]


def test_a_contacts_timeline_is_one_query_whatever_its_participations():
    contact = None
    for number in range(6):
        event = make_event(external_id=str(100 + number), name=f"Webinar {number}")
        plan_apply(registered(event, registered_at=at(-100 + number)))
        plan_apply(attended(event, at(number), at(number + 30)))
        contact = contact or Contact.objects.get()
        with CaptureQueriesContext(connection) as queries:
            page = list(selectors.timeline_for_contact(contact=contact)[:50])
        assert len(queries) == 1
        assert len(page) == 1 + 2 * (number + 1)  # "contact created" and two per webinar


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor runs outside a transaction
def test_the_migration_stops_storing_them_and_going_back_stores_them_again():
    event = make_event()
    plan_apply(registered(event, registered_at=at(-100)))
    plan_apply(attended(event, at(0), at(30)))
    contact = Contact.objects.get()
    derived = sorted(
        (e.kind, e.occurred_at, e.data) for e in TimelineEntry.objects.filter(contact=contact)
    )
    executor = MigrationExecutor(connection)
    executor.migrate([("marketing_events", "0010_participation_children_without_constraints")])
    try:
        stored = TimelineEvent.objects.exclude(kind="contact_created")
        assert sorted(stored.values_list("dedupe_key", flat=True)) == [
            f"zoom_webinar:{event.pk}:{contact.pk}:attended",
            f"zoom_webinar:{event.pk}:{contact.pk}:registered",
        ]
        # The view lists the stored entries only, and they show the same.
        assert (
            sorted(
                (e.kind, e.occurred_at, e.data)
                for e in TimelineEntry.objects.filter(contact=contact)
            )
            == derived
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert not TimelineEvent.objects.exclude(kind="contact_created").exists()
    assert (
        sorted(
            (e.kind, e.occurred_at, e.data) for e in TimelineEntry.objects.filter(contact=contact)
        )
        == derived
    )
