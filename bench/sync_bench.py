"""Benchmark: Zoom syncs on PostgreSQL against the sandbox, run by real Celery workers.

    make bench-sync            # or: .venv/bin/python bench/sync_bench.py [options]

Generates 20 webinars x 2,500 registrants (50,000), every one with registration answers and most
through a tracking source (`--answers`), with 60% attendance and rejoins, polls, Q&A and surveys
(`--engagement`) on a Business-plan account, the sandbox's own rate limits off; starts a Celery
worker (prefork, `--concurrency` pool processes, Redis as broker and as the rate limiter's
shared cache), requests the run as "Sync now" does and times it until it ended. Prints Zoom
records/s for the first sync and for the unchanged re-sync, and the first sync's rate as a
fraction of a bare `COPY` of the rows it wrote into empty copies of the same tables (their
indexes included, no foreign keys): the figure that does not drift with the machine.

`--connections 3` syncs three Zoom accounts at once (a run each) and prints the aggregate and
each account's rate, and each account's peak requests per second by rate-limit label next to
its plan's limit. `--registrants 25000` is the 10x scenario (500,000 registrants); every
scenario prints the worker's peak memory (the largest pool process's VmHWM).

The database named in DATABASE_URL is dropped and created anew; REDIS_URL (cache, default
database 14) and CELERY_BROKER_URL (broker, default database 15) name the Redis databases.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# As a production worker runs: no per-query debug log (Django's CursorDebugWrapper).
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")

import httpx  # noqa: E402
import psycopg  # noqa: E402

from tests.support.sandbox import running_sandbox  # noqa: E402

# Rate-limit label of each Zoom path the sync reads (zoom_integration/sync/listings.py).
LABELS = (("/report/", "heavy"), ("/registrants", "medium"))


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres", query="").geturl()  # no Django OPTIONS
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def process_cpu(pid: int, *, children: bool = False) -> float:
    """CPU seconds of a process of this machine (/proc), with those of its ended children."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def postgresql_cpu() -> float:
    """CPU seconds of every PostgreSQL process of this machine so far: the sync's backends
    (one per apply thread; those that ended are counted in their parent), WAL writer and the
    rest. Same machine only; NaN when PostgreSQL runs elsewhere."""
    total, seen = 0.0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.find("(") + 1 : text.rfind(")")] == "postgres":
            seen = True
            total += process_cpu(int(stat.parent.name), children=True)
    return total if seen else float("nan")


def sandbox_pid(url: str) -> int | None:
    """The pid of the sandbox serving `url` (its command line names its port)."""
    port = url.rsplit(":", 1)[1].strip("/")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"zoom_sandbox" in command and port.encode() in command:
            return int(entry.name)
    return None


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its live children and its ended ones (a Celery worker and
    its pool)."""
    total = process_cpu(pid, children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            total += process_cpu(int(stat.parent.name), children=True)
    return total


def machine_busy() -> tuple[int, int]:
    """(all, idle) jiffies of the machine so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


def crm_reset(connection) -> None:
    """Empties what a sync writes (contacts and their timelines, events and their
    participations, runs) and forgets what the webinars had synced, keeping the webinars, so
    the next first sync starts from the same state as in a new database."""
    from django.apps import apps
    from django.db import connection as db

    from crm.models import Contact, TimelineEvent
    from marketing_events.models import (
        AttendanceSession,
        EventOccurrence,
        MarketingEvent,
        OccurrenceAttendance,
    )
    from zoom_integration.models import SyncRun, ZoomWebinar

    ZoomWebinar.objects.filter(connection=connection).update(
        registrants_synced_at=None, participants_synced_at=None, event=None
    )
    # CASCADE reaches only what hangs on these through a database constraint (participations,
    # their details, skips), not the webinars, which reference events; the tables whose
    # foreign keys have no constraint (timelines, attendance, engagement) are named as well.
    models = [Contact, TimelineEvent, EventOccurrence, OccurrenceAttendance, AttendanceSession]
    engagement = apps.get_app_config("zoom_engagement").get_models()
    models += [SyncRun, *(m for m in engagement if m.__name__ != "EngagementSettings")]
    tables = ", ".join(m._meta.db_table for m in models)
    with db.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        cursor.execute(f"DELETE FROM {MarketingEvent._meta.db_table}")
    # No ANALYZE: statistics of empty tables would make the planner scan them whole as they
    # fill up during the run; truncated tables have none, as in a new database.


