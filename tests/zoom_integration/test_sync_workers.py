"""The run as rows and tasks with real Celery worker processes on PostgreSQL (DESIGN "How
syncing runs"; zoom_integration/services/sync_webinars.py): a worker SIGKILLed in the middle
of a webinar, and a new one started with the beat, finish the run in the state a clean run
leaves, the killed worker's webinar taken up again within 60 s; two connections' runs at once
share one worker, interleaved, and a webinar failing for good fails only its row."""

import os
import signal
import time

import pytest
from django.db import connection as db_connection

from tests.support.worker import reachable_redis_url, running_worker, wait_for
from zoom_integration.models import SyncRun, SyncRunWebinar, ZoomConnection, ZoomWebinar
from zoom_integration.services.sync import sync_run_request

from . import test_sync_generated as scenario
from .test_sync_generated import reset_crm, run_sync, world
from .test_sync_rows import two_connections

generated = scenario.generated
connection = scenario.connection

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(db_connection.vendor != "postgresql", reason="workers share PostgreSQL"),
]


@pytest.fixture
def shared_cache(settings):
    """A Redis cache that this process and the workers share (the per-account rate limiter)."""
    url = reachable_redis_url(int(os.environ.get("TEST_WORKERS_REDIS_DB", "13")))
    if url is None:
        pytest.skip("needs Redis (REDIS_URL or 127.0.0.1:6379) for the workers' shared cache")
    settings.CACHES = {"default": {"BACKEND": "crm.cache.ReusedClientRedisCache", "LOCATION": url}}
    return url


def worker_env(zoom_sandbox_url, cache_url, **extra) -> dict[str, str]:
    return {
        "REDIS_URL": cache_url,
        "ZOOM_API_BASE_URL": f"{zoom_sandbox_url}/v2",
        "ZOOM_OAUTH_BASE_URL": zoom_sandbox_url,
        **extra,
    }


def test_a_worker_killed_mid_webinar_is_taken_over_within_a_minute(
    connection, zoom_sandbox, zoom_sandbox_url, shared_cache, tmp_path
):
    clean_run = run_sync(connection)  # inline, as the reference
    clean = world()
    reset_crm()
    # Zoom answers slowly, so the worker is surely killed in the middle of a webinar.
    zoom_sandbox.post(
        "/_sandbox/faults",
        json={"rules": [{"path": "/(registrants|participants)$", "delay_ms": 400, "times": 999}]},
    ).raise_for_status()
    env = worker_env(zoom_sandbox_url, shared_cache)
    with running_worker(tmp_path / "first.log", env) as first:
        run = sync_run_request(connection=ZoomConnection.objects.get(pk=connection.pk))
        busy = SyncRunWebinar.objects.filter(run_id=run.pk, state="running", pages_done__gte=1)
        wait_for(busy.exists, timeout=60, log=tmp_path / "first.log")
        victim = busy.first()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed_at = time.monotonic()
        assert SyncRun.objects.get(pk=run.pk).status == "running"
        # A new worker, with the beat that sweeps stale rows (every 15 s).
        beat = ("--beat", f"--schedule={tmp_path / 'beat-schedule'}")
        with running_worker(tmp_path / "second.log", env, args=beat, locked=False):
            taken = SyncRunWebinar.objects.filter(pk=victim.pk, attempts=2)
            wait_for(taken.exists, timeout=90, log=tmp_path / "second.log")
            taken_after = time.monotonic() - killed_at
            wait_for(
                lambda: SyncRun.objects.get(pk=run.pk).finished_at is not None,
                timeout=120,
                log=tmp_path / "second.log",
            )
    run = SyncRun.objects.get(pk=run.pk)
    assert run.status == "succeeded", run.errors
    assert taken_after <= 60, taken_after
    assert SyncRunWebinar.objects.get(pk=victim.pk).state == "done"
    assert world() == clean
    # Every webinar counted once (what Zoom served twice is counted as served).
    assert run.counts["webinars_synced"] == clean_run.counts["webinars_synced"]


def test_two_connections_runs_share_a_worker_and_a_failing_webinar_fails_its_row(
    zoom_sandbox, zoom_sandbox_url, shared_cache, tmp_path, django_capture_on_commit_callbacks
):
    first, second = two_connections(zoom_sandbox, django_capture_on_commit_callbacks)
    broken = ZoomWebinar.objects.filter(connection=second, is_zoom_events=False).first()
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
    env = worker_env(zoom_sandbox_url, shared_cache, ZOOM_SYNC_TASKS_PER_RUN="1")
    with running_worker(tmp_path / "worker.log", env):
        runs = [
            sync_run_request(connection=ZoomConnection.objects.get(pk=c.pk))
            for c in (first, second)
        ]
        ids = [run.pk for run in runs]
        wait_for(
            lambda: not SyncRun.objects.filter(pk__in=ids, finished_at__isnull=True).exists(),
            timeout=120,
            log=tmp_path / "worker.log",
        )
    done, failed = (SyncRun.objects.get(pk=pk) for pk in ids)
    assert (done.status, failed.status) == ("succeeded", "failed")
    assert failed.errors and len(failed.errors) == 1
    states = dict(SyncRunWebinar.objects.filter(run=failed).values_list("webinar_id", "state"))
    assert states.pop(broken.pk) == "failed"
    assert "done" in states.values() and "failed" not in states.values()
    # One step of each run at a time in the queue: the worker alternated between them.
    order = list(
        SyncRunWebinar.objects.filter(run_id__in=ids)
        .order_by("started_at")
        .values_list("run_id", flat=True)
    )
    assert order[:6] == [ids[0], ids[1]] * 3, order
