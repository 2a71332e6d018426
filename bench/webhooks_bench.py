"""Benchmark: signed Zoom webhooks posted at the running CRM (gunicorn, PostgreSQL, Redis,
a real Celery worker).

    .venv/bin/python bench/webhooks_bench.py [--burst 3000] [--rate 300] [--seconds 10]
        [--web-workers 2] [--web-threads 4] [--worker-concurrency 2]

gunicorn runs 2 gthread workers of 4 threads (on this 2-core machine they take a burst best,
and keep-alive spares a TCP connection per delivery) with persistent database connections
(DB_CONN_MAX_AGE=60, as a production deployment should: set DB_CONN_MAX_AGE=0 to see the cost
of one PostgreSQL session per request).
Phase 1 posts a burst of `webinar.registration_created` deliveries over --connections keep-alive
connections and reports accepted deliveries/s. Phase 2 posts at a steady rate and reports
p50/p99 of the time from the delivery being sent to its participation being visible through the
API. The database named by BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/crm_webhook_bench) is dropped and created anew; Redis db 5
and 6 are used for the cache and the broker.

The load generator shares the machine's cores with what it measures, so it is kept light: one
asyncio loop, requests written as raw bytes over keep-alive sockets (every one a real signed
HTTP request whose status is checked), and one watcher that reads new participations of the
webinar through the HubSpot-compatible breakdown API with its `after` cursor, instead of one
poller per delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

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
    # Persistent database connections, as a production deployment runs (README, configuration):
    # a new PostgreSQL session per request costs more than the request itself.
    "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE") or "60",
}
os.environ.update(ENV)

import psycopg  # noqa: E402

from zoom_integration.webhooks.signature import sign  # noqa: E402

SECRET = "bench-secret"
ACCOUNT_ID = "acct_bench"
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
        zoom_account_id=ACCOUNT_ID,
        client_id="x",
        client_secret="y",
        webhook_secret_token=SECRET,
        sync_webinar_data=True,
    )
    ZoomUser.objects.create(connection=connection, zoom_user_id="u_host", email="host@bench.test")
    user = User.objects.create_user("bench@crm.test", "bench", role=Role.SUPER_ADMIN)
    _token, clear = api_token_create(user=user, name="bench")
    from django.db import connections

    connections.close_all()  # the database is the servers' from now on
    return connection.pk, clear


def email_of(n: int) -> str:
    return f"person{n}@bench.example"


def envelope(n: int) -> bytes:
    body = {
        "event": "webinar.registration_created",
        "event_ts": 1_700_000_000_000 + n,
        "payload": {
            "account_id": ACCOUNT_ID,
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
                    "email": email_of(n),
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


def signed_request(path: str, host: str, n: int) -> bytes:
    """The whole HTTP/1.1 request, signed now (Zoom's scheme), as bytes to write."""
    body = envelope(n)
    timestamp = str(int(time.time()))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nx-zm-request-timestamp: {timestamp}\r\n"
        f"x-zm-signature: {sign(SECRET, timestamp, body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """One keep-alive HTTP/1.1 connection: write a request, read its response (Content-Length
    or chunked); reconnects when the server closed it."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                self.writer.transport.get_extra_info("socket").setsockopt(
                    socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
                )
            try:
                self.writer.write(raw)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                body += await self.reader.readexactly(size)
                await self.reader.readexactly(2)
            await self.reader.readuntil(b"\r\n")
        else:
            body = await self.reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Watcher:
    """Reads the webinar's participations in id order through the API (`after` cursor, pages of
    100) every `interval` seconds and notes when each e-mail first became visible."""

    def __init__(self, port: int, token: str, interval: float):
        self.conn = Connection(port)
        self.token = token
        self.interval = interval
        self.after: str | None = None
        self.seen: dict[str, float] = {}
        self.polls = 0
        self._stop = asyncio.Event()

    async def poll(self) -> None:
        while True:
            query = {"limit": 100, **({"after": self.after} if self.after else {})}
            path = (
                f"/marketing/v3/marketing-events/participations/{ACCOUNT_ID}/{WEBINAR_ID}"
                f"/breakdown?{urlencode(query)}"
            )
            raw = (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {self.token}\r\n\r\n"
            ).encode()
            status, body = await self.conn.request(raw)
            self.polls += 1
            now = time.perf_counter()
            if status == 404:  # the event does not exist until the first delivery is applied
                return
            if status != 200:
                raise RuntimeError(f"breakdown answered {status}: {body[:300]!r}")
            page = json.loads(body)
            for row in page["results"]:
                self.seen.setdefault(row["associations"]["contact"]["email"], now)
            if page["results"]:
                self.after = page["results"][-1]["id"]
            if not page.get("paging"):
                return

    async def run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            await self.poll()
            await asyncio.sleep(max(0.0, self.interval - (time.perf_counter() - started)))

    def stop(self) -> None:
        self._stop.set()


