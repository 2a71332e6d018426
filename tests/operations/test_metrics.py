"""/metrics (issue 22): Prometheus' text format behind METRICS_TOKEN; the figures move when a
sync runs, a webhook is delivered, a segment is counted; a constant number of queries.
Webhook deliveries are counted when they reach a final status, after the commit, not by
scanning their table at every scrape (issue 22 follow-up)."""

import json
import time
import uuid
from datetime import timedelta

import pytest
import responses
from django.db import transaction
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from crm.counters import counters_add
from crm.models import Brand
from marketing_events.models import Participation
from segments.models import Segment
from segments.selectors import segment_count
from tests.support.worker import reachable_redis_url
from tests.zoom_integration.scenario import ACME, S2S
from tests.zoom_integration.test_webhook_drain import SECRET as DRAIN_SECRET
from tests.zoom_integration.test_webhook_drain import post as drain_post
from tests.zoom_integration.test_webhook_drain import registration
from tests.zoom_integration.test_webhooks import EVENT, SECRET, post
from zoom_integration.client import StaticTokenSource, ZoomClient, ZoomRateLimited, rate_label
from zoom_integration.models import (
    ConnectionStatus,
    SyncRun,
    WebhookDelivery,
    ZoomConnection,
    ZoomUser,
)
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.services.sync import sync_run_execute, sync_run_request
from zoom_integration.webhooks import counting, processing
from zoom_integration.webhooks.processing import deliveries_process_pending, delivery_process

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-123"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def read() -> dict[tuple[str, tuple], float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain; version=")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples
        }

    return read


def delta(before, after, name, **labels):
    key = (name, tuple(sorted(labels.items())))
    return after[key] - before.get(key, 0)


