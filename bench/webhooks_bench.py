"""Benchmark: signed Zoom webhooks posted at the running CRM (gunicorn, PostgreSQL, Redis,
a real Celery worker).

    .venv/bin/python bench/webhooks_bench.py [--burst 3000] [--rate 150] [--seconds 10]

Phase 1 posts a burst of `webinar.registration_created` deliveries from 32 threads and reports
accepted deliveries/s. Phase 2 posts at a steady rate and reports p50/p99 of the time from the
delivery to its participation being visible through the API. The database named by
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/crm_webhook_bench) is dropped and
created anew; Redis db 5 and 6 are used for the cache and the broker.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_webhook_bench"
)
ENV = {
    **os.environ,
    "DATABASE_URL": DB_URL,
    "REDIS_URL": "redis://127.0.0.1:6379/5",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/6",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "LOG_LEVEL": "WARNING",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "PYTHONUNBUFFERED": "1",
}
os.environ.update(ENV)

import httpx  # noqa: E402
import psycopg  # noqa: E402

from zoom_integration.webhooks.signature import sign  # noqa: E402

SECRET = "bench-secret"
WEBINAR_ID = 87000000001


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare() -> tuple[int, str]:
    parsed = urlparse(DB_URL)
    with psycopg.connect(parsed._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path[1:]}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.path[1:]}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis(host="127.0.0.1", port=6379, db=5).flushdb()  # cache: no stale flags
    redis.Redis(host="127.0.0.1", port=6379, db=6).flushdb()  # broker: no stale tasks
    from crm.models import Brand, Role, User
    from crm.services.tokens import api_token_create
    from zoom_integration.models import ZoomConnection, ZoomUser

    brand = Brand.objects.create(name="Bench", is_primary=True)
    connection = ZoomConnection.objects.create(
        brand=brand,
        kind="s2s",
        status="connected",
        zoom_account_id="acct_bench",
        client_id="x",
        client_secret="y",
        webhook_secret_token=SECRET,
        sync_webinar_data=True,
    )
    ZoomUser.objects.create(connection=connection, zoom_user_id="u_host", email="host@bench.test")
    user = User.objects.create_user("bench@crm.test", "bench", role=Role.SUPER_ADMIN)
    _token, clear = api_token_create(user=user, name="bench")
    return connection.pk, clear


def envelope(n: int) -> bytes:
    body = {
        "event": "webinar.registration_created",
        "event_ts": 1_700_000_000_000 + n,
        "payload": {
            "account_id": "acct_bench",
            "object": {
                "id": WEBINAR_ID,
                "uuid": "benchUuid==",
                "host_id": "u_host",
                "topic": "Bench webinar",
                "type": 5,
                "start_time": "2030-01-01T10:00:00Z",
                "duration": 60,
                "timezone": "UTC",
                "registrant": {
                    "id": f"r{n}",
                    "email": f"person{n}@bench.example",
                    "first_name": "P",
                    "last_name": str(n),
                    "status": "approved",
                    "create_time": "2029-12-01T10:00:00Z",
                    "join_url": "https://zoom.test/j",
                },
            },
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


def deliver(client: httpx.Client, url: str, n: int) -> int:
    body = envelope(n)
    timestamp = str(int(time.time()))
    response = client.post(
        url,
        content=body,
        headers={
            "content-type": "application/json",
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": sign(SECRET, timestamp, body),
        },
    )
    return response.status_code


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=150)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    connection_id, token = prepare()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--threads",
            "4",
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"{base}/integrations/zoom/webhooks/{connection_id}/"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/accounts/login/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        local = threading.local()

        def client() -> httpx.Client:
            if not hasattr(local, "client"):
                local.client = httpx.Client(timeout=10)
            return local.client

        # Phase 1: a burst, as fast as 16 keep-alive senders can. Bodies are signed beforehand
        # (timestamps stay fresh for five minutes) so the senders only send.
        import http.client

        path = urlparse(url).path
        signed = []
        for n in range(args.burst):
            body = envelope(n)
            timestamp = str(int(time.time()))
            signed.append(
                (
                    body,
                    {
                        "content-type": "application/json",
                        "x-zm-request-timestamp": timestamp,
                        "x-zm-signature": sign(SECRET, timestamp, body),
                    },
                )
            )

        def raw_send(item) -> int:
            if not hasattr(local, "raw"):
                local.raw = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            local.raw.request("POST", path, body=item[0], headers=item[1])
            response = local.raw.getresponse()
            response.read()
            return response.status

        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(raw_send, signed))
        elapsed = time.perf_counter() - started
        accepted = statuses.count(200)
        print(
            f"burst: {accepted}/{args.burst} accepted in {elapsed:.2f} s = "
            f"{accepted / elapsed:,.0f} deliveries/s accepted"
        )
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10)

        def visible(n: int) -> bool:
            r = api.get(
                f"/marketing/v3/marketing-events/participations/contacts/"
                f"person{n}@bench.example/breakdown"
            )
            return r.status_code == 200 and r.json().get("total", 0) > 0

        drain = time.perf_counter()
        while not visible(args.burst - 1) and time.perf_counter() - drain < 300:
            time.sleep(0.5)
        print(
            f"burst applied by the worker {time.perf_counter() - drain:.1f} s after the last "
            "delivery"
        )

        # Phase 2: a steady rate; time from each delivery to its participation in the API.
        latencies: list[float] = []
        lock = threading.Lock()

        def send_and_watch(n: int) -> None:
            sent = time.perf_counter()
            deliver(client(), url, n)
            watcher = httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            while time.perf_counter() - sent < 30:
                r = watcher.get(
                    f"/marketing/v3/marketing-events/participations/contacts/"
                    f"person{n}@bench.example/breakdown"
                )
                if r.status_code == 200 and r.json().get("total", 0) > 0:
                    with lock:
                        latencies.append(time.perf_counter() - sent)
                    return
                time.sleep(0.2)

        total = args.rate * args.seconds
        with ThreadPoolExecutor(48) as pool:
            t0 = time.perf_counter()
            for i in range(total):
                target = t0 + i / args.rate
                delay = target - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(send_and_watch, 100_000 + i)
        latencies.sort()
        if latencies:
            p50 = statistics.median(latencies)
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            print(
                f"steady {args.rate}/s for {args.seconds} s: {len(latencies)}/{total} visible; "
                f"delivery→visible p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
            )
    finally:
        web.terminate()
        worker.terminate()
        web.wait(timeout=20)
        worker.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
