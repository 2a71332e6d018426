"""Webinars applied side by side by apply threads, each with its own PostgreSQL connection
(`ZOOM_SYNC_APPLY_THREADS`): the generated scenario ends in the same state as when they are
applied one by one, with faults, with a run killed in one thread and resumed, and with the
legacy properties (which summarize every webinar of a contact) computed by concurrent pages.

These tests commit for real (`transaction=True`): an apply thread's connection cannot see a
test's open transaction, and inside one the pipeline applies in its own thread instead."""

import threading
import time

import psycopg.errors
import pytest
from django.db import OperationalError
from django.db import connection as db_connection

from crm.models import Contact
from crm.stored_text import render_english, stored_text
from marketing_events.activity import activity_rebuild
from marketing_events.models import Participation
from zoom_integration.models import SyncRun, ZoomConnection, ZoomWebinar
from zoom_integration.services.sync import sync_run_execute, sync_run_request
from zoom_integration.sync import listings
from zoom_integration.sync import pipeline as pipeline_module
from zoom_integration.sync.pipeline import Pipeline

from . import test_sync_generated as scenario
from .test_sync_generated import WorkerKilled, oracle, reset_crm, run_sync, synced, world

# The generated scenario's fixtures, shared.
generated = scenario.generated
connection = scenario.connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        db_connection.vendor != "postgresql", reason="apply threads run on PostgreSQL only"
    ),
]


@pytest.fixture
def applying_threads(monkeypatch):
    """The names of the threads that applied pages."""
    names = set()
    real = pipeline_module.plan_apply

    def recording(*args, **kwargs):
        names.add(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "plan_apply", recording)
    return names


def legacy_properties():
    return sorted(
        (email, {k: v for k, v in properties.items() if k.startswith("zoom_")})
        for email, properties in Contact.objects.values_list("email", "properties")
    )


def test_two_apply_threads_end_where_one_does(generated, connection, settings, applying_threads):
    state, now = generated
    settings.ZOOM_SYNC_APPLY_THREADS = 2
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    assert len({n for n in applying_threads if n.startswith("zoom-apply")}) == 2
    assert synced() == oracle(state, now)
    assert activity_rebuild(fix=False).drifted == 0  # issue 21, pages applied side by side
    side_by_side = world()
    counts = {k: run.counts[k] for k in ("registrations", "attendance_rows", "webinars_synced")}

    reset_crm()
    applying_threads.clear()
    settings.ZOOM_SYNC_APPLY_THREADS = 1
    run = run_sync(connection)
    assert applying_threads == {threading.current_thread().name}
    assert world() == side_by_side
    # Every page counted once, whichever thread applied it.
    assert {k: run.counts[k] for k in counts} == counts


def test_legacy_properties_of_concurrent_pages_lose_nothing(connection, settings, monkeypatch):
    # No cutoff: every page recomputes P1-P4 of its contacts, who registered for several of
    # the webinars being applied at once (rules P1-P5).
    settings.ZOOM_LEGACY_PROPERTIES_CUTOFF = ""
    settings.ZOOM_SYNC_APPLY_THREADS = 1
    assert run_sync(connection).status == "succeeded"
    one_by_one = legacy_properties()
    assert any(props for _email, props in one_by_one)
    reset_crm()
    # Pages of two webinars recompute at the same moment, each having written its own
    # participations and seeing none of the other's yet.
    real = pipeline_module.contacts_recompute_legacy
    pair = threading.Barrier(2)

    def together(contact_ids):
        try:
            pair.wait(timeout=0.5)
        except threading.BrokenBarrierError:
            pair.reset()  # no partner: the last pages
        return real(contact_ids)

    monkeypatch.setattr(pipeline_module, "contacts_recompute_legacy", together)
    settings.ZOOM_SYNC_APPLY_THREADS = 2
    assert run_sync(connection).status == "succeeded"
    assert legacy_properties() == one_by_one


