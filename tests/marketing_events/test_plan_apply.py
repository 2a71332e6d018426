"""Applying plans: idempotent, order-independent, counters and timeline right, constant cost."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Contact, TimelineEntry, TimelineEvent
from marketing_events.models import (
    AttendanceSession,
    MarketingEvent,
    OccurrenceAttendance,
    Participation,
)
from marketing_events.plan import (
    NewContact,
    OccurrenceFact,
    Plan,
    PropertyWrite,
    RegistrationFact,
    SessionFact,
)
from marketing_events.services import PlanApplied, event_upsert, plan_apply

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 9, 10, 15, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def event():
    return event_upsert(
        source="zoom",
        external_account_id="acct",
        external_event_id="81",
        defaults={"name": "Q3 roadmap", "starts_at": at(0), "ends_at": at(60)},
    )


def registration(event, email="ana@example.com", **facts):
    return Plan(
        event_id=event.pk,
        new_contacts=[NewContact(email, "Ana", "Silva")],
        registrations=[RegistrationFact(email=email, **facts)],
    )


def attendance(event, sessions, email="ana@example.com"):
    return Plan(
        event_id=event.pk,
        new_contacts=[NewContact(email, "Ana", "Silva")],
        occurrences=[OccurrenceFact("uuid-1", at(0), at(60))],
        sessions=[
            SessionFact(email, "uuid-1", pid, join, leave, "Ana") for pid, join, leave in sessions
        ],
    )


def state_of_the_world():
    return {
        "contacts": sorted(Contact.objects.values_list("email", "first_name")),
        "participations": sorted(
            Participation.objects.values_list(
                "contact__email",
                "state",
                "registered_at",
                "cancelled_at",
                "first_join_at",
                "last_leave_at",
                "duration_seconds",
                "attendance_percent",
            )
        ),
        "sessions": sorted(
            AttendanceSession.objects.values_list("external_participant_id", "join_at", "leave_at")
        ),
        "timeline": sorted(
            (kind, None if kind == "contact_created" else when)
            for kind, when in TimelineEntry.objects.values_list("kind", "occurred_at")
        ),
        "counters": list(
            MarketingEvent.objects.values_list(
                "registered_count", "attended_count", "cancelled_count", "no_show_count"
            )
        ),
    }


def test_registration_creates_contact_participation_timeline_and_counters(event):  # M3, M4
    counts = plan_apply(
        registration(event, registered_at=at(-100), external_registrant_id="r1"),
    )
    contact = Contact.objects.get()
    assert counts == PlanApplied(
        contacts_created=1,
        participations_created=1,
        participations_changed=1,
        sessions=0,
        contact_ids=[contact.pk],
    )
    participation = Participation.objects.get()
    assert (participation.state, participation.external_registrant_id) == ("REGISTERED", "r1")
    kinds = sorted(TimelineEntry.objects.values_list("kind", flat=True))
    assert kinds == ["contact_created", "zoom_webinar_registered"]
    registered = TimelineEntry.objects.get(kind="zoom_webinar_registered")
    assert registered.data["webinar_name"] == "Q3 roadmap"
    event.refresh_from_db()
    # The event is over and Ana never came: a no-show, still counted as registered.
    assert (event.registered_count, event.attended_count, event.no_show_count) == (1, 0, 1)


def test_new_contacts_are_created_holding_their_mapped_answers(event):  # rule E2
    plan = registration(event, registered_at=at(-100))
    plan.property_writes = [
        PropertyWrite("ana@example.com", "company", "Acme", column="company"),
        PropertyWrite("ana@example.com", "jobtitle", "CTO", column="job_title"),
        PropertyWrite("ana@example.com", "webinar_goal", "Pricing"),
        PropertyWrite("ana@example.com", "webinar_goal", "Roadmap", overwrite=True),  # last wins
    ]
    with CaptureQueriesContext(connection) as queries:
        counts = plan_apply(plan)
    contact = Contact.objects.get()
    assert (contact.company, contact.job_title, contact.properties) == (
        "Acme",
        "CTO",
        {"webinar_goal": "Roadmap"},
    )
    # Created with them: no second write of the new contact to set them.
    assert not [q for q in queries if 'UPDATE "crm_contact"' in q["sql"]]
    assert counts.contact_ids == [contact.pk]
    # A contact that exists already is written as before, its values by the write rules.
    again = registration(event, email="ana@example.com", registered_at=at(-90))
    again.property_writes = [
        PropertyWrite("ana@example.com", "company", "Other", column="company"),  # fills only
        PropertyWrite("ana@example.com", "jobtitle", "CEO", column="job_title", overwrite=True),
    ]
    plan_apply(again)
    contact.refresh_from_db()
    assert (contact.company, contact.job_title) == ("Acme", "CEO")


def test_rejoins_merge_overlaps_and_percent_uses_the_actual_length(event):  # rule M2
    plan_apply(attendance(event, [("p1", at(0), at(30)), ("p1", at(20), at(45))]))
    participation = Participation.objects.get()
    assert participation.state == "ATTENDED"
    assert participation.duration_seconds == 45 * 60
    assert participation.attendance_percent == Decimal("75.0")
    assert (participation.first_join_at, participation.last_leave_at) == (at(0), at(45))
    assert AttendanceSession.objects.count() == 2  # raw rows kept
    assert OccurrenceAttendance.objects.get().duration_seconds == 45 * 60
    attended = TimelineEntry.objects.get(kind="zoom_webinar_attended")
    assert attended.data["duration_seconds"] == 2700


def test_reapplying_changes_nothing(event):
    plans = [
        registration(event, registered_at=at(-100)),
        attendance(event, [("p1", at(0), at(30))]),
    ]
    for plan in plans:
        plan_apply(plan)
    before = state_of_the_world()
    for plan in plans:
        plan_apply(plan)
    assert state_of_the_world() == before


def test_the_same_facts_in_any_order_converge(django_db_blocker):
    plans_for = lambda event: [  # noqa: E731
        registration(event, registered_at=at(-100)),
        registration(event, cancelled_at=at(-50)),
        registration(event, registered_at=at(-10)),  # registered again after cancelling
        attendance(event, [("p1", at(0), at(30))]),
        attendance(event, [("p2", at(25), at(40))]),
    ]
    outcomes = []
    for order in itertools.islice(itertools.permutations(range(5)), 0, 120, 17):
        MarketingEvent.objects.all().delete()
        Contact.objects.all().delete()
        TimelineEvent.objects.all().delete()
        event = event_upsert(
            source="zoom",
            external_account_id="acct",
            external_event_id="81",
            defaults={"name": "Q3", "starts_at": at(0), "ends_at": at(60)},
        )
        plans = plans_for(event)
        for index in order:
            plan_apply(plans[index])
        world = state_of_the_world()
        outcomes.append(world)
    assert all(outcome == outcomes[0] for outcome in outcomes)
    assert outcomes[0]["participations"][0][1] == "ATTENDED"
    assert outcomes[0]["participations"][0][6] == 40 * 60


def test_cancellation_after_registration_is_cancelled_and_counted(event):
    plan_apply(registration(event, registered_at=at(-100)))
    plan_apply(registration(event, cancelled_at=at(-50)))
    assert Participation.objects.get().state == "CANCELLED"
    event.refresh_from_db()
    assert (event.registered_count, event.cancelled_count, event.no_show_count) == (0, 1, 0)
    assert TimelineEntry.objects.filter(kind="zoom_webinar_cancelled").count() == 1


def test_a_live_session_is_provisional_until_it_has_a_leave(event):  # rule B4
    plan = attendance(event, [("p1", at(0), None)])
    plan.event_over = False
    plan_apply(plan, now=at(20))
    participation = Participation.objects.get()
    assert (participation.duration_seconds, participation.provisional) == (1200, True)
    plan_apply(attendance(event, [("p1", at(0), at(35))]))
    participation.refresh_from_db()
    assert (participation.duration_seconds, participation.provisional) == (2100, False)
    assert AttendanceSession.objects.count() == 1


@pytest.mark.parametrize("people", [3, 60])
def test_a_page_costs_a_constant_number_of_queries(event, people, django_assert_max_num_queries):
    plan = Plan(event_id=event.pk, occurrences=[OccurrenceFact("uuid-1", at(0), at(60))])
    for n in range(people):
        email = f"p{n}@example.com"
        plan.new_contacts.append(NewContact(email, "P", str(n)))
        plan.registrations.append(RegistrationFact(email=email, registered_at=at(-60)))
        plan.sessions.append(SessionFact(email, "uuid-1", f"pu{n}", at(0), at(10 + n % 40)))
    with django_assert_max_num_queries(22):
        plan_apply(plan)
    assert Participation.objects.filter(state="ATTENDED").count() == people