def redis_reachable(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


def pool_peak_memory(pid: int) -> int:
    """The largest VmHWM (peak resident memory, kB) of the worker's pool processes."""
    peak = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, ValueError, IndexError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak


@contextmanager
def celery_worker(concurrency: int, env: dict[str, str]):
    """A real Celery worker (prefork, `concurrency` pool processes); yields its pid."""
    from config.celery import app

    app.control.purge()  # what an earlier, interrupted bench left queued
    log = tempfile.NamedTemporaryFile("w+", suffix=".log")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork"]
        + [f"--concurrency={concurrency}", "--loglevel=WARNING", "--without-heartbeat"]
        + ["--without-gossip", "--without-mingle"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while app.control.ping(timeout=0.5) == []:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the Celery worker did not start:\n" + Path(log.name).read_text()
                )
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)
        text = Path(log.name).read_text()
        if "Traceback" in text:
            print("the worker's log:\n" + text[-4000:])
        log.close()


def connect(account: dict, plan: str):
    from crm.models import Brand
    from zoom_integration.services.connections import (
        connection_create_s2s,
        connection_settings_update,
    )
    from zoom_integration.services.metadata import connection_metadata_refresh

    app = next(a for a in account["apps"] if a["type"] == "s2s")
    brand = Brand.objects.create(
        name=f"Bench {account['id']}", is_primary=not Brand.objects.exists()
    )
    connection = connection_create_s2s(
        brand=brand,
        account_id=account["id"],
        client_id=app["client_id"],
        client_secret=app["client_secret"],
    )
    connection.zoom_plan = plan
    connection.save(update_fields=["zoom_plan"])
    connection_metadata_refresh(connection=connection)
    connection_settings_update(connection=connection, sync_webinar_data=True)
    return connection


def sync_all(connections) -> tuple[float, list]:
    """Requests a run of each connection at once (queued to the worker on commit, as "Sync
    now" does) and waits until they all ended. Returns (wall seconds, [(run, seconds)])."""
    from django.utils import timezone

    from zoom_integration.models import ACTIVE_SYNC_STATUSES, SyncRun
    from zoom_integration.services.sync import sync_run_request

    started_at = timezone.now()
    started = time.perf_counter()
    runs = [sync_run_request(connection=c) for c in connections]
    ids = [run.pk for run in runs]
    while SyncRun.objects.filter(pk__in=ids, status__in=ACTIVE_SYNC_STATUSES).exists():
        time.sleep(0.1)  # a run lasts seconds: 100 ms is precise enough, and quiet
    wall = time.perf_counter() - started
    done = []
    for run in SyncRun.objects.filter(pk__in=ids).order_by("pk"):
        done.append((run, (run.finished_at - started_at).total_seconds()))
    return wall, done


def sync_tables():
    from crm.models import Contact, TimelineEvent
    from marketing_events.models import (
        AttendanceSession,
        EventOccurrence,
        OccurrenceAttendance,
        Participation,
    )
    from zoom_integration.models import SyncSkip

    models = (
        Contact,
        TimelineEvent,
        EventOccurrence,
        Participation,
        OccurrenceAttendance,
        AttendanceSession,
        SyncSkip,
    )
    return [m._meta.db_table for m in models]


def copy_seconds() -> tuple[float, int]:
    """A bare COPY of every row the sync wrote into empty copies of the same tables (columns,
    defaults, indexes and checks; no foreign keys), each table in its own transaction as a
    page's writes are: (seconds, rows). The copies are dropped after."""
    from django.db import connection as db

    buffers = {}
    with db.cursor() as cursor:
        raw = cursor.cursor
        for table in sync_tables():
            data = bytearray()
            with raw.copy(f'COPY "{table}" TO STDOUT (FORMAT binary)') as copy:
                for chunk in copy:
                    data += chunk
            buffers[table] = bytes(data)
            cursor.execute(f'DROP TABLE IF EXISTS "bench_copy_{table}"')
            cursor.execute(f'CREATE TABLE "bench_copy_{table}" (LIKE "{table}" INCLUDING ALL)')
        rows = 0
        started = time.perf_counter()
        for table, data in buffers.items():
            with raw.copy(f'COPY "bench_copy_{table}" FROM STDIN (FORMAT binary)') as copy:
                copy.write(data)
            rows += raw.rowcount
        elapsed = time.perf_counter() - started
        for table in buffers:
            cursor.execute(f'DROP TABLE "bench_copy_{table}"')
    return elapsed, rows


