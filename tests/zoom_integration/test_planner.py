"""The pure sync planner, rule by rule (no database)."""

import datetime as dt

import pytest

from marketing_events.plan import NewContact, RegistrationFact
from marketing_events.rules import ContactRef, CrmSnapshot, SkipReason
from zoom_integration.sync.planner import (
    SyncSettings,
    emails_of,
    plan_participants,
    plan_registrants,
    webinar_gate,
)
from zoom_integration.sync.records import Instance, Participant, Registrant, WebinarInfo

T0 = dt.datetime(2026, 9, 10, 15, 0, tzinfo=dt.UTC)
WEBINAR = WebinarInfo(
    zoom_webinar_id=81,
    topic="Q3 roadmap",
    host_email="host@acme.test",
    event_id=7,
    join_url="https://zoom.test/j/81",
)
INSTANCE = Instance(uuid="uuid-1", start_time=T0, end_time=T0 + dt.timedelta(hours=1))
SNAPSHOT = CrmSnapshot(
    contacts={
        "ana@example.com": ContactRef(id=1, first_name="Ana"),
        "admin@crm.test": ContactRef(id=2),
    },
    secondary_emails={"ana.old@example.com": 1},
    tombstones=frozenset({"gone@example.com"}),
    crm_user_emails=frozenset({"admin@crm.test"}),
)
SETTINGS = SyncSettings(contact_exclusion_domains=("blocked.test",))


def registrant(email, rid="r1", first="Ana", last="Silva", status="approved"):
    return Registrant(
        id=rid,
        email=email,
        first_name=first,
        last_name=last,
        status=status,
        create_time=T0 - dt.timedelta(days=3),
    )


def participant(email, pid="p1", rid="", name="Ana Silva", minutes=(0, 30)):
    return Participant(
        participant_id=pid,
        registrant_id=rid,
        name=name,
        email=email,
        join_time=T0 + dt.timedelta(minutes=minutes[0]),
        leave_time=T0 + dt.timedelta(minutes=minutes[1]),
    )


@pytest.mark.parametrize(
    ("webinar", "settings", "reason"),
    [
        (WebinarInfo(1, "x", is_zoom_events=True), SyncSettings(), SkipReason.ZOOM_EVENTS),  # Z1
        (
            WebinarInfo(1, "x", host_email="h@acme.test"),
            SyncSettings(webinar_exclusion_domains=("acme.test",)),
            SkipReason.EXCLUDED_HOST_DOMAIN,
        ),  # S3
        (
            WebinarInfo(1, "x", host_email="H@EU.Acme.test"),
            SyncSettings(webinar_exclusion_domains=("acme.test",)),
            SkipReason.EXCLUDED_HOST_DOMAIN,
        ),  # S3: subdomains too
        (
            WebinarInfo(1, "x", sync_enabled=False),
            SyncSettings(),
            SkipReason.WEBINAR_SYNC_OFF,
        ),  # S6
        (
            WebinarInfo(1, "x", host_email="h@notacme.test"),
            SyncSettings(webinar_exclusion_domains=("acme.test",)),
            None,
        ),
    ],
)
def test_webinar_gate(webinar, settings, reason):
    assert webinar_gate(webinar, settings) == reason


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("admin@crm.test", SkipReason.CRM_USER),  # rule Z4
        ("ana.old@example.com", SkipReason.SECONDARY_EMAIL),  # rule Z5
        ("gone@example.com", SkipReason.DELETED_CONTACT),  # rule Z6
        ("new@blocked.test", SkipReason.CONTACT_EXCLUSION_DOMAIN),  # rule Z7
        ("", SkipReason.NO_EMAIL),  # rule Z2
    ],
)
def test_registrants_who_are_skipped_with_their_reason(email, reason):  # rule Z9
    plan = plan_registrants(WEBINAR, [registrant(email)], SNAPSHOT, SETTINGS)
    assert plan.registrations == [] and plan.new_contacts == []
    assert [(s.reason, s.email, s.name, s.webinar_id) for s in plan.skips] == [
        (reason, email, "Ana Silva", "81")
    ]


def test_registrant_matching_is_trimmed_and_case_insensitive():  # rule Z8
    plan = plan_registrants(WEBINAR, [registrant("  ANA@Example.com ")], SNAPSHOT, SETTINGS)
    assert plan.new_contacts == []  # Ana exists
    assert plan.registrations == [
        RegistrationFact(
            email="ana@example.com",
            registered_at=T0 - dt.timedelta(days=3),
            external_registrant_id="r1",
            join_url="https://zoom.test/j/81",
        )
    ]