def test_no_token_setting_means_no_metrics_page(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN, "Bearer "])
def test_a_missing_or_wrong_token_is_401(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    kwargs = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"zoomcrm_" not in response.content


def test_every_family_is_there_on_an_empty_database(scrape):
    samples = scrape()
    assert samples[("zoomcrm_sync_runs_total", (("status", "succeeded"),))] == 0
    assert samples[("zoomcrm_sync_run_duration_seconds_count", ())] == 0
    assert samples[("zoomcrm_webhook_deliveries_total", (("status", "applied"),))] == 0
    assert samples[("zoomcrm_workflow_executions_total", (("status", "failed"),))] == 0
    assert samples[("zoomcrm_zoom_api_calls_total", (("label", "heavy"),))] == 0
    assert samples[("zoomcrm_sync_skips_total", (("reason", "no_email"),))] == 0
    # The tests' broker (kombu's filesystem broker, or Redis in CI) is read.
    assert samples[("zoomcrm_celery_queue_length_known", ())] == 1
    assert ("zoomcrm_celery_queue_length", (("queue", "celery"),)) in samples


def test_the_metrics_view_makes_a_constant_number_of_queries(scrape, django_assert_num_queries):
    # Sync runs by status, their sums and durations, open deliveries by status, executions by
    # status: four aggregate queries, whatever the rows. Deliveries by final status and their
    # latency come from the shared counters (one cache round trip), not from the table.
    def add_rows(n):
        for i in range(n):
            brand = Brand.objects.create(name=f"B {Brand.objects.count()}")
            connection = ZoomConnection.objects.create(brand=brand, kind="s2s", client_id="c")
            SyncRun.objects.create(connection=connection, trigger="api", status="succeeded")
            for status in ("received", "waiting", "applied", "ignored", "failed"):
                WebhookDelivery.objects.create(
                    connection=connection, delivery_key=f"{status}{i}", status=status
                )

    add_rows(1)
    with django_assert_num_queries(4):
        scrape()
    add_rows(5)
    with django_assert_num_queries(4):
        samples = scrape()
    assert samples[("zoomcrm_webhook_deliveries_open", (("status", "received"),))] == 6
    assert samples[("zoomcrm_webhook_deliveries_open", (("status", "waiting"),))] == 6


@pytest.fixture
def acme(db, zoom_sandbox, django_capture_on_commit_callbacks):
    brand = Brand.objects.create(name="Acme", is_primary=True)
    with django_capture_on_commit_callbacks(execute=True):
        connection = connection_create_s2s(
            brand=brand, account_id=ACME, webhook_secret_token=SECRET, **S2S
        )
    connection_settings_update(connection=connection, sync_webinar_data=True)
    return connection


def test_metrics_move_when_a_sync_runs(scrape, acme):
    before = scrape()
    run = sync_run_execute(
        run_id=sync_run_request(connection=ZoomConnection.objects.get(pk=acme.pk)).pk
    )
    after = scrape()
    assert run.status == "succeeded", run.errors
    assert delta(before, after, "zoomcrm_sync_runs_total", status="succeeded") == 1
    assert delta(before, after, "zoomcrm_sync_runs_total", status="failed") == 0
    assert delta(before, after, "zoomcrm_sync_records_read_total") == run.counts["zoom_records"]
    for kind in ("registrations", "attendance_rows", "contacts_created", "recordings"):
        assert delta(
            before, after, "zoomcrm_sync_records_written_total", kind=kind
        ) == run.counts.get(kind, 0), kind
    assert run.skips  # the scenario skips people for several reasons (rule Z9)
    for reason, n in run.skips.items():
        assert delta(before, after, "zoomcrm_sync_skips_total", reason=reason) == n, reason
    assert delta(before, after, "zoomcrm_sync_run_duration_seconds_count") == 1
    seconds = (run.finished_at - run.started_at).total_seconds()
    assert delta(before, after, "zoomcrm_sync_run_duration_seconds_sum") == pytest.approx(seconds)
    assert delta(before, after, "zoomcrm_sync_run_duration_seconds_bucket", le="+Inf") == 1
    # Every Zoom call of the run went through the rate limiter under a label.
    calls = sum(
        delta(before, after, "zoomcrm_zoom_api_calls_total", label=label)
        for label in ("light", "medium", "heavy")
    )
    assert calls >= run.counts["webinars_synced"]
    assert delta(before, after, "zoomcrm_zoom_api_rate_limited_total", label="medium") == 0


def test_webhook_metrics_move_with_deliveries(
    scrape, client, acme, django_capture_on_commit_callbacks
):
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, acme, EVENT).json() == {"status": "accepted"}
    assert post(client, acme, EVENT, secret="wrong").status_code == 401
    after = scrape()
    delivery = WebhookDelivery.objects.get()
    # Stored, then ended through the drain: ignored (a participant without an e-mail, rule Z2).
    assert (delivery.status, delivery.outcome) == ("ignored", "skipped: no_email")
    assert ended_deltas(before, after) == {"applied": 0, "ignored": 1, "failed": 0}
    assert delta(before, after, "zoomcrm_webhook_refused_total", reason="bad_signature") == 1
    assert delta(before, after, "zoomcrm_webhook_apply_latency_seconds_count") == 0
    assert after[("zoomcrm_webhook_deliveries_open", (("status", "received"),))] == 0


# -- deliveries counted when they end ------------------------------------------------------

FINAL = ("applied", "ignored", "failed")
LATENCY = "zoomcrm_webhook_apply_latency_seconds"


def ended_deltas(before, after) -> dict[str, float]:
    return {s: delta(before, after, "zoomcrm_webhook_deliveries_total", status=s) for s in FINAL}


@pytest.fixture
def drain_connection(db):
    """A connected account, without the sandbox: deliveries are stored as rows and applied."""
    connection = ZoomConnection.objects.create(
        brand=Brand.objects.create(name="Acme", is_primary=True),
        kind="s2s",
        status=ConnectionStatus.CONNECTED,
        zoom_account_id="acct-drain",
        client_id="cid",
        client_secret="secret",
        webhook_secret_token=DRAIN_SECRET,
        connected_at=timezone.now(),
        sync_webinar_data=True,
    )
    ZoomUser.objects.create(connection=connection, zoom_user_id="u_host", email="host@acme.test")
    return connection


def stored(connection, envelope, *, key, received_at=None) -> WebhookDelivery:
    return WebhookDelivery.objects.create(
        connection=connection,
        delivery_key=key,
        event=envelope["event"],
        event_ts=envelope["event_ts"],
        payload=envelope["payload"],
        received_at=received_at or timezone.now(),
    )


def envelope(event: str, obj: dict, account="acct-drain") -> dict:
    return {"event": event, "event_ts": 1, "payload": {"account_id": account, "object": obj}}


