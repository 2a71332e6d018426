"""How stored deliveries reach the worker (rule B4): one drain per connection is queued or
running at a time, flagged in the shared cache from the moment it is queued until it ends; it
applies what is pending in batches, then hands the flag back and looks once more, so that a
delivery stored while it ran is never left behind. Tests run tasks inline and the cache is
local memory, so the shared cache is simulated and queued drains are recorded, not run."""

import json
import time

import pytest
from django.core.cache import cache
from django.utils import timezone

from crm.models import Brand
from marketing_events.models import Participation
from tests.zoom_integration.test_webhooks import independent_signature
from zoom_integration import tasks
from zoom_integration.models import ConnectionStatus, WebhookDelivery, ZoomConnection, ZoomUser
from zoom_integration.webhooks import counting, processing, receiver

pytestmark = pytest.mark.django_db
SECRET = "drain-secret"
WEBINAR_ID = 86000000001


@pytest.fixture
def connection(db):
    connection = ZoomConnection.objects.create(
        brand=Brand.objects.create(name="Acme", is_primary=True),
        kind="s2s",
        status=ConnectionStatus.CONNECTED,
        zoom_account_id="acct-drain",
        client_id="cid",
        client_secret="secret",
        webhook_secret_token=SECRET,
        connected_at=timezone.now(),
        sync_webinar_data=True,
    )
    ZoomUser.objects.create(connection=connection, zoom_user_id="u_host", email="host@acme.test")
    return connection


@pytest.fixture
def queued(monkeypatch):
    """A shared cache, and the drains queued instead of run: (kwargs, countdown) each."""
    calls = []
    monkeypatch.setattr(receiver, "shared_cache", lambda: True)
    monkeypatch.setattr(
        tasks.process_webhook,
        "apply_async",
        lambda kwargs, countdown=None: calls.append((kwargs, countdown)),
    )
    monkeypatch.setattr(
        tasks.process_webhook, "delay", lambda **kwargs: calls.append((kwargs, None))
    )
    cache.clear()
    yield calls
    cache.clear()


def registration(n: int) -> dict:
    return {
        "event": "webinar.registration_created",
        "event_ts": 1_700_000_000_000 + n,
        "payload": {
            "account_id": "acct-drain",
            "object": {
                "id": WEBINAR_ID,
                "uuid": "drainUuid==",
                "host_id": "u_host",
                "topic": "Drain webinar",
                "type": 5,
                "start_time": "2030-01-01T10:00:00Z",
                "duration": 60,
                "timezone": "UTC",
                "registrant": {
                    "id": f"r{n}",
                    "email": f"person{n}@drain.test",
                    "first_name": "P",
                    "last_name": str(n),
                    "status": "approved",
                    "create_time": "2029-12-01T10:00:00Z",
                },
            },
        },
    }


def post(client, connection, envelope):
    body = json.dumps(envelope, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    return client.post(
        f"/integrations/zoom/webhooks/{connection.pk}/",
        body,
        content_type="application/json",
        HTTP_X_ZM_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_ZM_SIGNATURE=independent_signature(SECRET, timestamp, body),
    )


def deliver(client, connection, numbers, capture):
    for n in numbers:
        with capture(execute=True):
            assert post(client, connection, registration(n)).json() == {"status": "accepted"}


def flag_held(connection) -> bool:
    return cache.get(receiver.pending_flag(connection.pk)) is not None


def test_a_burst_queues_one_drain_after_the_gathering_delay(
    client, connection, queued, django_capture_on_commit_callbacks
):
    deliver(client, connection, range(5), django_capture_on_commit_callbacks)
    assert queued == [({"connection_id": connection.pk}, receiver.GATHER_SECONDS)]
    assert flag_held(connection)
    assert WebhookDelivery.objects.filter(status="received").count() == 5


def test_the_drain_applies_everything_pending_then_hands_the_flag_back(
    client, connection, queued, django_capture_on_commit_callbacks
):
    deliver(client, connection, range(5), django_capture_on_commit_callbacks)
    assert tasks.process_webhook(connection_id=connection.pk) == 5
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"applied"}
    assert Participation.objects.count() == 5
    assert not flag_held(connection)
    assert len(queued) == 1  # nothing was left to queue a drain for
    deliver(client, connection, [5], django_capture_on_commit_callbacks)
    assert len(queued) == 2  # the next delivery queues the next drain