def peak_requests(log: list[dict], account: str) -> dict[str, int]:
    """An account's most requests within one second (the sandbox logs whole seconds), by
    rate-limit label."""
    per_second: dict[str, Counter] = defaultdict(Counter)
    for entry in log:
        if entry.get("account") != account or not entry["path"].startswith("/v2/"):
            continue
        label = next((name for part, name in LABELS if part in entry["path"]), "light")
        per_second[label][entry["time"]] += 1
    return {label: max(seconds.values()) for label, seconds in sorted(per_second.items())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webinars", type=int, default=20, help="per account")
    parser.add_argument("--registrants", type=int, default=2500, help="per webinar")
    parser.add_argument("--attendance", type=float, default=0.6)
    parser.add_argument(
        "--answers",
        type=float,
        default=1.0,
        help="share of webinars whose registrants answer registration questions and come "
        "through tracking sources (rules E1, E4); 1: every registrant",
    )
    parser.add_argument(
        "--engagement",
        type=int,
        choices=[0, 1],
        default=1,
        help="1: the webinars' instances have polls, Q&A and surveys (rules E6-E8) whose "
        "report rows count as records; 0: registrants and attendance only",
    )
    parser.add_argument("--connections", type=int, default=1, help="Zoom accounts synced at once")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="the Celery worker's pool processes"
    )
    parser.add_argument(
        "--tasks-per-run", type=int, default=None, help="ZOOM_SYNC_TASKS_PER_RUN (default: setting)"
    )
    parser.add_argument(
        "--client-limits",
        choices=["business", "pro", "off"],
        default="business",
        help="the sync's own per-account rate limiter: the connection's Zoom plan, Business "
        "(light 80, medium 60, heavy 40 requests/s, as the sandbox account's plan) or Pro "
        "(30, 20, 10), or off (ZOOM_RATE_LIMITS with no limit), to measure the sync itself",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="first sync and re-sync this many times, the CRM emptied in between, and print "
        "the median (this shared machine's speed varies by a few percent from run to run)",
    )
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        print("bench/sync_bench.py measures PostgreSQL: set DATABASE_URL=postgres://…")
        return 2
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        if not redis_reachable(os.environ[name]):
            print(f"bench/sync_bench.py needs Redis: {name}={os.environ[name]} does not answer")
            return 2
    recreate_database(url)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from zoom_integration.sync.ratelimit import configured_limits

    plan = "pro" if args.client_limits == "pro" else "business"
    with running_sandbox("--no-rate-limits") as sandbox:
        http = httpx.Client(base_url=sandbox, timeout=300, trust_env=False)
        zoom_pid = sandbox_pid(sandbox)
        info = http.post(
            "/_sandbox/generate",
            json={
                "accounts": args.connections,
                "webinars": args.webinars,
                "registrants": args.registrants,
                "attendance": args.attendance,
                "answers": args.answers,
                "seed": 1,
                "engagement": int(args.engagement),
            },
        ).json()
        http.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
        accounts = http.get("/_sandbox/state").json()["accounts"]
        settings.ZOOM_API_BASE_URL = f"{sandbox}/v2"
        settings.ZOOM_OAUTH_BASE_URL = sandbox
        worker_env = {
            "ZOOM_API_BASE_URL": settings.ZOOM_API_BASE_URL,
            "ZOOM_OAUTH_BASE_URL": sandbox,
        }
        if args.client_limits == "off":
            worker_env["ZOOM_RATE_LIMITS"] = "light=0,medium=0,heavy=0"
        if args.tasks_per_run is not None:
            worker_env["ZOOM_SYNC_TASKS_PER_RUN"] = str(args.tasks_per_run)
            settings.ZOOM_SYNC_TASKS_PER_RUN = args.tasks_per_run
        limits = configured_limits(plan)
        if args.client_limits == "off":
            limits = {}
        print(
            f"client-side rate limits ({args.client_limits}): {limits or 'none'}; worker: "
            f"{args.concurrency} pool processes; {settings.ZOOM_SYNC_TASKS_PER_RUN} step tasks "
            "per run"
        )
        connections = [connect(account, plan) for account in accounts]
        print(
            f"scenario: {args.connections} account(s), {info['webinars']} webinars, "
            f"{info['registrants']} registrants, {info['participants']} participant rows"
        )
        rates, ratios, fractions = [], [], []
        with celery_worker(args.concurrency, worker_env) as worker_pid:
            for round_ in range(1, args.runs + 1):
                if round_ > 1:
                    print(f"-- run {round_} of {args.runs} (the CRM emptied first)")
                    for connection in connections:
                        crm_reset(connection)
                walls = []
                for label in ("first sync", "unchanged re-sync"):
                    http.delete("/_sandbox/requests")
                    db_cpu, worker_cpu = postgresql_cpu(), tree_cpu(worker_pid)
                    zoom_cpu = process_cpu(zoom_pid) if zoom_pid else float("nan")
                    busy = machine_busy()
                    wall, done = sync_all(connections)
                    db_cpu, worker_cpu = (
                        postgresql_cpu() - db_cpu,
                        tree_cpu(worker_pid) - worker_cpu,
                    )
                    if zoom_pid:
                        zoom_cpu = process_cpu(zoom_pid) - zoom_cpu
                    jiffies, idle = (a - b for a, b in zip(machine_busy(), busy, strict=True))
                    cores = os.cpu_count() * (1 - idle / jiffies) if jiffies else 0
                    # Every record of every page Zoom served counts, the ones the rules skip
                    # included (a skip lists each person once per webinar).
                    records = sum(run.counts.get("zoom_records", 0) for run, _s in done)
                    walls.append(wall)
                    statuses = ",".join(sorted({run.status for run, _s in done}))
                    print(
                        f"{label}: {statuses}, {records} Zoom records in {wall:.2f} s = "
                        f"{records / wall:,.0f} records/s"
                    )
                    if label == "first sync":
                        rates.append(records / wall)
                        first_records = records
                        if len(done) > 1:
                            log = http.get("/_sandbox/requests").json()["requests"]
                            for (run, seconds), account in zip(done, accounts, strict=True):
                                mine = run.counts.get("zoom_records", 0)
                                print(
                                    f"  account {account['id']}: {mine} records in "
                                    f"{seconds:.2f} s = {mine / seconds:,.0f} records/s "
                                    f"({mine / seconds / (records / wall):.0%} of the aggregate);"
                                    f" peak requests/s {peak_requests(log, account['id'])}"
                                )
                    print(
                        f"  CPU: worker {worker_cpu:.2f} s, PostgreSQL {db_cpu:.2f} s, sandbox "
                        f"{zoom_cpu:.2f} s; the "
                        f"machine's {os.cpu_count()} cores {cores:.2f} busy on average; worker "
                        f"peak memory {pool_peak_memory(worker_pid) / 1024:.0f} MB (largest "
                        "pool process)"
                    )
                seconds, rows = copy_seconds()
                fraction = seconds / walls[0]
                fractions.append(fraction)
                print(
                    f"bare COPY of the {rows} rows the first sync wrote: {seconds:.2f} s; the "
                    f"sync ran at {fraction:.0%} of COPY's speed "
                    f"({first_records / walls[0]:,.0f} vs {first_records / seconds:,.0f} "
                    "records/s)"
                )
                print(f"re-sync is {walls[0] / walls[1]:.1f}x faster than the first sync")
                ratios.append(walls[0] / walls[1])
        if args.runs > 1:
            print(
                f"first sync over {args.runs} runs: median {statistics.median(rates):,.0f} "
                f"records/s (min {min(rates):,.0f}, max {max(rates):,.0f}); re-sync median "
                f"{statistics.median(ratios):.1f}x faster; median "
                f"{statistics.median(fractions):.0%} of COPY's speed"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
