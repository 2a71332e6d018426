"""A run as rows (`SyncRunWebinar`) synced by step tasks (zoom_integration/services/
sync_webinars.py): rows planned largest first and summed into the run; steps of several workers
sharing a run end where one does; a row whose worker stopped beating is claimed again, and the
old worker's next page is refused; the run ends exactly once; a webinar that fails for good
fails only its row; the queue interleaves connections' runs; pages that lose a deadlock, or
whose snapshot went stale, are applied again. DESIGN "How syncing runs"."""

import datetime as dt
import threading
from collections import deque

import psycopg.errors
import pytest
from django.db import OperationalError, connections
from django.db import connection as db_connection
from django.utils import timezone

from crm.models import Brand, Contact
from crm.stored_text import render_english
from marketing_events.models import Participation
from zoom_integration.models import SyncRun, SyncRunWebinar, ZoomConnection, ZoomWebinar
from zoom_integration.services import sync as sync_services
from zoom_integration.services import sync_webinars
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.services.sync import sync_run_execute, sync_run_request
from zoom_integration.services.sync_webinars import (
    STALE,
    sync_run_end_if_done,
    sync_run_row_claim,
    sync_run_step,
)
from zoom_integration.sync import listings
from zoom_integration.sync import pipeline as pipeline_module
from zoom_integration.sync.pipeline import ClaimLost, WebinarSync

from . import test_sync_generated as scenario
from .test_sync_generated import reset_crm, run_sync, world

generated = scenario.generated
connection = scenario.connection
pytestmark = pytest.mark.django_db
COUNTED = ("registrations", "attendance_rows", "webinars_synced", "zoom_records")
on_postgresql = pytest.mark.skipif(
    db_connection.vendor != "postgresql", reason="several workers at once: PostgreSQL"
)


def rows(run):
    return list(
        SyncRunWebinar.objects.filter(run=run)
        .order_by("position")
        .values_list("webinar__zoom_webinar_id", "state", "attempts")
    )


def started_run(connection, monkeypatch) -> SyncRun:
    """A run started (metadata, rows) whose steps are left to the test."""
    monkeypatch.setattr(sync_services, "_runs_inline", lambda: False)
    monkeypatch.setattr(sync_services, "_enqueue_steps", lambda run_id, count: None)
    run = sync_run_request(connection=ZoomConnection.objects.get(pk=connection.pk))
    run = sync_run_execute(run_id=run.pk)
    assert run.status == "running"
    return run


def test_a_run_is_a_row_per_webinar_summed_into_the_run(connection):
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    webinars = ZoomWebinar.objects.filter(connection=connection)
    assert sorted(w for w, _s, _a in rows(run)) == sorted(w.zoom_webinar_id for w in webinars)
    assert {(state, attempts) for _w, state, attempts in rows(run)} <= {
        ("done", 1),
        ("skipped", 1),
    }
    per_row = SyncRunWebinar.objects.filter(run=run).values_list("counts", flat=True)
    for key in COUNTED:
        assert run.counts[key] == sum(c.get(key, 0) for c in per_row), key
    records = sum(SyncRunWebinar.objects.filter(run=run).values_list("records_done", flat=True))
    assert run.counts["zoom_records"] == records > 100
    # Progress: every webinar and every Zoom record Zoom announced, all done.
    assert (
        run.progress_done
        == run.progress_total
        == len(webinars)
        + sum(SyncRunWebinar.objects.filter(run=run).values_list("records_total", flat=True))
    )


def test_rows_are_claimed_largest_first_and_never_twice(connection, monkeypatch):
    ZoomWebinar.objects.filter(connection=connection).update(size_hint=0)
    largest = ZoomWebinar.objects.filter(connection=connection).order_by("id").last()
    largest.size_hint = 500
    largest.save(update_fields=["size_hint"])
    run = started_run(connection, monkeypatch)
    first = sync_run_row_claim(run_id=run.pk, claim="a")
    second = sync_run_row_claim(run_id=run.pk, claim="b")
    assert first.webinar_id == largest.pk
    assert second.webinar_id != first.webinar_id
    assert (first.state, first.claimed_by, first.attempts) == ("running", "a", 1)


