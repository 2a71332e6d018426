"""Benchmark: a full Zoom sync and an unchanged re-sync, on PostgreSQL, against the sandbox.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench .venv/bin/python bench/sync_bench.py

Generates 20 webinars x 2,500 registrants (50,000) with 60% attendance and rejoins on a
Business-plan account, the sandbox's own rate limits off; runs the sync in this process (as a
worker would), its client-side rate limiter at the account plan's limits (`--client-limits`),
and prints Zoom records/s for the first sync and the re-sync, and the queries per page. The
database named in DATABASE_URL is dropped and created anew.

The run is shared with helper tasks as in production (`ZOOM_SYNC_PROCESSES`, `--processes`):
a real Celery worker is started with one pool process per helper, on Redis (REDIS_URL, by
default database 14 of the local Redis) as broker and as the rate limiter's shared cache.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# As a production worker runs: no per-query debug log (Django's CursorDebugWrapper).
os.environ.setdefault("DEBUG", "false")
# Helper processes need a broker and a cache every process sees (the rate limiter's).
BENCH_REDIS = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")


def redis_reachable(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


if redis_reachable(BENCH_REDIS):
    os.environ.setdefault("REDIS_URL", BENCH_REDIS)
    os.environ.setdefault("CELERY_BROKER_URL", BENCH_REDIS)

import subprocess  # noqa: E402
import tempfile  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import httpx  # noqa: E402
import psycopg  # noqa: E402

from tests.support.sandbox import running_sandbox  # noqa: E402


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres", query="").geturl()  # no Django OPTIONS
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def statement_kind(sql: str) -> str:
    """A short name for a statement: its verb and first table (INSERT INTO x, SELECT FROM y)."""
    text = " ".join(sql.split())
    verb = text.split(" ", 1)[0].upper()
    match = re.search(r"\b(INSERT INTO|UPDATE|DELETE FROM)\s+(\S+)", text, re.I) or re.search(
        r"\b(FROM)\s+(\S+)", text, re.I
    )
    if not match:
        return verb  # SAVEPOINT, RELEASE, …
    return f"{verb}: {match.group(1).upper()} {match.group(2).strip(chr(34))}"


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


def child_pid(name: str) -> int:
    """The pid of this process's child whose command line mentions `name` (0 if none)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and name.encode() in cmdline:
            return int(stat.parent.name)
    return 0


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


@contextmanager
def celery_worker(concurrency: int, env: dict[str, str]):
    """A real Celery worker (prefork, `concurrency` pool processes) for the run's helper tasks;
    yields its pid (0 when no helper is wanted)."""
    if concurrency < 1:
        yield 0
        return
    from config.celery import app

    app.control.purge()  # what an earlier, interrupted bench left queued
    log = tempfile.NamedTemporaryFile("w+", suffix=".log")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in Path(log.name).read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "the Celery worker did not start:\n" + Path(log.name).read_text()
                )
            time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        if "share_failed" in Path(log.name).read_text():
            print("a helper failed; the worker's log:\n" + Path(log.name).read_text()[-4000:])
        log.close()