async def burst(port: int, requests: list[bytes], connections: int) -> tuple[float, list[int]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for raw in requests:
        queue.put_nowait(raw)
    statuses: list[int] = []

    async def sender() -> None:
        conn = Connection(port)
        while not queue.empty():
            raw = queue.get_nowait()
            status, _body = await conn.request(raw)
            statuses.append(status)
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(connections)))
    return time.perf_counter() - started, statuses


async def steady(
    port: int, path: str, host: str, first: int, rate: int, seconds: int
) -> tuple[dict[str, float], list[int], float, float]:
    """Sends `rate` deliveries/s for `seconds`, each at its scheduled time over an idle
    keep-alive connection (a new one when all are busy). Returns the send time of each e-mail,
    the statuses, the largest delay behind schedule and the achieved rate."""
    idle: list[Connection] = []
    sent: dict[str, float] = {}
    statuses: list[int] = []
    lag = 0.0
    tasks = []

    async def deliver(n: int) -> None:
        conn = idle.pop() if idle else Connection(port)
        raw = signed_request(path, host, n)
        sent[email_of(n)] = time.perf_counter()
        status, _body = await conn.request(raw)
        statuses.append(status)
        idle.append(conn)

    total = rate * seconds
    t0 = time.perf_counter()
    for i in range(total):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            lag = max(lag, -delay)
        tasks.append(asyncio.ensure_future(deliver(first + i)))
    await asyncio.gather(*tasks)
    elapsed = max(sent.values()) - t0
    for conn in idle:
        conn.close()
    return sent, statuses, lag, (total - 1) / elapsed if elapsed else float(total)