def test_a_row_whose_worker_stopped_beating_is_claimed_again(connection, monkeypatch):
    run = started_run(connection, monkeypatch)
    dead = sync_run_row_claim(run_id=run.pk, claim="dead")
    SyncRunWebinar.objects.exclude(pk=dead.pk).filter(run=run).update(state="done")
    # Beating recently: not claimable.
    assert sync_run_row_claim(run_id=run.pk, claim="new") is None
    SyncRunWebinar.objects.filter(pk=dead.pk).update(
        heartbeat_at=timezone.now() - STALE - dt.timedelta(seconds=1)
    )
    again = sync_run_row_claim(run_id=run.pk, claim="new")
    assert (again.pk, again.claimed_by, again.attempts) == (dead.pk, "new", 2)


def test_the_old_worker_of_a_reclaimed_row_has_its_page_refused(connection, monkeypatch):
    run = started_run(connection, monkeypatch)
    real_apply = WebinarSync._apply
    pages = {"n": 0}

    def taken_meanwhile(self, *args, **kwargs):
        pages["n"] += 1
        if pages["n"] == 2:  # another worker took the row while this one was away
            SyncRunWebinar.objects.filter(pk=self.row.pk).update(claimed_by="other")
        return real_apply(self, *args, **kwargs)

    monkeypatch.setattr(WebinarSync, "_apply", taken_meanwhile)
    monkeypatch.setattr(listings, "PAGE_SIZE", 5)
    row = sync_run_row_claim(run_id=run.pk, claim="me")
    ZoomWebinar.objects.filter(pk=row.webinar_id).update(registrants_synced_at=None)
    row.refresh_from_db()
    sync = WebinarSync(row, run.connection, _client(run.connection), claim="me")
    with pytest.raises(ClaimLost):
        sync.execute()
    row.refresh_from_db()
    # Only the first page counted; the second was rolled back with the refused row write.
    assert (row.claimed_by, row.pages_done) == ("other", 1)


def _client(connection):
    from zoom_integration.services.client import zoom_client

    return zoom_client(connection)


def test_the_beat_queues_a_stale_row_again_and_the_run_ends(connection, monkeypatch):
    from zoom_integration.tasks import resume_stale_runs

    clean_run = run_sync(connection)
    clean = world()
    reset_crm()
    run = started_run(connection, monkeypatch)
    dead = sync_run_row_claim(run_id=run.pk, claim="killed")
    while sync_run_step(run_id=run.pk):  # the other workers finish theirs
        pass
    run.refresh_from_db()
    assert run.status == "running"
    assert resume_stale_runs() == []  # its worker may be alive
    SyncRunWebinar.objects.filter(pk=dead.pk).update(
        heartbeat_at=timezone.now() - STALE - dt.timedelta(seconds=1)
    )
    # Tasks run inline here: the queued step claims the row and the run ends.
    assert resume_stale_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == "succeeded", run.errors
    assert SyncRunWebinar.objects.get(pk=dead.pk).attempts == 2
    assert world() == clean
    for key in COUNTED:
        assert run.counts[key] == clean_run.counts[key], key