def test_new_registrants_become_contacts_with_names_as_typed():  # rules M3, Z8
    plan = plan_registrants(
        WEBINAR, [registrant(" Zoë@New.io", first="Zoë", last="d'Arc")], SNAPSHOT, SETTINGS
    )
    assert plan.new_contacts == [NewContact("zoë@new.io", "Zoë", "d'Arc")]


def test_existing_contacts_in_excluded_domains_still_get_activity():  # rule Z7
    snapshot = CrmSnapshot(contacts={"bob@blocked.test": ContactRef(id=3)})
    plan = plan_registrants(WEBINAR, [registrant("bob@blocked.test")], snapshot, SETTINGS)
    assert [r.email for r in plan.registrations] == ["bob@blocked.test"]
    assert plan.skips == []


def test_one_skip_per_reason_person_and_webinar():  # rule Z9
    plan = plan_registrants(
        WEBINAR,
        [registrant("gone@example.com", rid="a"), registrant("GONE@example.com", rid="b")],
        SNAPSHOT,
        SETTINGS,
    )
    assert len(plan.skips) == 1


def test_cancelled_registrants_record_a_cancellation():
    plan = plan_registrants(
        WEBINAR, [registrant("ana@example.com", status="cancelled")], SNAPSHOT, SETTINGS
    )
    assert plan.registrations[0].cancelled_at == T0 - dt.timedelta(days=3)
    assert plan.registrations[0].registered_at is None


def test_participants_become_sessions_of_their_instance():  # rule M2
    plan = plan_participants(
        WEBINAR,
        INSTANCE,
        [
            participant("ana@example.com", minutes=(0, 30)),
            participant("ana@example.com", pid="p1", minutes=(20, 45)),
        ],
        SNAPSHOT,
        SETTINGS,
        {},
    )
    assert [
        (s.email, s.occurrence_key, s.join_at.minute, s.leave_at.minute) for s in plan.sessions
    ] == [("ana@example.com", "uuid-1", 0, 30), ("ana@example.com", "uuid-1", 20, 45)]
    assert plan.occurrences[0].key == "uuid-1"


def test_guest_without_email_is_joined_to_the_registration_by_registrant_id():  # rules Z2, B1
    guest = participant("", pid="p9", rid="r_ana", name="Ana (iPhone)")
    plan = plan_participants(
        WEBINAR, INSTANCE, [guest], SNAPSHOT, SETTINGS, {"r_ana": "Ana@Example.com"}
    )
    assert [s.email for s in plan.sessions] == ["ana@example.com"]
    assert plan.skips == []


def test_guest_without_email_or_registration_is_skipped():  # rule Z2
    plan = plan_participants(
        WEBINAR, INSTANCE, [participant("", name="Guest 1")], SNAPSHOT, SETTINGS, {}
    )
    assert plan.sessions == []
    assert [(s.reason, s.name) for s in plan.skips] == [(SkipReason.NO_EMAIL, "Guest 1")]


@pytest.mark.parametrize(
    ("email", "reason"),
    [
        ("admin@crm.test", SkipReason.CRM_USER),
        ("ana.old@example.com", SkipReason.SECONDARY_EMAIL),
        ("gone@example.com", SkipReason.DELETED_CONTACT),
    ],
)
def test_attendees_who_are_skipped(email, reason):  # rules Z4, Z5, Z6
    plan = plan_participants(WEBINAR, INSTANCE, [participant(email)], SNAPSHOT, SETTINGS, {})
    assert plan.sessions == [] and [s.reason for s in plan.skips] == [reason]


def test_attendee_who_never_registered_becomes_a_contact_named_from_zoom():
    plan = plan_participants(
        WEBINAR, INSTANCE, [participant("walk.in@new.io", name="Walk In")], SNAPSHOT, SETTINGS, {}
    )
    assert plan.new_contacts == [NewContact("walk.in@new.io", "Walk", "In")]


def test_emails_of_covers_guests_by_registrant_id():
    records = [participant("", rid="r1"), participant("A@b.io")]
    assert emails_of(records, {"r1": "Ana@Example.com"}) == {"ana@example.com", "a@b.io"}