def test_deliveries_are_counted_by_final_status_when_they_end(
    scrape, drain_connection, django_capture_on_commit_callbacks, monkeypatch
):
    c = drain_connection
    for n in range(3):
        stored(c, registration(n), key=f"ok{n}")  # the grouped registration path: applied
    pending = registration(10)
    pending["payload"]["object"]["registrant"]["status"] = "pending"
    stored(c, pending, key="pending")  # ignored: pending approval
    no_webinar = registration(11)
    del no_webinar["payload"]["object"]["id"]
    stored(c, no_webinar, key="no-webinar")  # failed: a payload without a webinar id
    stored(c, registration(12) | {"payload": {"account_id": "other"}}, key="foreign")  # Z10
    stored(c, envelope("meeting.started", {"id": 1}), key="unused")  # ignored: not used
    left = envelope(
        "webinar.participant_left",
        {"id": 86000000001, "uuid": "u==", "participant": {"participant_user_id": "p1"}},
    )
    stored(c, left, key="left")  # waiting for its join: not final, not counted
    sent = []
    monkeypatch.setattr(counting, "counters_add", lambda inc: sent.append(inc) or counters_add(inc))
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_process_pending(connection_id=c.pk) == 8
    after = scrape()

    statuses = dict(WebhookDelivery.objects.values_list("delivery_key", "status"))
    assert statuses == {
        "ok0": "applied",
        "ok1": "applied",
        "ok2": "applied",
        "pending": "ignored",
        "no-webinar": "failed",
        "foreign": "ignored",
        "unused": "ignored",
        "left": "waiting",
    }
    assert ended_deltas(before, after) == {"applied": 3, "ignored": 3, "failed": 1}
    assert delta(before, after, f"{LATENCY}_count") == 3
    assert after[("zoomcrm_webhook_deliveries_open", (("status", "waiting"),))] == 1
    assert after[("zoomcrm_webhook_deliveries_open", (("status", "received"),))] == 0
    # The whole batch (grouped registrations and the deliveries applied one by one) moved the
    # counters in one round trip.
    assert len(sent) == 1

    # Applied again, nothing is counted twice; pruning old deliveries takes nothing back.
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_process_pending(connection_id=c.pk) == 0
        assert delivery_process(delivery_id=WebhookDelivery.objects.get(delivery_key="ok0").pk)
    WebhookDelivery.objects.all().delete()
    assert ended_deltas(before, scrape()) == {"applied": 3, "ignored": 3, "failed": 1}
    assert len(sent) == 1


def test_a_delivery_ignored_at_receipt_is_counted(
    client, scrape, drain_connection, django_capture_on_commit_callbacks
):
    ZoomConnection.objects.filter(pk=drain_connection.pk).update(sync_webinar_data=False)
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        response = drain_post(client, drain_connection, registration(1))
        assert response.json() == {"status": "ignored", "reason": "sync_disabled"}  # rule S1
        assert drain_post(client, drain_connection, registration(1)).json() == {
            "status": "duplicate"
        }
    after = scrape()
    assert ended_deltas(before, after) == {"applied": 0, "ignored": 1, "failed": 0}
    assert delta(before, after, f"{LATENCY}_count") == 0


def test_applied_deliveries_land_in_their_latency_buckets(
    scrape, drain_connection, django_capture_on_commit_callbacks
):
    now = timezone.now()
    for n, seconds_ago in enumerate((3, 45, 200)):
        stored(
            drain_connection,
            registration(n),
            key=f"k{n}",
            received_at=now - timedelta(seconds=seconds_ago),
        )
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        deliveries_process_pending(connection_id=drain_connection.pk)
    after = scrape()
    buckets = {
        le: delta(before, after, f"{LATENCY}_bucket", le=le)
        for le in ("1.0", "2.5", "5.0", "10.0", "30.0", "60.0", "300.0", "900.0", "+Inf")
    }
    # Processing takes well under the 2 s that would move any of them to the next bucket.
    assert buckets == {
        "1.0": 0,
        "2.5": 0,
        "5.0": 1,
        "10.0": 1,
        "30.0": 1,
        "60.0": 2,
        "300.0": 3,
        "900.0": 3,
        "+Inf": 3,
    }
    assert delta(before, after, f"{LATENCY}_count") == 3
    # The sum is the latencies the rows record (received_at -> processed_at), to the microsecond.
    recorded = sum(
        (d.processed_at - d.received_at).total_seconds() for d in WebhookDelivery.objects.all()
    )
    assert delta(before, after, f"{LATENCY}_sum") == pytest.approx(recorded, abs=1e-5)


