"""/metrics (issue 22): Prometheus' text format behind METRICS_TOKEN; the figures move when a
sync runs, a webhook is delivered, a segment is counted; a bounded number of queries."""

import json
import time

import pytest
import responses
from prometheus_client.parser import text_string_to_metric_families

from crm.models import Brand
from segments.models import Segment
from segments.selectors import segment_count
from tests.support.worker import reachable_redis_url
from tests.zoom_integration.scenario import ACME, S2S
from tests.zoom_integration.test_webhooks import EVENT, SECRET, post
from zoom_integration.client import StaticTokenSource, ZoomClient, ZoomRateLimited, rate_label
from zoom_integration.models import SyncRun, WebhookDelivery, ZoomConnection
from zoom_integration.services.connections import (
    connection_create_s2s,
    connection_settings_update,
)
from zoom_integration.services.sync import sync_run_execute, sync_run_request

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


def test_the_metrics_view_makes_a_bounded_number_of_queries(scrape, django_assert_max_num_queries):
    for status in ("succeeded", "failed", "skipped"):
        brand = Brand.objects.create(name=f"B {status}")
        connection = ZoomConnection.objects.create(brand=brand, kind="s2s", client_id="c")
        SyncRun.objects.create(connection=connection, trigger="api", status=status)
    # Sync runs by status, their sums and durations, deliveries by status, their latency,
    # executions by status: five aggregate queries, whatever the rows.
    with django_assert_max_num_queries(5):
        scrape()


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
    assert delta(before, after, "zoomcrm_webhook_deliveries_total", status=delivery.status) == 1
    assert (
        sum(
            delta(before, after, "zoomcrm_webhook_deliveries_total", status=s)
            for s in ("received", "applied", "ignored", "waiting", "failed")
        )
        == 1
    )
    assert delta(before, after, "zoomcrm_webhook_refused_total", reason="bad_signature") == 1
    applied = 1 if delivery.status == "applied" else 0
    assert delta(before, after, "zoomcrm_webhook_apply_latency_seconds_count") == applied


def test_an_applied_delivery_lands_in_its_latency_bucket(scrape, acme):
    from datetime import timedelta

    from django.utils import timezone

    received = timezone.now()
    before = scrape()
    WebhookDelivery.objects.create(
        connection=acme,
        delivery_key="k",
        event="webinar.participant_joined",
        received_at=received,
        processed_at=received + timedelta(seconds=0.3),
        status="applied",
    )
    after = scrape()
    name = "zoomcrm_webhook_apply_latency_seconds_bucket"
    assert delta(before, after, name, le="0.25") == 0
    assert delta(before, after, name, le="0.5") == 1
    assert delta(before, after, "zoomcrm_webhook_apply_latency_seconds_sum") == pytest.approx(0.3)


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
    url = reachable_redis_url(11)
    if url is None:
        pytest.skip("needs Redis")
    settings.CACHES = {"default": {"BACKEND": "crm.cache.ReusedClientRedisCache", "LOCATION": url}}
    from django.core.cache import cache

    from crm.counters import counter_incr, counter_key

    before = scrape()
    counter_incr("zoom_api_calls", "heavy")
    counter_incr("zoom_api_calls", "heavy", 2)
    import redis

    redis.Redis.from_url(url).incrby(cache.make_key(counter_key("zoom_api_calls", "heavy")), 4)
    after = scrape()
    assert delta(before, after, "zoomcrm_zoom_api_calls_total", label="heavy") == 7


def test_queue_depth_on_redis_counts_every_priority_list(settings, scrape):
    url = reachable_redis_url(12)
    if url is None:
        pytest.skip("needs Redis")
    import redis

    client = redis.Redis.from_url(url)
    queues = ("celery", "celery\x06\x166")
    client.delete(*queues)
    client.lpush("celery", json.dumps({"a": 1}), json.dumps({"a": 2}))
    client.lpush("celery\x06\x166", json.dumps({"a": 3}))
    settings.CELERY_BROKER_URL = url
    try:
        samples = scrape()
    finally:
        client.delete(*queues)
    assert samples[("zoomcrm_celery_queue_length", (("queue", "celery"),))] == 3
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