class CpuMeter:
    """CPU seconds per part of the benchmark over a phase, from /proc (Linux): this load
    generator, the web server, the Celery worker, PostgreSQL and Redis, and whatever else ran
    on the machine meanwhile (other people's tests make the figures worse: it says so)."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    SERVICES = ("postgres", "redis-server")

    def __init__(self, parts: dict[str, int]):
        self.parts = parts  # name -> root pid (this process counts alone, without its children)

    @classmethod
    def _stat(cls, pid: int) -> tuple[str, float]:
        raw = Path(f"/proc/{pid}/stat").read_text()
        fields = raw.rsplit(")", 1)[1].split()
        return raw[raw.index("(") + 1 : raw.rindex(")")], (
            int(fields[11]) + int(fields[12])
        ) / cls.TICK

    @classmethod
    def _tree_seconds(cls, root: int) -> float:
        total, todo = 0.0, [root]
        while todo:
            pid = todo.pop()
            try:
                total += cls._stat(pid)[1]
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except (OSError, IndexError):
                continue
            if pid != os.getpid():
                todo.extend(int(c) for c in children)
        return total

    @classmethod
    def _services_seconds(cls) -> float:
        total = 0.0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    name, seconds = cls._stat(int(entry.name))
                except (OSError, IndexError, ValueError):
                    continue
                total += seconds if name in cls.SERVICES else 0.0
        return total

    @classmethod
    def _machine_seconds(cls) -> float:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))  # not idle/iowait
        return busy / cls.TICK

    def sample(self) -> dict[str, float]:
        try:
            values = {name: self._tree_seconds(pid) for name, pid in self.parts.items()}
            values["postgres+redis"] = self._services_seconds()
            values["machine"] = self._machine_seconds()
        except OSError:
            return {}
        return values

    @staticmethod
    def report(label: str, before: dict[str, float], after: dict[str, float], wall: float) -> None:
        if not before or not after:
            return
        used = {name: after[name] - before[name] for name in before}
        rest = used.pop("machine") - sum(used.values())
        shares = ", ".join(f"{name} {seconds / wall:.2f}" for name, seconds in used.items())
        print(f"{label} CPU (cores busy on average): {shares}, kernel and others {rest / wall:.2f}")


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


async def run(args, port: int, connection_id: int, token: str, meter: CpuMeter) -> int:
    path = f"/integrations/zoom/webhooks/{connection_id}/"
    host = f"127.0.0.1:{port}"
    watcher = Watcher(port, token, args.poll)

    # Phase 1: a burst. Requests are signed beforehand (timestamps stay fresh for five
    # minutes) so the senders only send.
    requests = [signed_request(path, host, n) for n in range(args.burst)]
    before = meter.sample()
    elapsed, statuses = await burst(port, requests, args.connections)
    accepted = statuses.count(200)
    print(
        f"burst: {accepted}/{args.burst} accepted in {elapsed:.2f} s over {args.connections} "
        f"connections = {accepted / elapsed:,.0f} deliveries/s accepted"
    )
    meter.report("burst", before, meter.sample(), elapsed)
    wanted = {email_of(n) for n in range(args.burst)}
    drain = time.perf_counter()
    while not wanted <= watcher.seen.keys() and time.perf_counter() - drain < 300:
        await watcher.poll()
        await asyncio.sleep(0.2)
    print(
        f"burst: {len(wanted & watcher.seen.keys())}/{args.burst} visible, all applied "
        f"{time.perf_counter() - drain:.1f} s after the last delivery was accepted"
    )

    # Phase 2: a steady rate; time from sending each delivery to its participation in the API.
    await asyncio.sleep(1)
    watching = asyncio.ensure_future(watcher.run())
    polls_before = watcher.polls
    before, started = meter.sample(), time.perf_counter()
    sent, statuses, lag, achieved = await steady(port, path, host, 100_000, args.rate, args.seconds)
    deadline = time.perf_counter() + 30
    while not sent.keys() <= watcher.seen.keys() and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    meter.report("steady", before, meter.sample(), time.perf_counter() - started)
    watcher.stop()
    await watching
    latencies = sorted(watcher.seen[e] - t for e, t in sent.items() if e in watcher.seen)
    bad = len(statuses) - statuses.count(200)
    print(
        f"steady {args.rate}/s for {args.seconds} s: sent at {achieved:,.0f}/s (at most "
        f"{lag * 1000:.0f} ms behind schedule), {len(statuses) - bad}/{len(sent)} answered 200, "
        f"{len(latencies)}/{len(sent)} visible; watcher polled every {args.poll * 1000:.0f} ms "
        f"({watcher.polls - polls_before} polls)"
    )
    if latencies:
        print(
            f"steady {args.rate}/s: delivery→visible p50 {statistics.median(latencies) * 1000:.0f}"
            f" ms, p90 {percentile(latencies, 0.90) * 1000:.0f} ms, p99 "
            f"{percentile(latencies, 0.99) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
        )
    missing = sorted(sent.keys() - watcher.seen.keys())
    if missing:
        # Not seen through the cursor: say whether they exist at all (a row committed after a
        # later id was read would be missed by the cursor, not by the CRM).
        conn = Connection(port)
        found = 0
        for email in missing[:200]:
            status, body = await conn.request(
                (
                    f"GET /marketing/v3/marketing-events/participations/contacts/{email}/breakdown"
                    f" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
                ).encode()
            )
            found += status == 200 and json.loads(body).get("total", 0) > 0
        conn.close()
        print(f"not seen by the watcher: {len(missing)}; of the first 200, {found} exist")
    watcher.conn.close()
    return 0 if not bad and accepted == args.burst and not missing else 1


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=3000)
    parser.add_argument("--rate", type=int, default=300)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16, help="burst senders")
    parser.add_argument("--poll", type=float, default=0.1, help="watcher interval, seconds")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-threads", type=int, default=4, help="above 1: gthread workers")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    args = parser.parse_args()
    connection_id, token = prepare()
    port = free_port()
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.web_workers),
            "--threads",
            str(args.web_threads),
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
            str(args.worker_concurrency),
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(1)  # let every gunicorn worker boot
        meter = CpuMeter({"bench": os.getpid(), "web": web.pid, "worker": worker.pid})
        return asyncio.run(run(args, port, connection_id, token, meter))
    finally:
        web.terminate()
        worker.terminate()
        web.wait(timeout=20)
        worker.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