def test_a_rolled_back_batch_is_not_counted(
    scrape, drain_connection, django_capture_on_commit_callbacks, monkeypatch
):
    for n in range(2):
        stored(drain_connection, registration(n), key=f"k{n}")

    def crash(contact_ids):
        raise RuntimeError("worker lost its database connection")

    monkeypatch.setattr(processing, "contacts_recompute_legacy", crash)
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            deliveries_process_pending(connection_id=drain_connection.pk)
    after = scrape()
    assert callbacks == []
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"received"}
    assert not Participation.objects.exists()
    assert ended_deltas(before, after) == {"applied": 0, "ignored": 0, "failed": 0}
    assert delta(before, after, f"{LATENCY}_count") == 0


def test_an_apply_rolled_back_by_its_callers_transaction_is_not_counted(
    scrape, drain_connection, django_capture_on_commit_callbacks
):
    delivery = stored(drain_connection, envelope("meeting.started", {"id": 1}), key="k")
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            assert delivery_process(delivery_id=delivery.pk) == "ignored"
            raise RuntimeError("rolled back after the status was set")
    assert ended_deltas(before, scrape()) == {"applied": 0, "ignored": 0, "failed": 0}
    delivery.refresh_from_db()
    assert delivery.status == "received"


def test_a_delivery_another_worker_ended_meanwhile_is_counted_once(
    scrape, drain_connection, django_capture_on_commit_callbacks, monkeypatch
):
    delivery = stored(drain_connection, envelope("webinar.updated", {"id": 1}), key="k")

    def applied_by_another_worker_meanwhile(d):
        WebhookDelivery.objects.filter(pk=d.pk).update(status="applied", outcome="other")

    monkeypatch.setitem(processing.HANDLERS, "webinar.updated", applied_by_another_worker_meanwhile)
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        delivery_process(delivery_id=delivery.pk)
    # The other worker counted it; this one neither overwrites its status nor counts it.
    assert ended_deltas(before, scrape()) == {"applied": 0, "ignored": 0, "failed": 0}
    delivery.refresh_from_db()
    assert (delivery.status, delivery.outcome) == ("applied", "other")


def test_ended_increments_are_one_per_status_and_a_latency_per_applied_delivery():
    increments = counting.ended_increments(
        [("applied", 0.2), ("applied", 7.0), ("ignored", 0.0), ("failed", 1.0)]
    )
    assert increments == {
        "metrics:webhook_deliveries:applied": 2,
        "metrics:webhook_deliveries:ignored": 1,
        "metrics:webhook_deliveries:failed": 1,
        "metrics:webhook_apply_latency:all:le=0.25": 1,
        "metrics:webhook_apply_latency:all:le=0.5": 1,
        "metrics:webhook_apply_latency:all:le=1.0": 1,
        "metrics:webhook_apply_latency:all:le=2.5": 1,
        "metrics:webhook_apply_latency:all:le=5.0": 1,
        "metrics:webhook_apply_latency:all:le=10.0": 2,
        "metrics:webhook_apply_latency:all:le=30.0": 2,
        "metrics:webhook_apply_latency:all:le=60.0": 2,
        "metrics:webhook_apply_latency:all:le=300.0": 2,
        "metrics:webhook_apply_latency:all:le=900.0": 2,
        "metrics:webhook_apply_latency:all:le=3600.0": 2,
        "metrics:webhook_apply_latency:all:count": 2,
        "metrics:webhook_apply_latency:all:sum_us": 7_200_000,
    }
    assert counting.ended_increments([("waiting", 1.0)]) == {
        "metrics:webhook_deliveries:waiting": 1
    }


@responses.activate
def test_zoom_calls_and_429s_are_counted_by_label(scrape):
    responses.get("https://zoom.test/v2/users/me", json={"id": "u1"})
    responses.get(
        "https://zoom.test/v2/webinars/1",
        status=429,
        json={"code": 429, "message": "slow down"},
        headers={"X-RateLimit-Category": "Light"},
    )
    client = ZoomClient(base_url="https://zoom.test/v2", token_source=StaticTokenSource("t"))
    before = scrape()
    with rate_label("medium"):
        client.get_user()
        client.get_user()
    with pytest.raises(ZoomRateLimited):
        client.get_webinar(1)  # no label given: Zoom's own header names it
    client.get_user()  # neither
    after = scrape()
    assert delta(before, after, "zoomcrm_zoom_api_calls_total", label="medium") == 2
    assert delta(before, after, "zoomcrm_zoom_api_calls_total", label="light") == 1
    assert delta(before, after, "zoomcrm_zoom_api_calls_total", label="unlabelled") == 1
    assert delta(before, after, "zoomcrm_zoom_api_rate_limited_total", label="light") == 1
    assert delta(before, after, "zoomcrm_zoom_api_rate_limited_total", label="medium") == 0


