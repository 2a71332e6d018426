"""A run shared between processes (`ZOOM_SYNC_PROCESSES`): the main share and helper tasks
claim webinars from one list (the largest first), each merging its progress and counts into
the run's row. The generated scenario ends in the same state as with one process, with the
same counts; a helper that fails hands its webinars back, one gone silent loses them to the
main share; and a real Celery worker process takes a share.

Here a helper is a thread with its own database connection standing for another worker
process (the last test uses a real one). These tests commit for real (`transaction=True`)."""

import logging
import threading
import time

import pytest
from django.db import connection as db_connection
from django.db import connections

from tests.support.worker import reachable_redis_url, running_worker
from zoom_integration.models import SyncRun, ZoomWebinar
from zoom_integration.services.sync import sync_run_execute, sync_run_share
from zoom_integration.sync import pipeline as pipeline_module
from zoom_integration.sync.pipeline import MAIN_SHARE, Pipeline

from . import test_sync_generated as scenario
from .test_sync_generated import WorkerKilled, oracle, reset_crm, run_sync, synced, world

generated = scenario.generated
connection = scenario.connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        db_connection.vendor != "postgresql", reason="shared runs happen on PostgreSQL only"
    ),
]
COUNTED = ("registrations", "attendance_rows", "webinars_synced", "zoom_records")


@pytest.fixture
def helper_threads(monkeypatch, settings):
    """The run wants one helper, started as a thread (another process, as far as the database
    and the run's row can tell). Yields the threads started."""
    from django.conf import settings as live

    settings.ZOOM_SYNC_PROCESSES = 2
    threads = []
    monkeypatch.setattr(
        Pipeline, "helpers_wanted", lambda self, webinars: int(live.ZOOM_SYNC_PROCESSES > 1)
    )

    def start(self, share):
        def helper():
            try:
                sync_run_share(run_id=self.run.pk, share=share)
            except WorkerKilled:
                pass  # the process died
            finally:
                connections.close_all()

        thread = threading.Thread(target=helper, name=f"helper-{share}")
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(Pipeline, "_enqueue_helper", start)
    yield threads
    for thread in threads:
        thread.join(timeout=30)


def one_process_world(connection, settings) -> dict:
    """The state a run in one process leaves; the CRM is emptied after, and the next runs
    share (`ZOOM_SYNC_PROCESSES` = 2)."""
    settings.ZOOM_SYNC_PROCESSES = 1
    run_sync(connection)
    clean = world()
    reset_crm()
    settings.ZOOM_SYNC_PROCESSES = 2
    return clean


def owners(run: SyncRun) -> set[str]:
    """The shares that applied the run's webinars."""
    run.refresh_from_db(fields=["claims", "shares"])
    return set(run.claims.values())


def test_a_shared_run_ends_where_one_process_does(generated, connection, settings, helper_threads):
    state, now = generated
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    assert len(helper_threads) == 1
    # Both shares applied webinars.
    assert MAIN_SHARE in owners(run) and len(owners(run)) == 2
    assert synced() == oracle(state, now)
    shared = world()
    counts = {key: run.counts[key] for key in COUNTED}
    skips = run.skips
    assert run.progress_done == run.progress_total

    reset_crm()
    settings.ZOOM_SYNC_PROCESSES = 1
    run = run_sync(connection)
    assert run.claims == {}
    assert world() == shared
    # Every page counted once, whichever process applied it; every skip listed once.
    assert {key: run.counts[key] for key in COUNTED} == counts
    assert run.skips == skips


def test_a_helper_that_fails_hands_its_webinars_back(
    connection, settings, helper_threads, monkeypatch, caplog
):
    clean = one_process_world(connection, settings)
    real_apply = Pipeline._apply

    failed = []

    def failing_in_helpers(self, plan_page, webinar, **kwargs):
        if self.share != MAIN_SHARE:
            failed.append(webinar.zoom_webinar_id)
            raise RuntimeError("helper broke")
        return real_apply(self, plan_page, webinar, **kwargs)

    monkeypatch.setattr(Pipeline, "_apply", failing_in_helpers)
    with caplog.at_level(logging.ERROR, logger="zoom_integration.services.sync"):
        run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    owners(run)
    assert failed
    # What the helper held went back, and the main share applied it.
    assert {run.claims[str(webinar)] for webinar in failed} == {MAIN_SHARE}
    assert set(failed) <= set(run.done_webinars)
    assert run.shares == {}  # the helper left
    assert any(r.getMessage() == "zoom.sync.share_failed" for r in caplog.records)
    assert world() == clean


def test_a_helper_gone_silent_loses_its_webinars_to_the_main_share(
    connection, settings, helper_threads, monkeypatch
):
    clean = one_process_world(connection, settings)
    monkeypatch.setattr(pipeline_module, "SHARE_STALE_SECONDS", 1.0)
    real_apply = Pipeline._apply

    killed = []

    def killed_in_helpers(self, plan_page, webinar, **kwargs):
        if self.share != MAIN_SHARE:
            killed.append(webinar.zoom_webinar_id)
            raise WorkerKilled  # SIGKILL: nothing runs after it...
        return real_apply(self, plan_page, webinar, **kwargs)

    monkeypatch.setattr(Pipeline, "_apply", killed_in_helpers)
    monkeypatch.setattr(Pipeline, "_release", lambda self: None)  # ...not even the release
    run = run_sync(connection)
    assert run.status == "succeeded", run.errors
    # The helper's claims stayed on the row until the main share took them over.
    owners(run)
    assert killed
    assert {run.claims[str(webinar)] for webinar in killed} == {MAIN_SHARE}
    assert set(killed) <= set(run.done_webinars)
    assert len(run.shares) == 1  # the dead helper's last report
    assert world() == clean