def test_the_run_ends_once_however_many_steps_finish_at_once(connection, monkeypatch):
    ended = []
    monkeypatch.setattr(
        sync_webinars, "alerts_after_run", lambda *, run, cause, error: ended.append(run.pk)
    )
    run = started_run(connection, monkeypatch)
    while sync_run_step(run_id=run.pk):
        pass
    assert ended == [run.pk]
    assert sync_run_end_if_done(run_id=run.pk) is None
    assert ended == [run.pk]


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_ends_elect_one_step(connection, monkeypatch):
    ended = []
    monkeypatch.setattr(
        sync_webinars, "alerts_after_run", lambda *, run, cause, error: ended.append(run.pk)
    )
    run = started_run(connection, monkeypatch)
    SyncRunWebinar.objects.filter(run=run).update(state="done")
    start = threading.Barrier(4)
    results = []

    def finisher():
        try:
            start.wait(5)
            results.append(sync_run_end_if_done(run_id=run.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=finisher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len([r for r in results if r is not None]) == 1
    assert ended == [run.pk]
    assert SyncRun.objects.get(pk=run.pk).status == "succeeded"


def _workers_share(run, count: int) -> None:
    """`count` workers (threads, each with its own database connection) step through the run
    until none has a row left."""

    def worker(name):
        try:
            while sync_run_step(run_id=run.pk, claim=name):
                pass
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_workers_sharing_a_run_end_where_one_does(generated, connection, monkeypatch):
    first = run_sync(connection)
    clean = world()
    reset_crm()
    run = started_run(connection, monkeypatch)
    _workers_share(run, 3)
    run.refresh_from_db()
    assert run.status == "succeeded", run.errors
    claims = set(SyncRunWebinar.objects.filter(run=run).values_list("claimed_by", flat=True))
    assert len(claims) >= 2  # the run was shared
    assert world() == clean
    for key in COUNTED:
        assert run.counts[key] == first.counts[key], key


def test_a_webinar_failing_for_good_fails_only_its_row(zoom_sandbox, connection):
    # A webinar's registrants are refused (400: not transient, not retried); the others sync.
    broken = (
        ZoomWebinar.objects.filter(connection=connection, is_zoom_events=False)
        .order_by("id")
        .first()
    )
    ZoomWebinar.objects.filter(pk=broken.pk).update(registrants_synced_at=None)
    zoom_sandbox.post(
        "/_sandbox/faults",
        json={
            "rules": [
                {
                    "path": rf"/webinars/{broken.zoom_webinar_id}/registrants$",
                    "status": 400,
                    "times": 99,
                }
            ]
        },
    ).raise_for_status()
    run = run_sync(connection)
    assert run.status == "failed"
    states = {w: s for w, s, _a in rows(run)}
    assert states.pop(broken.zoom_webinar_id) == "failed"
    assert set(states.values()) <= {"done", "skipped"} and "done" in states.values()
    assert len(run.errors) == 1
    message = render_english(run.errors[0])
    assert message.startswith(f"Webinar {broken.zoom_webinar_id}: Zoom answered with an error")
    # The other webinars' people are in.
    synced_events = set(
        Participation.objects.values_list("event__external_event_id", flat=True).distinct()
    )
    assert str(broken.zoom_webinar_id) not in synced_events and len(synced_events) >= 2


def two_connections(zoom_sandbox, capture) -> list[ZoomConnection]:
    """Two brands, each connected to its own generated Zoom account (4 webinars each)."""
    zoom_sandbox.post(
        "/_sandbox/generate", json={**scenario.GENERATE, "accounts": 2, "webinars": 4}
    ).raise_for_status()
    zoom_sandbox.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
    made = []
    for index, account in enumerate(zoom_sandbox.get("/_sandbox/state").json()["accounts"]):
        app = next(a for a in account["apps"] if a["type"] == "s2s")
        with capture(execute=True):
            made.append(
                connection_create_s2s(
                    brand=Brand.objects.create(name=f"Brand {index}", is_primary=index == 0),
                    account_id=account["id"],
                    client_id=app["client_id"],
                    client_secret=app["client_secret"],
                )
            )
        connection_settings_update(connection=made[-1], sync_webinar_data=True)
    return made


def test_the_queue_interleaves_connections_runs(
    zoom_sandbox, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # Each run keeps one step queued (ZOOM_SYNC_TASKS_PER_RUN=1) and queues the next behind
    # the others: a FIFO queue then alternates between runs, whatever their sizes.
    settings.ZOOM_SYNC_TASKS_PER_RUN = 1
    connections_ = two_connections(zoom_sandbox, django_capture_on_commit_callbacks)
    queue = deque()
    from zoom_integration import tasks

    monkeypatch.setattr(sync_services, "_runs_inline", lambda: False)
    monkeypatch.setattr(tasks.sync_run_step, "delay", queue.append)
    monkeypatch.setattr(
        sync_services, "_enqueue_steps", lambda run_id, count: queue.extend([run_id] * count)
    )
    runs = []
    for c in connections_:
        run = sync_run_request(connection=ZoomConnection.objects.get(pk=c.pk))
        with django_capture_on_commit_callbacks(execute=True):
            runs.append(sync_run_execute(run_id=run.pk).pk)
    order = []
    while queue:
        run_id = queue.popleft()
        order.append(run_id)
        tasks.sync_run_step.run(run_id)  # as a worker takes it
    per_run = ZoomWebinar.objects.filter(connection=connections_[0]).count()
    assert per_run == ZoomWebinar.objects.filter(connection=connections_[1]).count() >= 4
    # Alternating while both have webinars left (each chain ends with one empty step).
    assert order == runs * (per_run + 1)
    assert list(SyncRun.objects.values_list("status", flat=True)) == ["succeeded"] * 2


def test_a_page_that_loses_a_deadlock_is_applied_again(connection, monkeypatch):
    first = run_sync(connection)
    clean = world()
    reset_crm()
    real = pipeline_module.plan_apply
    failures = {"left": 3}

    def losing(*args, **kwargs):
        result = real(*args, **kwargs)  # written, then rolled back by the deadlock
        failures["left"] -= 1
        if failures["left"] >= 0:
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


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_page_naming_a_contact_deleted_meanwhile_is_planned_again(connection, monkeypatch):
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
    again = Contact.objects.get(email=victim.email)
    assert again.pk != victim.pk
    assert Participation.objects.filter(contact=again).exists()


def test_the_beat_restarts_a_run_whose_steps_were_lost(connection, monkeypatch):
    from zoom_integration.tasks import resume_stale_runs

    run = started_run(connection, monkeypatch)  # its steps never queued (lost)
    assert resume_stale_runs() == []  # just started: its steps may be on their way
    SyncRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - STALE - dt.timedelta(seconds=1)
    )
    assert resume_stale_runs() == [run.pk]  # tasks inline: the steps ran
    run.refresh_from_db()
    assert run.status == "succeeded", run.errors
    assert {state for _w, state, _a in rows(run)} <= {"done", "skipped"}


def _live_reads(run, marketer_api, client):
    """The run's counts and skips as the API (one run, the list) and its pages show them, with
    the queries each took."""
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    seen, queries = {}, {}
    with CaptureQueriesContext(conn) as ctx:
        body = marketer_api.get(f"/api/v1/zoom/sync-runs/{run.pk}/").json()
    seen["detail"], queries["detail"] = (body["counts"], body["skips"]), len(ctx)
    with CaptureQueriesContext(conn) as ctx:
        body = marketer_api.get(f"/api/v1/zoom/connections/{run.connection_id}/sync-runs/").json()
    (listed,) = [r for r in body["results"] if r["id"] == run.pk]
    seen["list"], queries["list"] = (listed["counts"], listed["skips"]), len(ctx)
    with CaptureQueriesContext(conn) as ctx:
        page = client.get(reverse("zoom_integration:sync_run", args=[run.pk]))
    assert page.status_code == 200
    seen["page"], queries["page"] = page.context["run"], len(ctx)
    with CaptureQueriesContext(conn) as ctx:
        home = client.get(
            reverse("zoom_integration:sync_runs", args=[run.connection_id]), HTTP_HX_REQUEST="true"
        )
    (row,) = [r for r in home.context["runs"] if r.pk == run.pk]
    seen["home"], queries["home"] = row, len(ctx)
    return seen, queries


def test_an_active_runs_counts_and_skips_are_its_rows_so_far(
    connection, monkeypatch, marketer_api, client, viewer
):
    # While a run runs, the API and its pages show what its webinars did so far (sums over its
    # rows and its listed skips), not only what its start counted; in constant queries.
    from zoom_integration.models import SyncSkip

    run = started_run(connection, monkeypatch)
    at_start = dict(run.counts)
    client.force_login(viewer)
    marketer_api.get(f"/api/v1/zoom/sync-runs/{run.pk}/")  # the token's last use, recorded once
    webinars = SyncRunWebinar.objects.filter(run=run).count()
    assert webinars >= 3
    reads = []
    for steps in (1, webinars - 1):
        while SyncRunWebinar.objects.filter(run=run, state="pending").count() > webinars - steps:
            assert sync_run_step(run_id=run.pk)
        run.refresh_from_db()
        assert run.status == "running"
        rows_so_far = SyncRunWebinar.objects.filter(run=run).values_list("counts", flat=True)
        expected_counts = dict(at_start)
        for key in {k for c in rows_so_far for k in c}:
            expected_counts[key] = sum(c.get(key, 0) for c in rows_so_far)
        expected_skips = {}
        for reason in SyncSkip.objects.filter(run=run).values_list("reason", flat=True):
            expected_skips[reason] = expected_skips.get(reason, 0) + 1
        assert expected_counts.get("zoom_records", 0) > 0
        seen, queries = _live_reads(run, marketer_api, client)
        assert seen["detail"] == (expected_counts, expected_skips)
        assert seen["list"] == (expected_counts, expected_skips)
        for key in ("page", "home"):
            assert (seen[key].counts, seen[key].skips) == (expected_counts, expected_skips), key
        # The run page lists a page of skipped people per reason (at most eight).
        queries["page"] -= len(expected_skips)
        reads.append((expected_skips, queries))
    assert reads[-1][0], "the scenario skips someone by the last step"
    # The same queries with one webinar done as with all but one (more rows, more skips): the
    # run (or a page of runs), its rows' counts, its skips per reason.
    assert reads[0][1] == reads[1][1] == {"detail": 4, "list": 5, "page": 7, "home": 6}


def _rollups_recomputed() -> dict[int, tuple]:
    """Every contact's rollups worked out here, from its participations alone (not through
    marketing_events.activity): events registered for and not cancelled, attended, cancelled,
    seconds attended, first and last attended, last registered."""
    from marketing_events.models import Participation

    out = {
        pk: [0, 0, 0, 0, None, None, None] for pk in Contact.objects.values_list("pk", flat=True)
    }
    for contact_id, state, seconds, joined, registered_at in Participation.objects.values_list(
        "contact_id", "state", "duration_seconds", "first_join_at", "registered_at"
    ):
        r = out[contact_id]
        r[0] += state in ("REGISTERED", "ATTENDED")
        r[1] += state == "ATTENDED"
        r[2] += state == "CANCELLED"
        if state == "ATTENDED":
            r[3] += seconds
            if joined is not None:
                r[4] = joined if r[4] is None else min(r[4], joined)
                r[5] = joined if r[5] is None else max(r[5], joined)
        if registered_at is not None:
            r[6] = registered_at if r[6] is None else max(r[6], registered_at)
    return {pk: tuple(r) for pk, r in out.items()}


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_contact_rollups_equal_a_recomputation_after_a_multi_worker_run(
    generated, connection, monkeypatch
):
    # Three workers sync the run's webinars at once, many of the same people in several of
    # them: each contact's rollups (issue 21) must be what its participations add up to.
    from marketing_events.activity import activity_rebuild, stored_values

    run = started_run(connection, monkeypatch)
    _workers_share(run, 3)
    run.refresh_from_db()
    assert run.status == "succeeded", run.errors
    assert (
        len(set(SyncRunWebinar.objects.filter(run=run).values_list("claimed_by", flat=True))) >= 2
    )
    stored = stored_values(list(Contact.objects.values_list("pk", flat=True)))
    recomputed = _rollups_recomputed()
    assert stored == recomputed
    # Not a world of zeros: people registered for several webinars and attended. (A first
    # sync lists no cancelled registrants: Zoom's listing holds approved ones.)
    assert sum(r[1] for r in recomputed.values()) > 0
    assert max(r[0] for r in recomputed.values()) >= 2
    assert sum(r[3] for r in recomputed.values()) > 0
    assert all(r[6] is not None for r in recomputed.values() if r[0])
    # And the product's own check agrees.
    drift = activity_rebuild(fix=False)
    assert (drift.checked, drift.drifted) == (len(recomputed), 0)