def test_segment_counts_are_timed(scrape, admin_user):
    segment = Segment.objects.create(
        name="Everyone at example",
        kind="active",
        filters={
            "or": [
                {
                    "and": [
                        {
                            "type": "property",
                            "property": "email",
                            "operator": "contains",
                            "value": "@",
                        }
                    ]
                }
            ]
        },
    )
    before = scrape()
    started = time.perf_counter()
    assert segment_count(segment=segment) == 0
    assert segment_count(segment=segment) == 0  # from the cache: not counted again
    elapsed = time.perf_counter() - started
    after = scrape()
    name = "zoomcrm_segment_count_duration_seconds"
    assert delta(before, after, f"{name}_count", kind="active") == 1
    assert delta(before, after, f"{name}_bucket", kind="active", le="+Inf") == 1
    assert 0 < delta(before, after, f"{name}_sum", kind="active") <= elapsed
    assert delta(before, after, f"{name}_count", kind="static") == 0


def test_shared_counters_on_redis_are_seen_by_every_process(settings, scrape):
    # Another process (a worker) counting in Redis: here a raw INCR on the key it would use.
    # Database 15: parallel test workers use 10 + their number as their cache and may empty
    # it (cache.clear()) between this test's counts.
    url = reachable_redis_url(15)
    if url is None:
        pytest.skip("needs Redis")
    # A prefix of its own: another test run on the same Redis database counts elsewhere.
    settings.CACHES = {
        "default": {
            "BACKEND": "crm.cache.ReusedClientRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
    from django.core.cache import cache

    from crm.counters import counter_incr, counter_key

    before = scrape()
    counter_incr("zoom_api_calls", "heavy")
    counter_incr("zoom_api_calls", "heavy", 2)
    import redis

    redis.Redis.from_url(url).incrby(cache.make_key(counter_key("zoom_api_calls", "heavy")), 4)
    after = scrape()
    assert delta(before, after, "zoomcrm_zoom_api_calls_total", label="heavy") == 7


def test_queue_depth_on_redis_counts_every_priority_list(settings, scrape, monkeypatch):
    url = reachable_redis_url(14)
    if url is None:
        pytest.skip("needs Redis")
    import redis

    # A queue of this test's own: database 12 may be a parallel test worker's broker, whose
    # "celery" list this test must neither count nor delete.
    queue = f"metrics-test-{uuid.uuid4().hex}"
    monkeypatch.setattr("operations.queues.queue_names", lambda: [queue])
    client = redis.Redis.from_url(url)
    queues = (queue, f"{queue}\x06\x166")
    client.lpush(queue, json.dumps({"a": 1}), json.dumps({"a": 2}))
    client.lpush(f"{queue}\x06\x166", json.dumps({"a": 3}))
    settings.CELERY_BROKER_URL = url
    try:
        samples = scrape()
    finally:
        client.delete(*queues)
    assert samples[("zoomcrm_celery_queue_length", (("queue", queue),))] == 3
    assert samples[("zoomcrm_celery_queue_length_known", ())] == 1


def test_queue_depth_on_the_filesystem_broker_counts_message_files(settings, scrape, tmp_path):
    for name in ("1_a.celery.msg", "2_b.celery.msg", "3_c.other.msg", "notes.txt"):
        (tmp_path / name).write_text("{}")
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path)}
    samples = scrape()
    assert samples[("zoomcrm_celery_queue_length", (("queue", "celery"),))] == 2


def test_queue_depth_of_another_broker_is_unknown(settings, scrape):
    settings.CELERY_BROKER_URL = "amqp://guest@127.0.0.1:1//"
    samples = scrape()
    assert samples[("zoomcrm_celery_queue_length_known", ())] == 0
    assert not [key for key in samples if key[0] == "zoomcrm_celery_queue_length"]