def test_a_failed_run_stops_its_helpers(
    zoom_sandbox, connection, settings, helper_threads, monkeypatch
):
    # Every registrants listing is refused (400): not transient, so the run fails.
    zoom_sandbox.post(
        "/_sandbox/faults", json={"rules": [{"path": r"/registrants$", "status": 400, "times": 99}]}
    ).raise_for_status()
    run = run_sync(connection)
    assert run.status == "failed"
    assert helper_threads
    for thread in helper_threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    run.refresh_from_db()
    assert run.status == "failed"  # no helper wrote over the end
    assert run.shares == {}
    assert len(run.done_webinars) < ZoomWebinar.objects.filter(connection=connection).count()


def test_helpers_are_wanted_only_where_a_run_can_be_shared(connection, settings, monkeypatch):
    from celery import current_app
    from django.db import transaction

    pipeline = Pipeline(SyncRun(connection=connection, pk=1), connection, client=None)
    settings.ZOOM_SYNC_PROCESSES = 3
    monkeypatch.setattr(pipeline_module, "_cache_is_shared", lambda: True)
    current_app.conf.update(task_always_eager=False, CELERY_TASK_ALWAYS_EAGER=False)
    try:
        assert pipeline.helpers_wanted(8) == 2
        assert pipeline.helpers_wanted(2) == 1  # one webinar each
        assert pipeline.helpers_wanted(1) == 0
        settings.ZOOM_SYNC_PROCESSES = 1
        assert pipeline.helpers_wanted(8) == 0
        settings.ZOOM_SYNC_PROCESSES = 3
        with transaction.atomic():  # other connections would not see the caller's writes
            assert pipeline.helpers_wanted(8) == 0
        # A cache of this process only: each process would keep its own rate limiter.
        monkeypatch.setattr(pipeline_module, "_cache_is_shared", lambda: False)
        assert pipeline.helpers_wanted(8) == 0
        monkeypatch.setattr(pipeline_module, "_cache_is_shared", lambda: True)
        assert pipeline.helpers_wanted(8) == 2
    finally:
        current_app.conf.update(task_always_eager=True, CELERY_TASK_ALWAYS_EAGER=True)
    # Tasks run inline: a helper would run before the main share starts, in its thread.
    assert pipeline.helpers_wanted(8) == 0


@pytest.mark.integration
def test_a_real_worker_process_takes_a_share(
    connection, settings, zoom_sandbox_url, tmp_path, monkeypatch
):
    url = reachable_redis_url(13)
    if url is None:
        pytest.skip("needs Redis (REDIS_URL or 127.0.0.1:6379) for the workers' shared cache")
    clean = one_process_world(connection, settings)
    settings.CACHES = {"default": {"BACKEND": "crm.cache.ReusedClientRedisCache", "LOCATION": url}}
    # The main share (this process) goes slowly, so the worker surely claims webinars.
    real_apply = Pipeline._apply

    def slow_apply(self, *args, **kwargs):
        time.sleep(0.3)
        return real_apply(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "_apply", slow_apply)
    env = {
        "REDIS_URL": url,
        "ZOOM_API_BASE_URL": f"{zoom_sandbox_url}/v2",
        "ZOOM_OAUTH_BASE_URL": zoom_sandbox_url,
    }
    with running_worker(tmp_path / "worker.log", env) as log:
        # The run itself is executed here (as its worker would), not queued.
        monkeypatch.setattr("zoom_integration.services.sync._enqueue", lambda run_id: None)
        run = run_sync(connection)
        assert run.status == "succeeded", run.errors
        assert "run_sync_share" in log.read_text()
        assert MAIN_SHARE in owners(run) and len(owners(run)) == 2, log.read_text()[-3000:]
        assert world() == clean


def test_a_resumed_run_waits_for_a_helper_of_its_last_attempt(connection, settings, monkeypatch):
    clean = one_process_world(connection, settings)
    settings.ZOOM_SYNC_PROCESSES = 1  # no helper of its own: only the last attempt's
    # The run's process died while a helper held the last webinar; the helper still reports.
    monkeypatch.setattr(pipeline_module, "SHARE_STALE_SECONDS", 1.5)
    last = ZoomWebinar.objects.filter(connection=connection).order_by("start_time", "id").last()
    run = SyncRun.objects.create(
        connection=connection,
        trigger="manual",
        status="running",
        claims={str(last.zoom_webinar_id): "ghost"},
        shares={"ghost": time.time()},
    )
    applied = []
    real_sync_webinar = Pipeline.sync_webinar

    def recording(self, webinar, fetch=None):
        applied.append((webinar.zoom_webinar_id, time.monotonic()))
        return real_sync_webinar(self, webinar, fetch)

    monkeypatch.setattr(Pipeline, "sync_webinar", recording)
    started = time.monotonic()
    resumed = sync_run_execute(run_id=run.pk, resume=True)
    assert resumed.status == "succeeded", resumed.errors
    # The helper's webinar was left to it until it went silent, then taken back.
    at = dict(applied)[last.zoom_webinar_id]
    assert at - started >= 1.4
    assert [wid for wid, _ in applied].count(last.zoom_webinar_id) == 1
    assert owners(resumed) == {MAIN_SHARE}
    assert world() == clean