def machine_busy() -> tuple[int, int]:
    """(all, idle) jiffies of the machine so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]


def crm_reset(connection) -> None:
    """Empties what a sync writes (contacts and their timelines, events and their
    participations, runs) and forgets what the webinars had synced, keeping the webinars, so
    the next first sync starts from the same state as in a new database."""
    from django.db import connection as db

    from crm.models import Contact
    from marketing_events.models import EventOccurrence, MarketingEvent
    from zoom_integration.models import SyncRun, ZoomWebinar

    ZoomWebinar.objects.filter(connection=connection).update(
        registrants_synced_at=None, participants_synced_at=None, event=None
    )
    # CASCADE reaches only what hangs on these (timelines, participations, sessions, skips),
    # not the webinars, which reference events.
    tables = ", ".join(m._meta.db_table for m in (Contact, EventOccurrence, SyncRun))
    with db.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        cursor.execute(f"DELETE FROM {MarketingEvent._meta.db_table}")
    # No ANALYZE: statistics of empty tables would make the planner scan them whole as they
    # fill up during the run; truncated tables have none, as in a new database.


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webinars", type=int, default=20)
    parser.add_argument("--registrants", type=int, default=2500, help="per webinar")
    parser.add_argument("--attendance", type=float, default=0.6)
    parser.add_argument(
        "--client-limits",
        choices=["business", "pro", "off"],
        default="business",
        help="the sync's own per-account rate limiter (zoom_integration/sync/ratelimit.py): "
        "the connection's Zoom plan, Business (light 80, medium 60, heavy 40 requests/s, as the "
        "sandbox account's plan) or Pro (30, 20, 10), or off (ZOOM_RATE_LIMITS with no limit), "
        "to measure the sync itself",
    )
    parser.add_argument(
        "--no-prefetch", action="store_true", help="fetch Zoom pages in the run's thread only"
    )
    parser.add_argument(
        "--apply-threads",
        type=int,
        default=None,
        help="webinars applied at once (ZOOM_SYNC_APPLY_THREADS; default: the setting's)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help="worker processes the run is shared between (ZOOM_SYNC_PROCESSES; default: the "
        "setting's): this one and a Celery worker's pool processes",
    )
    parser.add_argument(
        "--statements", action="store_true", help="also print the time spent per SQL statement kind"
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
    recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection as db

    call_command("migrate", verbosity=0)
    from crm.models import Brand
    from zoom_integration.services import sync as sync_services
    from zoom_integration.services.connections import (
        connection_create_s2s,
        connection_settings_update,
    )
    from zoom_integration.services.metadata import connection_metadata_refresh
    from zoom_integration.services.sync import sync_run_execute, sync_run_request
    from zoom_integration.sync import pipeline as pipeline_module
    from zoom_integration.sync.pipeline import Pipeline

    per_page: list[int] = []
    statements: dict[str, list[float]] = {}  # statement kind -> [count, seconds]
    statements_lock = threading.Lock()  # pages are applied by several threads
    real_apply = Pipeline._apply

    def timing(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            with statements_lock:
                entry = statements.setdefault(statement_kind(sql), [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - started

    def counting_apply(self, *a, **kw):
        # `db` is the applying thread's own connection.
        count = {"n": 0}

        def counter(execute, sql, params, many, context):
            count["n"] += 1
            return execute(sql, params, many, context)

        with (
            db.execute_wrapper(counter),
            db.execute_wrapper(timing) if args.statements else nullcontext(),
        ):
            real_apply(self, *a, **kw)
        per_page.append(count["n"])

    Pipeline._apply = counting_apply
    apply_cpu = [0.0]  # CPU of the threads applying pages (their own clocks)
    real_apply_webinars = Pipeline._apply_webinars

    def timed_apply_webinars(self):
        started = time.thread_time()
        try:
            return real_apply_webinars(self)
        finally:
            with statements_lock:
                apply_cpu[0] += time.thread_time() - started

    Pipeline._apply_webinars = timed_apply_webinars
    if args.no_prefetch:
        from zoom_integration.sync.prefetch import InlinePages

        pipeline_module.PrefetchedPages = InlinePages

    from zoom_integration.sync.ratelimit import AccountRateLimiter

    limiter_wait = [0.0]
    real_acquire = AccountRateLimiter.acquire

    def timed_acquire(self, label):
        started = time.perf_counter()
        try:
            return real_acquire(self, label)
        finally:
            limiter_wait[0] += time.perf_counter() - started

    AccountRateLimiter.acquire = timed_acquire

    with running_sandbox("--no-rate-limits") as sandbox:
        sandbox_pid = child_pid("zoom_sandbox")
        http = httpx.Client(base_url=sandbox, timeout=60, trust_env=False)
        info = http.post(
            "/_sandbox/generate",
            json={
                "webinars": args.webinars,
                "registrants": args.registrants,
                "attendance": args.attendance,
                "seed": 1,
            },
        ).json()
        http.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
        account = http.get("/_sandbox/state").json()["accounts"][0]
        app = next(a for a in account["apps"] if a["type"] == "s2s")
        from django.conf import settings

        settings.ZOOM_API_BASE_URL = f"{sandbox}/v2"
        plan = "pro" if args.client_limits == "pro" else "business"
        if args.client_limits == "off":
            settings.ZOOM_RATE_LIMITS = "light=0,medium=0,heavy=0"
        from zoom_integration.sync.ratelimit import configured_limits

        if args.apply_threads is not None:
            settings.ZOOM_SYNC_APPLY_THREADS = args.apply_threads
        if args.processes is not None:
            settings.ZOOM_SYNC_PROCESSES = args.processes
        processes = max(1, settings.ZOOM_SYNC_PROCESSES)
        if processes > 1 and not os.environ.get("REDIS_URL"):
            print(f"no Redis at {BENCH_REDIS}: the run stays in one process")
            processes = settings.ZOOM_SYNC_PROCESSES = 1
        print(
            f"client-side rate limits ({args.client_limits}): {configured_limits(plan)}; "
            f"prefetch {'off' if args.no_prefetch else 'on'}; "
            f"processes {processes}, apply threads {settings.ZOOM_SYNC_APPLY_THREADS} each"
        )
        worker_env = {
            "ZOOM_API_BASE_URL": settings.ZOOM_API_BASE_URL,
            "ZOOM_OAUTH_BASE_URL": sandbox,
            "ZOOM_SYNC_APPLY_THREADS": str(settings.ZOOM_SYNC_APPLY_THREADS),
            "ZOOM_SYNC_PROCESSES": str(processes),
        }
        if settings.ZOOM_RATE_LIMITS:
            worker_env["ZOOM_RATE_LIMITS"] = settings.ZOOM_RATE_LIMITS
        # The run is executed here, as its worker would: not queued as well.
        sync_services._enqueue = lambda run_id: None
        settings.ZOOM_OAUTH_BASE_URL = sandbox
        brand = Brand.objects.create(name="Bench", is_primary=True)
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
        print(
            f"scenario: {info['webinars']} webinars, {info['registrants']} registrants, "
            f"{info['participants']} participant rows"
        )

        rates, ratios = [], []
        with celery_worker(processes - 1, worker_env) as worker_pid:
            for round_ in range(1, args.runs + 1):
                if round_ > 1:
                    print(f"-- run {round_} of {args.runs} (the CRM emptied first)")
                    crm_reset(connection)
                results = []
                for label in ("first sync", "unchanged re-sync"):
                    per_page.clear()
                    statements.clear()
                    limiter_wait[0] = apply_cpu[0] = 0.0
                    run = sync_run_request(connection=connection)
                    cpu, db_cpu = time.process_time(), postgresql_cpu()
                    zoom_cpu = process_cpu(sandbox_pid)
                    helper_cpu = tree_cpu(worker_pid) if worker_pid else 0.0
                    busy = machine_busy()
                    started = time.perf_counter()
                    run = sync_run_execute(run_id=run.pk)
                    elapsed = time.perf_counter() - started
                    cpu, db_cpu = time.process_time() - cpu, postgresql_cpu() - db_cpu
                    zoom_cpu = process_cpu(sandbox_pid) - zoom_cpu
                    if worker_pid:
                        helper_cpu = tree_cpu(worker_pid) - helper_cpu
                    jiffies, idle = (a - b for a, b in zip(machine_busy(), busy, strict=True))
                    cores = os.cpu_count() * (1 - idle / jiffies) if jiffies else 0
                    # Every record of every page Zoom served counts, the ones the rules skip
                    # included (a skip lists each person once per webinar, whatever their
                    # rows): the run counts them, whichever process applied the page.
                    records = run.counts.get("zoom_records", 0)
                    if label == "first sync":
                        served_first = records
                    counts = run.counts
                    applied = counts.get("registrations", 0) + counts.get("attendance_rows", 0)
                    results.append(elapsed)
                    rate = records / elapsed if elapsed else 0
                    pages = len(per_page)
                    print(
                        f"{label}: {run.status}, {records} Zoom records in {elapsed:.2f} s = "
                        f"{rate:,.0f} records/s; queries per page max {max(per_page, default=0)}"
                        f", mean {(sum(per_page) / pages if pages else 0):.1f} (the {pages} "
                        "pages applied in this process)"
                    )
                    print(
                        f"  records: {counts.get('registrations', 0)} registrations and "
                        f"{counts.get('attendance_rows', 0)} attendance rows written, "
                        f"{records - applied} skipped by the rules "
                        f"({sum(run.skips.values())} skips listed: one per person, reason and "
                        "webinar)"
                    )
                    print(
                        f"  CPU: this process {cpu:.2f} s (applying pages {apply_cpu[0]:.2f} s, "
                        f"fetching and the rest {cpu - apply_cpu[0]:.2f} s), helper worker "
                        f"{helper_cpu:.2f} s, PostgreSQL {db_cpu:.2f} s, sandbox {zoom_cpu:.2f} s; "
                        f"the machine's {os.cpu_count()} cores {cores:.2f} busy on average; "
                        f"this process's fetch threads waited {limiter_wait[0]:.2f} s for the "
                        "rate limiter"
                    )
                    if args.statements:
                        print(
                            "  statements of this process (count, total ms, by kind; wall time "
                            "as seen by Django):"
                        )
                        slowest = sorted(statements.items(), key=lambda i: -i[1][1])[:12]
                        for kind, (n, seconds) in slowest:
                            print(f"  {seconds * 1000:9.0f} ms {n:6d}x  {kind}")
                print(f"re-sync is {results[0] / results[1]:.1f}x faster than the first sync")
                rates.append(served_first / results[0])
                ratios.append(results[0] / results[1])
        if args.runs > 1:
            print(
                f"first sync over {args.runs} runs: median {statistics.median(rates):,.0f} "
                f"records/s (min {min(rates):,.0f}, max {max(rates):,.0f}); re-sync median "
                f"{statistics.median(ratios):.1f}x faster"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
