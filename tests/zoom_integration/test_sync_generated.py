"""A generated sandbox scenario (hosts in several domains, types 5 and 9, a Zoom Events webinar,
padded and mixed-case e-mails, guests, rejoins with overlaps, cancelled registrants) synced over
real HTTP, checked against an oracle computed independently from the scenario's own state; then
the same with injected faults, and with a run killed half-way and resumed."""

import datetime as dt

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from crm.models import Brand, Contact, TimelineEntry, TimelineEvent
from marketing_events.activity import activity_rebuild
from marketing_events.models import MarketingEvent, Participation
from zoom_integration.models import SyncRun, ZoomConnection
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.services.sync import sync_run_execute, sync_run_request
from zoom_integration.sync import pipeline as pipeline_module
from zoom_integration.sync.pipeline import WebinarSync
from zoom_integration.sync.prefetch import InlinePages

pytestmark = pytest.mark.django_db
GENERATE = {"accounts": 1, "webinars": 8, "registrants": 40, "attendance": 0.6, "seed": 5}
# 429 with Retry-After, 503 twice, a dropped connection, an expired token mid-run.
FAULTS = [
    {"path": r"/registrants$", "status": 429, "retry_after": 1, "times": 2},
    {"path": r"/report/webinars/.+/participants", "status": 503, "times": 2},
    {"path": r"/past_webinars/.+/instances", "drop_connection": True, "times": 1},
    {"path": r"/report/webinars/[^/]+$", "expire_token": True, "times": 1},
]


def _time(value):
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _merged(spans):
    total, end = 0, None
    for start, stop in sorted(spans):
        if end is None or start > end:
            total += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            total += (stop - end).total_seconds()
            end = stop
    return int(total)


def oracle(state, now):
    """What the scenario implies, computed without the CRM's code."""
    account = state["accounts"][0]
    people = {}
    for webinar in account["webinars"]:
        if webinar.get("zoom_events"):
            continue  # rule Z1
        approved = {
            r["id"]: r["email"].strip().lower()
            for r in webinar["registrants"]
            if r["status"] == "approved"
        }
        for email in approved.values():
            if email:
                people.setdefault((email, str(webinar["id"])), {"sessions": {}})
        for instance in webinar.get("instances", []):
            if _time(instance["end_time"]) > now:
                continue
            for row in instance["participants"]:
                email = row["user_email"].strip().lower() or approved.get(
                    row.get("registrant_id"), ""
                )  # rule B1
                if not email:
                    continue  # rule Z2
                entry = people.setdefault((email, str(webinar["id"])), {"sessions": {}})
                entry["sessions"].setdefault(instance["uuid"], []).append(
                    (_time(row["join_time"]), _time(row["leave_time"]))
                )
    return {
        (
            email,
            webinar_id,
            "ATTENDED" if entry["sessions"] else "REGISTERED",
            sum(_merged(spans) for spans in entry["sessions"].values()),
        )
        for (email, webinar_id), entry in people.items()
    }


@pytest.fixture
def generated(zoom_sandbox):
    info = zoom_sandbox.post("/_sandbox/generate", json=GENERATE).json()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    state = zoom_sandbox.get("/_sandbox/state").json()
    return state, _time(info["now"])


@pytest.fixture
def connection(generated, django_capture_on_commit_callbacks):
    state, _now = generated
    account = state["accounts"][0]
    app = next(a for a in account["apps"] if a["type"] == "s2s")
    brand = Brand.objects.create(name="Demo", is_primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(
            brand=brand,
            account_id=account["id"],
            client_id=app["client_id"],
            client_secret=app["client_secret"],
        )
    connection_settings_update(connection=connection, sync_webinar_data=True)
    return connection


def run_sync(connection) -> SyncRun:
    run = sync_run_request(connection=ZoomConnection.objects.get(pk=connection.pk))
    return sync_run_execute(run_id=run.pk)


def synced():
    return set(
        Participation.objects.values_list(
            "contact__email", "event__external_event_id", "state", "duration_seconds"
        )
    )


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
        "timeline": sorted(
            TimelineEntry.objects.exclude(kind="contact_created").values_list(
                "contact__email", "kind", "occurred_at"
            )
        ),
        "counters": sorted(
            MarketingEvent.objects.values_list(
                "external_event_id", "registered_count", "attended_count", "no_show_count"
            )
        ),
    }


def reset_crm():
    MarketingEvent.objects.all().delete()
    Contact.objects.all().delete()
    TimelineEvent.objects.all().delete()
    from zoom_integration.models import ZoomWebinar

    ZoomWebinar.objects.update(registrants_synced_at=None, participants_synced_at=None, event=None)


def test_generated_scenario_matches_its_oracle(generated, connection):
    state, now = generated
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    expected = oracle(state, now)
    assert len(expected) > 100  # the scenario is not trivial
    assert synced() == expected
    # Contacts are exactly the people with activity; e-mails stored normalized (rule Z8).
    assert set(Contact.objects.values_list("email", flat=True)) == {e for e, *_ in expected}
    assert run.skips.get("zoom_events") == 1
    # Overlapping rejoins exist in the scenario and were merged, not summed.
    assert any(p.sessions.count() > 1 for p in Participation.objects.filter(state="ATTENDED"))
    # issue 21: the contacts' rollups equal a recomputation from scratch after a full sync.
    assert activity_rebuild(fix=False).drifted == 0