def test_a_delivery_stored_while_the_drain_runs_is_not_left_behind(
    client, connection, queued, django_capture_on_commit_callbacks, monkeypatch
):
    deliver(client, connection, range(3), django_capture_on_commit_callbacks)
    real = processing.deliveries_process_pending

    def drain_while_one_more_arrives(*, connection_id):
        applied = real(connection_id=connection_id)
        if applied:
            # Arrives after the batch was read: the flag is held, so it queues nothing itself.
            deliver(client, connection, [99], django_capture_on_commit_callbacks)
        return applied

    monkeypatch.setattr(processing, "deliveries_process_pending", drain_while_one_more_arrives)
    assert tasks.process_webhook(connection_id=connection.pk) == 3
    late = WebhookDelivery.objects.get(payload__object__registrant__id="r99")
    assert late.status == "received"
    # Looking again after handing the flag back, the drain queued the next one for it.
    assert len(queued) == 2 and flag_held(connection)
    monkeypatch.setattr(processing, "deliveries_process_pending", real)
    assert tasks.process_webhook(**queued[1][0]) == 1
    late.refresh_from_db()
    assert late.status == "applied"
    assert not flag_held(connection) and len(queued) == 2


def test_a_backlog_is_drained_in_full_batches(
    client, connection, queued, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(processing, "BATCH_SIZE", 2)
    deliver(client, connection, range(5), django_capture_on_commit_callbacks)
    assert tasks.process_webhook(connection_id=connection.pk) == 5  # 2 + 2 + 1
    assert not WebhookDelivery.objects.filter(status="received").exists()


def test_a_failing_drain_hands_the_flag_back_without_looping(
    client, connection, queued, django_capture_on_commit_callbacks, monkeypatch
):
    deliver(client, connection, range(2), django_capture_on_commit_callbacks)

    def broken(*, connection_id):
        raise RuntimeError("database went away")

    monkeypatch.setattr(processing, "deliveries_process_pending", broken)
    with pytest.raises(RuntimeError):
        tasks.process_webhook(connection_id=connection.pk)
    assert not flag_held(connection)
    assert len(queued) == 1  # not queued again at once: the next delivery does it
    assert WebhookDelivery.objects.filter(status="received").count() == 2


def test_without_a_shared_cache_every_delivery_queues_its_drain(
    client, connection, queued, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(receiver, "shared_cache", lambda: False)
    deliver(client, connection, range(3), django_capture_on_commit_callbacks)
    assert queued == [({"connection_id": connection.pk}, None)] * 3


def test_a_replay_queues_nothing(client, connection, queued, django_capture_on_commit_callbacks):
    deliver(client, connection, [1], django_capture_on_commit_callbacks)
    tasks.process_webhook(connection_id=connection.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, connection, registration(1)).json() == {"status": "duplicate"}
    assert len(queued) == 1
    assert WebhookDelivery.objects.get().status == "applied"


def test_a_batch_that_lost_a_deadlock_is_applied_again_once(
    client, connection, queued, django_capture_on_commit_callbacks, monkeypatch
):
    # The batch's registrations lock contacts that a sync page of another webinar locks too;
    # PostgreSQL ends one of the two with a deadlock error. The drain's transaction is rolled
    # back whole and the batch taken again: every delivery applied once, nothing twice.
    import psycopg.errors
    from django.db import OperationalError

    deliver(client, connection, range(3), django_capture_on_commit_callbacks)
    real = processing._apply_registration_group
    attempts = []

    def loses_the_first_time(group, tally):
        attempts.append(len(group))
        real(group, tally)  # written, then rolled back with the deadlock
        if len(attempts) == 1:
            error = OperationalError("deadlock detected")
            error.__cause__ = psycopg.errors.DeadlockDetected()
            raise error

    monkeypatch.setattr(processing, "_apply_registration_group", loses_the_first_time)
    sent = []
    monkeypatch.setattr(counting, "counters_add", sent.append)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert tasks.process_webhook(connection_id=connection.pk) == 3
    assert attempts == [3, 3]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"applied"}
    assert Participation.objects.count() == 3
    # The rolled-back attempt's statuses are not counted: one /metrics callback, for the last.
    counted = [c for c in callbacks if "count_on_commit" in c.__qualname__]
    assert len(counted) == 1
    counted[0]()
    applied = counting.counter_key(counting.DELIVERIES_COUNTER, "applied")
    assert [increments[applied] for increments in sent] == [3]