def test_faults_with_apply_threads_end_in_the_clean_state(zoom_sandbox, connection, settings):
    settings.ZOOM_SYNC_APPLY_THREADS = 2
    run_sync(connection)
    clean = world()
    reset_crm()
    zoom_sandbox.post(
        "/_sandbox/faults",
        json={"rules": scenario.FAULTS},
    ).raise_for_status()
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    assert world() == clean


def test_a_thread_killed_stops_the_run_which_resumes_and_converges(
    connection, settings, monkeypatch
):
    settings.ZOOM_SYNC_APPLY_THREADS = 2
    run_sync(connection)
    clean = world()
    reset_crm()
    real_apply = Pipeline._apply
    calls = {"n": 0}
    lock = threading.Lock()

    def dying_apply(self, *args, **kwargs):
        with lock:
            calls["n"] += 1
            dies = calls["n"] == 5
        if dies:
            raise WorkerKilled
        return real_apply(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "_apply", dying_apply)
    with pytest.raises(WorkerKilled):
        # Committed for real, the request runs the (eager) task at once.
        run = sync_run_request(connection=ZoomConnection.objects.get(pk=connection.pk))
        sync_run_execute(run_id=run.pk)
    run = SyncRun.objects.order_by("-pk").first()
    assert run.status == "running" and run.progress_done > 0
    assert len(run.done_webinars) < len(clean["counters"])  # the other thread stopped too
    monkeypatch.setattr(Pipeline, "_apply", real_apply)
    resumed = sync_run_execute(run_id=run.pk, resume=True)
    assert (resumed.status, resumed.attempts) == ("succeeded", 2)
    assert world() == clean


def test_a_page_that_loses_a_deadlock_is_applied_again(connection, settings, monkeypatch):
    settings.ZOOM_SYNC_APPLY_THREADS = 2
    first = run_sync(connection)
    clean = world()
    reset_crm()
    real = pipeline_module.plan_apply
    failures = {"left": 3}
    lock = threading.Lock()

    def losing(*args, **kwargs):
        result = real(*args, **kwargs)  # written, then rolled back by the deadlock
        with lock:
            lose = failures["left"] > 0
            failures["left"] -= 1
        if lose:
            error = OperationalError("deadlock detected")
            error.__cause__ = psycopg.errors.DeadlockDetected()
            raise error
        return result

    monkeypatch.setattr(pipeline_module, "plan_apply", losing)
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    assert failures["left"] < 0
    assert world() == clean
    for key in ("registrations", "attendance_rows"):
        assert run.counts[key] == first.counts[key]  # the retried pages counted once


def test_a_page_naming_a_contact_deleted_meanwhile_is_planned_again(
    connection, settings, monkeypatch
):
    settings.ZOOM_SYNC_APPLY_THREADS = 2
    assert run_sync(connection).status == "succeeded"
    ZoomWebinar.objects.update(registrants_synced_at=None, participants_synced_at=None)
    victim = Contact.objects.order_by("pk").first()
    real = pipeline_module.crm_snapshot
    deleted = threading.Event()

    def snapshot_then_delete(emails):
        snapshot = real(emails)
        if victim.email in snapshot.contacts and not deleted.is_set():
            deleted.set()
            # Gone (committed) between the page's snapshot and its transaction.
            Contact.objects.filter(pk=victim.pk).delete()
        return snapshot

    monkeypatch.setattr(pipeline_module, "crm_snapshot", snapshot_then_delete)
    run = run_sync(connection)
    assert deleted.is_set()
    assert run.status == "succeeded", run.errors
    # Planned again, the page found no contact (a hard delete leaves no tombstone) and created
    # it anew, with the activity of every page that named it since.
    again = Contact.objects.get(email=victim.email)
    assert again.pk != victim.pk
    assert Participation.objects.filter(contact=again).exists()