def test_second_run_changes_nothing(connection):
    run_sync(connection)
    before = world()
    assert run_sync(connection).status == "succeeded"
    assert world() == before


def test_faults_end_in_the_same_state_as_a_clean_run(zoom_sandbox, connection):
    run_sync(connection)
    clean = world()
    reset_crm()
    zoom_sandbox.post(
        "/_sandbox/faults",
        json={"rules": FAULTS},
    ).raise_for_status()
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    assert world() == clean
    log = zoom_sandbox.get("/_sandbox/requests").json()["requests"]
    assert {entry["status"] for entry in log if entry.get("fault")} >= {429, 503, 401, 0}


class WorkerKilled(BaseException):
    """Stands for SIGKILL: not an Exception, so nothing in the run catches it."""


def test_a_run_killed_half_way_resumes_and_converges(connection, monkeypatch):
    run_sync(connection)
    clean = world()
    reset_crm()
    real_apply = WebinarSync._apply
    calls = {"n": 0}

    def dying_apply(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise WorkerKilled
        return real_apply(self, *args, **kwargs)

    monkeypatch.setattr(WebinarSync, "_apply", dying_apply)
    run = sync_run_request(connection=ZoomConnection.objects.get(pk=connection.pk))
    with pytest.raises(WorkerKilled):
        sync_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "running" and run.progress_done > 0
    monkeypatch.setattr(WebinarSync, "_apply", real_apply)
    # A fresh execution is refused while the worker may still be alive...
    assert sync_run_execute(run_id=run.pk).status == "running"
    # ...and resumes once it is known dead (stale heartbeat, or an explicit resume).
    resumed = sync_run_execute(run_id=run.pk, resume=True)
    assert (resumed.status, resumed.attempts) == ("succeeded", 2)
    assert world() == clean


@pytest.mark.parametrize("registrants", [10, 250])
def test_queries_per_page_do_not_grow_with_the_page(
    zoom_sandbox, registrants, monkeypatch, django_capture_on_commit_callbacks
):
    zoom_sandbox.post(
        "/_sandbox/generate", json={**GENERATE, "webinars": 3, "registrants": registrants}
    ).raise_for_status()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    account = zoom_sandbox.get("/_sandbox/state").json()["accounts"][0]
    app = next(a for a in account["apps"] if a["type"] == "s2s")
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(
            brand=Brand.objects.create(name="B", is_primary=True),
            account_id=account["id"],
            client_id=app["client_id"],
            client_secret=app["client_secret"],
        )
    connection_settings_update(connection=connection, sync_webinar_data=True)
    per_page = []
    real_apply = WebinarSync._apply

    def counting_apply(self, *args, **kwargs):
        with CaptureQueriesContext(db_connection) as queries:
            real_apply(self, *args, **kwargs)
        per_page.append(len(queries))

    monkeypatch.setattr(WebinarSync, "_apply", counting_apply)
    assert run_sync(connection).status == "succeeded"
    assert per_page and max(per_page) <= 36, per_page


def test_fetching_pages_ahead_or_not_ends_in_the_same_state(connection, monkeypatch):
    run_sync(connection)
    ahead = world()
    reset_crm()
    monkeypatch.setattr(pipeline_module, "PrefetchedPages", InlinePages)
    assert run_sync(connection).status == "succeeded"
    assert world() == ahead


def test_a_hidden_guest_is_found_through_their_registration_or_refused_as_it_was(
    zoom_sandbox, generated, connection
):  # rules B1, Z9: the page's registrant ids looked up, no map of the webinar's
    state, _now = generated
    webinar = next(
        w
        for w in state["accounts"][0]["webinars"]
        if not w.get("zoom_events")
        and any(i.get("end_time") and i["participants"] for i in w["instances"])
    )
    instance = next(i for i in webinar["instances"] if i.get("end_time") and i["participants"])
    approved = [r for r in webinar["registrants"] if r["status"] == "approved"]
    # Two registrants attend with their addresses hidden; one of them registered from a domain
    # the connection excludes (rule Z7), so the registrant rules refused them.
    kept, excluded = approved[0], approved[1]
    excluded["email"] = "someone@excluded.example"
    for registrant in (kept, excluded):
        instance["participants"].append(
            {
                "participant_user_id": f"hidden-{registrant['id']}",
                "registrant_id": registrant["id"],
                "name": f"{registrant['first_name']} {registrant['last_name']}",
                "user_email": "",
                "join_time": instance["start_time"],
                "leave_time": instance["end_time"],
            }
        )
    zoom_sandbox.post("/_sandbox/scenario", json=state).raise_for_status()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    ZoomConnection.objects.filter(pk=connection.pk).update(
        contact_exclusion_domains=["excluded.example"]
    )
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    attended = Participation.objects.get(
        contact__email=kept["email"].strip().lower(),
        event__external_event_id=str(webinar["id"]),
    )
    assert attended.state == "ATTENDED"
    assert attended.sessions.filter(external_participant_id=f"hidden-{kept['id']}").exists()
    # The refused registrant's guest is refused for the same reason, not for a missing address.
    assert not Contact.objects.filter(email="someone@excluded.example").exists()
    skips = set(
        run.skipped.filter(email="someone@excluded.example").values_list("reason", flat=True)
    )
    assert skips == {"contact_exclusion_domain"}
    name = f"{excluded['first_name']} {excluded['last_name']}"
    assert not run.skipped.filter(reason="no_email", name=name).exists()
