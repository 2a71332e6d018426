"""Over real HTTP with real processes: the sandbox's live simulation (register, join, leave,
rejoin, end) sends signed webhooks to the running CRM server; a real Celery worker process
applies them. The participation and timeline follow, and after the end the duration equals the
merged-overlap duration the pull sync computes."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from crm.models import Brand, TimelineEntry
from marketing_events.models import Participation
from tests.support.worker import running_worker, wait_for
from tests.zoom_integration.scenario import ACME, S2S
from zoom_integration.models import ZoomConnection
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.services.metadata import connection_metadata_refresh

ROOT = Path(__file__).resolve().parents[2]
LIVE_ID = 84000000088
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(tmp_path, zoom_sandbox_url):
    """A real Celery worker on the broker this process uses (the filesystem broker by default,
    Redis when CELERY_BROKER_URL says so; the worker inherits the environment). Tasks stop
    running inline for the test."""
    env = {"ZOOM_API_BASE_URL": f"{zoom_sandbox_url}/v2", "ZOOM_OAUTH_BASE_URL": zoom_sandbox_url}
    with running_worker(tmp_path / "worker.log", env):
        yield tmp_path / "worker.log"


def test_live_simulation_reaches_the_crm_through_a_real_worker(
    live_server, zoom_sandbox, worker, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    brand = Brand.objects.create(name="Acme", is_primary=True)
    connection = connection_create_s2s(
        brand=brand, account_id=ACME, webhook_secret_token="live-secret", **S2S
    )
    connection_metadata_refresh(connection=connection)
    connection_settings_update(connection=connection, sync_webinar_data=True)
    state = zoom_sandbox.get("/_sandbox/state").json()
    account = next(a for a in state["accounts"] if a["id"] == ACME)
    account["webinars"].append(
        {
            "id": LIVE_ID,
            "host_id": "u_partner",
            "topic": "Live demo",
            "type": 5,
            "start_time": (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": 60,
            "timezone": "UTC",
            "registration_required": True,
            "registrants": [],
        }
    )
    zoom_sandbox.post("/_sandbox/accounts", json=account).raise_for_status()
    zoom_sandbox.post(
        f"/_sandbox/accounts/{ACME}/webhook",
        json={"url": connection.webhook_url, "secret_token": "live-secret"},
    ).raise_for_status()
    validation = zoom_sandbox.post("/_sandbox/webhooks/validate", json={"account_id": ACME})
    assert validation.json()["valid"] is True

    ana = zoom_sandbox.post(
        "/_sandbox/registrants",
        json={
            "webinar_id": LIVE_ID,
            "email": "ana@example.com",
            "first_name": "Ana",
            "last_name": "Silva",
        },
    ).json()
    participation = Participation.objects.filter(contact__email="ana@example.com")
    wait_for(lambda: participation.filter(state="REGISTERED").exists(), log=worker)

    live = f"/_sandbox/live/{LIVE_ID}"
    joined = zoom_sandbox.post(f"{live}/join", json={"name": "Ana", "registrant_id": ana["id"]})
    wait_for(lambda: participation.filter(state="ATTENDED", provisional=True).exists(), log=worker)
    contact = participation.get().contact
    assert TimelineEntry.objects.filter(contact=contact, kind="zoom_webinar_attended").exists()

    # The sandbox signs with its own clock: moving it more than five minutes ahead would make
    # its deliveries stale for the CRM (rejected, as they must be).
    zoom_sandbox.post("/_sandbox/clock", json={"advance_seconds": 120})
    zoom_sandbox.post(
        f"{live}/leave", json={"participant_user_id": joined.json()["participant_user_id"]}
    )
    zoom_sandbox.post("/_sandbox/clock", json={"advance_seconds": 30})
    zoom_sandbox.post(f"{live}/join", json={"name": "Ana", "registrant_id": ana["id"]})
    zoom_sandbox.post("/_sandbox/clock", json={"advance_seconds": 120})
    zoom_sandbox.post(f"{live}/end").raise_for_status()
    wait_for(
        lambda: participation.filter(provisional=False, duration_seconds__gt=0).exists(), log=worker
    )
    by_webhooks = participation.get()
    # The sandbox's own rows for Ana: about two minutes, half a minute away, two more.
    rows = [
        row
        for w in next(
            a for a in zoom_sandbox.get("/_sandbox/state").json()["accounts"] if a["id"] == ACME
        )["webinars"]
        if w["id"] == LIVE_ID
        for i in w["instances"]
        for row in i["participants"]
    ]
    assert len(rows) == 2
    expected = sum(
        (
            datetime.fromisoformat(r["leave_time"].replace("Z", "+00:00"))
            - datetime.fromisoformat(r["join_time"].replace("Z", "+00:00"))
        ).total_seconds()
        for r in rows
    )  # disjoint sessions: merged = summed
    assert 235 <= expected <= 250
    assert by_webhooks.duration_seconds == int(expected)

    # The pull sync of the same scenario computes the same duration (its steps run in the
    # worker, as "Sync now" queues them).
    from zoom_integration.models import SyncRun
    from zoom_integration.services.sync import sync_run_request

    run = sync_run_request(connection=ZoomConnection.objects.get(pk=connection.pk))
    wait_for(lambda: SyncRun.objects.get(pk=run.pk).finished_at is not None, log=worker)
    assert SyncRun.objects.get(pk=run.pk).status == "succeeded"
    by_pull = participation.get()
    assert (by_pull.duration_seconds, by_pull.attendance_percent) == (
        by_webhooks.duration_seconds,
        by_webhooks.attendance_percent,
    )
    deliveries = httpx.get(f"{zoom_sandbox.base_url}/_sandbox/webhooks").json()["deliveries"]
    assert {d["state"] for d in deliveries if d["account_id"] == ACME} == {"delivered"}