def test_a_zoom_error_in_one_thread_fails_the_run_and_stops_the_other(
    zoom_sandbox, connection, settings
):
    settings.ZOOM_SYNC_APPLY_THREADS = 2
    threads_before = threading.active_count()
    # Every registrants listing is refused (400): not transient, so not retried.
    zoom_sandbox.post(
        "/_sandbox/faults", json={"rules": [{"path": r"/registrants$", "status": 400, "times": 99}]}
    ).raise_for_status()
    run = run_sync(connection)
    assert run.status == "failed"
    assert run.errors and render_english(run.errors[0]).startswith("Zoom answered with an error")
    assert len(run.done_webinars) < len(ZoomWebinar.objects.filter(connection=connection))
    # No apply or fetch thread outlives the run (idle fetch threads end as they wake up).
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads_before
    # Once Zoom answers again, the next run completes.
    zoom_sandbox.post("/_sandbox/faults", json={"rules": []}).raise_for_status()
    assert run_sync(connection).status == "succeeded"


def _one_webinar_in_small_pages(state, connection, monkeypatch) -> ZoomWebinar:
    """Only the webinar with the most registrants is synced (S6 toggles), in pages of 2."""
    monkeypatch.setattr(listings, "PAGE_SIZE", 2)
    webinars = [w for w in state["accounts"][0]["webinars"] if not w.get("zoom_events")]
    busiest = max(webinars, key=lambda w: len(w["registrants"]))
    ZoomWebinar.objects.filter(connection=connection).exclude(zoom_webinar_id=busiest["id"]).update(
        sync_enabled=False
    )
    return ZoomWebinar.objects.get(connection=connection, zoom_webinar_id=busiest["id"])


def test_a_thread_without_a_webinar_applies_pages_of_another_ones(
    generated, connection, settings, monkeypatch, applying_threads
):
    state, _now = generated
    webinar = _one_webinar_in_small_pages(state, connection, monkeypatch)
    settings.ZOOM_SYNC_APPLY_THREADS = 1
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    one_thread = world()
    counts = {k: run.counts[k] for k in ("registrations", "attendance_rows", "webinars_synced")}
    assert counts["registrations"] > 10  # pages enough to share

    reset_crm()
    applying_threads.clear()
    recording = pipeline_module.plan_apply

    def slower(*args, **kwargs):
        time.sleep(0.01)  # so that the thread left without a webinar finds pages to take
        return recording(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "plan_apply", slower)
    settings.ZOOM_SYNC_APPLY_THREADS = 2
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    # Both threads applied pages of the one webinar synced; the outcome and the counts are
    # those of one thread.
    assert len({n for n in applying_threads if n.startswith("zoom-apply")}) == 2
    assert world() == one_thread
    assert {k: run.counts[k] for k in counts} == counts
    webinar.refresh_from_db()
    assert webinar.registrants_synced_at is not None
    assert webinar.participants_synced_at is not None


def test_a_page_failing_in_the_thread_that_joined_fails_the_run(
    generated, connection, settings, monkeypatch
):
    state, _now = generated
    webinar = _one_webinar_in_small_pages(state, connection, monkeypatch)
    real = pipeline_module.plan_apply
    owner = []

    def failing_when_joined(*args, **kwargs):
        name = threading.current_thread().name
        owner.append(owner[0] if owner else name)
        time.sleep(0.01)
        if name != owner[0]:
            raise RuntimeError("a page the joining thread took failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline_module, "plan_apply", failing_when_joined)
    settings.ZOOM_SYNC_APPLY_THREADS = 2
    threads_before = threading.active_count()
    with pytest.raises(RuntimeError, match="joining thread"):
        run_sync(connection)
    run = SyncRun.objects.get()
    assert run.status == "failed"
    assert run.errors == [stored_text("Unexpected error: %(error)s", error="RuntimeError")]
    # The webinar's owner stopped too, before marking its listings as read.
    webinar.refresh_from_db()
    assert webinar.participants_synced_at is None
    assert webinar.zoom_webinar_id not in run.done_webinars
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads_before
