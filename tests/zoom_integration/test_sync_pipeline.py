"""The pull sync end to end over real HTTP against the sandbox: a known scenario syncs into
exactly the contacts, participations, durations, counters, timeline and skips it implies."""

from decimal import Decimal

import pytest

from crm.models import Brand, Contact, SecondaryEmail, TimelineEntry, TimelineEvent, Tombstone, User
from marketing_events.models import AttendanceSession, MarketingEvent, Participation
from tests.zoom_integration.scenario import (
    ACME,
    ENDED_ID,
    EVENTS_ID,
    RECURRING_ID,
    S2S,
    UPCOMING_ID,
)
from zoom_integration.models import SyncRun, SyncSkip, ZoomConnection, ZoomUser
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.services.sync import sync_run_execute, sync_run_request
from zoom_integration.sync.pipeline import WebinarSync, rate_limiter

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(db, zoom_sandbox, django_capture_on_commit_callbacks):
    brand = Brand.objects.create(name="Acme", is_primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(brand=brand, account_id=ACME, **S2S)
    connection_settings_update(connection=connection, sync_webinar_data=True)
    return connection


def sync(connection) -> SyncRun:
    run = sync_run_request(connection=ZoomConnection.objects.get(pk=connection.pk))
    return sync_run_execute(run_id=run.pk)


def world():
    return {
        "contacts": sorted(Contact.objects.values_list("email", "first_name", "last_name")),
        "participations": sorted(
            Participation.objects.values_list(
                "contact__email",
                "event__external_event_id",
                "state",
                "duration_seconds",
                "attendance_percent",
                "registered_at",
                "first_join_at",
                "last_leave_at",
            )
        ),
        "sessions": AttendanceSession.objects.count(),
        "timeline": sorted(
            TimelineEntry.objects.exclude(kind="contact_created").values_list(
                "contact__email", "kind", "occurred_at"
            )
        ),
        "counters": sorted(
            MarketingEvent.objects.values_list(
                "external_event_id",
                "registered_count",
                "attended_count",
                "cancelled_count",
                "no_show_count",
            )
        ),
    }


def test_a_scenario_syncs_into_what_it_implies(acme):  # rules M1-M4, Z1
    run = sync(acme)
    assert run.status == "succeeded", run.errors
    events = {e.external_event_id: e for e in MarketingEvent.objects.all()}
    # Z1: the Zoom Events webinar is no marketing event; the others are, keyed per M1.
    assert set(events) == {str(UPCOMING_ID), str(ENDED_ID), "84000000003"}
    ended = events[str(ENDED_ID)]
    assert (ended.source, ended.external_account_id, ended.name, ended.brand_id) == (
        "zoom",
        ACME,
        "Ended launch",
        acme.brand_id,
    )
    people = {
        p.contact.email: p
        for p in Participation.objects.select_related("contact").filter(event=ended)
    }
    assert sorted(people) == ["person2@example.com", "person3@example.com"]
    # Instance lasted 46 minutes: 40 and 20 minutes attended.
    assert (
        people["person2@example.com"].state,
        people["person2@example.com"].duration_seconds,
        people["person2@example.com"].attendance_percent,
    ) == ("ATTENDED", 2400, Decimal("87.0"))
    assert (
        people["person3@example.com"].duration_seconds,
        people["person3@example.com"].attendance_percent,
    ) == (1200, Decimal("43.5"))
    assert (ended.registered_count, ended.attended_count, ended.no_show_count) == (2, 2, 0)
    upcoming = events[str(UPCOMING_ID)]
    assert list(upcoming.participations.values_list("contact__email", "state")) == [
        ("person1@example.com", "REGISTERED")
    ]
    assert (upcoming.registered_count, upcoming.no_show_count) == (1, 0)
    contact = Contact.objects.get(email="person2@example.com")
    assert (contact.first_name, contact.last_name) == ("P2", "L2")
    kinds = sorted(TimelineEntry.objects.filter(contact=contact).values_list("kind", flat=True))
    assert kinds == ["contact_created", "zoom_webinar_attended", "zoom_webinar_registered"]
    attended = TimelineEntry.objects.get(contact=contact, kind="zoom_webinar_attended")
    assert (
        attended.data["webinar_id"],
        attended.data["webinar_name"],
        attended.data["duration_seconds"],
    ) == (str(ENDED_ID), "Ended launch", 2400)
    assert SyncSkip.objects.filter(run=run).values_list("reason", "webinar_id").get() == (
        "zoom_events",
        str(EVENTS_ID),
    )
    assert run.skips == {"zoom_events": 1}
    assert run.counts["registrations"] == 3 and run.counts["attendance_rows"] == 2
    assert run.progress_done == run.progress_total > 0


def test_a_second_run_changes_nothing(acme):  # DESIGN "How syncing runs"
    sync(acme)
    before = world()
    second = sync(acme)
    assert second.status == "succeeded"
    assert world() == before


def test_crm_rules_apply_to_synced_people(acme):  # rules Z4, Z5, Z6
    User.objects.create_user("person1@example.com", role="viewer")  # a CRM user registered
    owner = Contact.objects.create(email="owner2@example.com")
    SecondaryEmail.objects.create(contact=owner, email="person2@example.com")
    Tombstone.objects.create(email="person3@example.com")
    run = sync(acme)
    assert Participation.objects.count() == 0
    assert not Contact.objects.filter(email__startswith="person").exists()
    assert run.skips == {
        "crm_user": 1,
        "secondary_email": 1,
        "deleted_contact": 1,
        "zoom_events": 1,
    }
    skipped = set(SyncSkip.objects.filter(run=run).values_list("reason", "email"))
    assert ("secondary_email", "person2@example.com") in skipped


def test_a_webinar_with_sync_off_is_skipped_once(acme):  # rule S6
    from zoom_integration.models import ZoomWebinar

    ZoomWebinar.objects.filter(zoom_webinar_id=RECURRING_ID).update(sync_enabled=False)
    run = sync(acme)
    assert set(MarketingEvent.objects.values_list("external_event_id", flat=True)) == {
        str(UPCOMING_ID),
        str(ENDED_ID),
    }
    assert run.skips == {"webinar_sync_off": 1, "zoom_events": 1}


def test_excluded_host_domains_match_subdomains(acme):  # rule S3
    connection_settings_update(connection=acme, webinar_exclusion_domains=["acme.test"])
    run = sync(acme)
    # owner@acme.test and host@events.acme.test (a subdomain) are excluded; Mia is not.
    assert set(MarketingEvent.objects.values_list("external_event_id", flat=True)) == {
        str(RECURRING_ID)
    }
    assert run.skips == {"excluded_host_domain": 2, "zoom_events": 1}


def test_contact_exclusions_block_creation_only(acme):  # rule Z7
    Contact.objects.create(email="person2@example.com", first_name="Existing")
    connection_settings_update(connection=acme, contact_exclusion_domains=["example.com"])
    run = sync(acme)
    assert list(Contact.objects.values_list("email", flat=True)) == ["person2@example.com"]
    assert Participation.objects.get().state == "ATTENDED"
    assert run.skips["contact_exclusion_domain"] == 2  # person1 and person3


def test_metadata_is_cached_by_every_sync_even_with_s1_off(acme):  # rules A2, S1
    connection_settings_update(connection=acme, sync_webinar_data=False)
    ZoomUser.objects.all().delete()
    run = sync(acme)
    assert (run.status, run.errors) == ("skipped", ["sync_disabled"])
    assert ZoomUser.objects.count() == 3
    assert not MarketingEvent.objects.exists()


def test_skips_are_listed_with_a_fix_hint_over_the_api(acme, admin_api):  # rule Z9
    Tombstone.objects.create(email="person3@example.com")
    run = sync(acme)
    body = admin_api.get(f"/api/v1/zoom/sync-runs/{run.pk}/").json()
    assert body["skips"] == {"deleted_contact": 1, "zoom_events": 1}
    assert body["status"] == "succeeded"
    assert body["progress"]["done"] == body["progress"]["total"] > 0
    skips = admin_api.get(f"/api/v1/zoom/sync-runs/{run.pk}/skips/?reason=deleted_contact").json()
    assert skips["next"] is None
    assert [(s["reason"], s["email"], s["name"], s["webinar_id"]) for s in skips["results"]] == [
        ("deleted_contact", "person3@example.com", "P3 L3", str(ENDED_ID))
    ]
    assert skips["results"][0]["hint"].startswith("The contact with this e-mail was deleted")


def test_scheduled_syncs_queue_one_run_per_connection(acme):
    from zoom_integration.tasks import schedule_syncs

    assert schedule_syncs() == 1  # eager in tests: it ran at once
    assert SyncRun.objects.get().trigger == "scheduled"


def test_a_stale_running_run_is_resumed_by_the_beat_task(acme):
    import datetime as dt

    from django.utils import timezone

    from zoom_integration.tasks import resume_stale_runs

    run = SyncRun.objects.create(
        connection=acme,
        trigger="manual",
        status="running",
        heartbeat_at=timezone.now() - dt.timedelta(minutes=10),
    )
    fresh = SyncRun.objects.create(
        connection=ZoomConnection.objects.create(
            brand=Brand.objects.create(name="B2"), kind="s2s", client_id="x", client_secret="y"
        ),
        trigger="manual",
        status="running",
        heartbeat_at=timezone.now(),
    )
    assert resume_stale_runs() == [run.pk]
    run.refresh_from_db()
    fresh.refresh_from_db()
    assert run.status == "succeeded" and fresh.status == "running"


def _recordings():
    from zoom_integration.models import ZoomRecording

    return list(ZoomRecording.objects.values_list("webinar__zoom_webinar_id", "has_transcript"))


def test_recordings_are_not_synced_by_default(acme):  # rule S2: none
    sync(acme)
    assert _recordings() == []
    assert not TimelineEvent.objects.filter(kind="zoom_recording_available").exists()


def test_recordings_of_all_users_reach_the_attendees_timelines(acme):  # rules S2, M4
    connection_settings_update(connection=acme, recordings_sync="all")
    sync(acme)
    assert _recordings() == [(ENDED_ID, True)]
    entries = TimelineEvent.objects.filter(kind="zoom_recording_available")
    assert sorted(entries.values_list("contact__email", flat=True)) == [
        "person2@example.com",
        "person3@example.com",
    ]
    assert entries.first().data["recording_url"].startswith("http")


@pytest.mark.parametrize(("host_selected", "expected"), [(False, []), (True, [(ENDED_ID, True)])])
def test_selected_users_recordings_follow_their_toggle(acme, host_selected, expected):  # S2, S6
    connection_settings_update(connection=acme, recordings_sync="selected")
    ZoomUser.objects.filter(zoom_user_id="u_host").update(sync_recordings=host_selected)
    sync(acme)
    assert _recordings() == expected


def test_recording_exclusion_domains_match_subdomains(acme):  # rule S4
    connection_settings_update(
        connection=acme, recordings_sync="all", recording_exclusion_domains=["acme.test"]
    )
    sync(acme)
    assert _recordings() == []
    # Attendance still syncs: S4 is about recordings only.
    assert Participation.objects.filter(state="ATTENDED").count() == 2


@pytest.mark.parametrize(
    ("plan", "limits"),
    [
        ("pro", {"light": 30, "medium": 20, "heavy": 10}),
        ("business", {"light": 80, "medium": 60, "heavy": 40}),
    ],
)
def test_the_rate_limiter_follows_the_connection_plan(acme, settings, plan, limits):
    settings.ZOOM_RATE_LIMITS = ""
    acme.zoom_plan = plan
    acme.save(update_fields=["zoom_plan"])
    assert rate_limiter(acme).limits == limits


def test_the_largest_webinars_are_applied_first(acme, monkeypatch):
    # By the participants Zoom's report history counted (`size_hint`), so that no large
    # webinar is left for the end of a run, synced alone while other workers sit idle.
    from zoom_integration.models import ZoomWebinar

    sizes = {UPCOMING_ID: 0, ENDED_ID: 2, RECURRING_ID: 40, EVENTS_ID: 7}
    for webinar_id, size in sizes.items():
        ZoomWebinar.objects.filter(zoom_webinar_id=webinar_id).update(size_hint=size)
    order = []
    real = WebinarSync.execute

    def recording(self):
        order.append(self.webinar.zoom_webinar_id)
        return real(self)

    monkeypatch.setattr(WebinarSync, "execute", recording)
    assert sync(acme).status == "succeeded"
    assert order == [RECURRING_ID, EVENTS_ID, ENDED_ID, UPCOMING_ID]
