"""Benchmark: 5,000 workflow enrollments run by a real Celery worker (with its beat) against the
Zoom sandbox with its rate limits on (rules W3, W7, W9, W10). Two workflows, one after the other:

- `line`: one step, registering each contact to a Zoom webinar;
- `steps`: delay (DELAY_SECONDS) → branch (company is "Acme", 4 contacts in 5) → yes: register to
  the webinar; no: set the lifecycle stage. Each delay waits as a due row that the engine's
  scan (beat, every WORKFLOW_TICK_SECONDS) takes when due: the report gives how late each one
  was taken (it must be under 60 s).

    .venv/bin/python bench/workflows_bench.py [--contacts 5000] [--threads 16] [--plan business]
                                              [--workflow line|steps|both]

PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/crm_workflows_bench,
dropped and created anew for each workflow), Redis (BENCH_REDIS_DBS, default "3,4": cache and
shared rate limiter, broker). Prints executions per second, the statuses, the Zoom calls per
second as the sandbox logged them next to the plan's limits, the 429s the sandbox answered, the
registrants per e-mail in the sandbox (duplicates must be zero) and, for `steps`, the delays'
lateness.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_workflows_bench"
)
REDIS_DBS = [int(d) for d in os.environ.get("BENCH_REDIS_DBS", "3,4").split(",")]
DELAY_SECONDS = 30
TICK_SECONDS = 5
ENV = {
    "DATABASE_URL": DB_URL,
    "REDIS_URL": f"redis://127.0.0.1:6379/{REDIS_DBS[0]}",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DBS[1]}",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "LOG_LEVEL": "WARNING",
    "DEBUG": "false",
    "WORKFLOW_TICK_SECONDS": str(TICK_SECONDS),
}
os.environ.update(ENV)

import httpx  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402

from tests.support.sandbox import running_sandbox  # noqa: E402

WEBINAR_ID = 86000000001
ACCOUNT = "acct_bench"
PLAN_LIGHT = {"pro": 30, "business": 80}


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def scenario(plan: str) -> dict:
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 7 * 86400))
    return {
        "accounts": [
            {
                "id": ACCOUNT,
                "plan": plan,
                "apps": [{"type": "s2s", "client_id": "bench", "client_secret": "bench-secret"}],
                "webhook": {"url": "", "secret_token": "whsec"},
                "users": [
                    {"id": "u_owner", "email": "owner@bench.test", "first_name": "Olga",
                     "last_name": "Owner", "role": "owner", "status": "active"}
                ],
                "webinars": [
                    {"id": WEBINAR_ID, "host_id": "u_owner", "topic": "Bench webinar",
                     "type": 5, "start_time": start, "duration": 60, "timezone": "UTC",
                     "registration_required": True}
                ],
            }
        ]
    }  # fmt: skip


def start_worker(threads: int, schedule: Path) -> subprocess.Popen:
    """A worker with its embedded beat (the engine's scan takes due delays)."""
    command = [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "threads",
        "-c", str(threads), "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-l", "WARNING", "-B", "--schedule", str(schedule),
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **ENV})


def steps(webinar_id: int) -> list[dict]:
    acme = {"or": [{"and": [{"type": "property", "property": "company", "operator": "eq",
                             "value": "Acme"}]}]}  # fmt: skip
    return [
        {"id": "wait", "type": "delay", "seconds": DELAY_SECONDS, "next": "acme"},
        {"id": "acme", "type": "branch", "filters": acme, "yes": "register", "no": "stage"},
        {"id": "register", "type": "zoom.add_contact_to_webinar", "webinar_id": str(webinar_id),
         "next": None},
        {"id": "stage", "type": "set_property", "property": "lifecyclestage", "value": "lead",
         "next": None},
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=16, help="worker threads")
    parser.add_argument("--plan", choices=sorted(PLAN_LIGHT), default="business")
    parser.add_argument("--workflow", choices=["line", "steps", "both"], default="both")
    args = parser.parse_args()
    kinds = ["line", "steps"] if args.workflow == "both" else [args.workflow]
    ok = True
    for kind in kinds:
        # Each run in a fresh process: a database dropped and made again, a new Django.
        code = subprocess.run(
            [sys.executable, __file__, "--run", kind, "--contacts", str(args.contacts),
             "--threads", str(args.threads), "--plan", args.plan], cwd=ROOT,
        ).returncode  # fmt: skip
        ok = ok and code == 0
    return 0 if ok else 1


def run(kind: str, contacts: int, threads: int, plan: str) -> int:
    recreate_database(DB_URL)
    for db in REDIS_DBS:
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from crm.models import Account, Brand, Contact, Tier
    from workflows.models import ActionExecution, Enrollment
    from workflows.services import enroll_contacts, workflow_create
    from zoom_integration.models import ZoomConnection
    from zoom_integration.services.connections import (
        connection_create_s2s,
        connection_settings_update,
    )
    from zoom_integration.services.metadata import connection_metadata_refresh

    with running_sandbox() as sandbox_url:
        sandbox = httpx.Client(base_url=sandbox_url, timeout=30, trust_env=False)
        sandbox.post("/_sandbox/scenario", json=scenario(plan)).raise_for_status()
        sandbox.post("/_sandbox/settings", json={"rate_limits": True}).raise_for_status()
        settings.ZOOM_API_BASE_URL = f"{sandbox_url}/v2"
        settings.ZOOM_OAUTH_BASE_URL = sandbox_url
        worker_env = {"ZOOM_API_BASE_URL": f"{sandbox_url}/v2", "ZOOM_OAUTH_BASE_URL": sandbox_url}
        ENV.update(worker_env)

        Account.objects.update_or_create(pk=1, defaults={"tier": Tier.PROFESSIONAL})
        brand = Brand.objects.create(name="Bench", is_primary=True)
        connection = connection_create_s2s(
            brand=brand, account_id=ACCOUNT, client_id="bench", client_secret="bench-secret"
        )
        connection_metadata_refresh(connection=ZoomConnection.objects.get(pk=connection.pk))
        # The client-side limiter follows the account's plan.
        connection_settings_update(
            connection=ZoomConnection.objects.get(pk=connection.pk), zoom_plan=plan
        )
        Contact.objects.bulk_create(
            [
                Contact(email=f"person{i}@bench.example", first_name=f"P{i}", last_name="Bench",
                        company="Acme" if i % 5 else "Globex")
                for i in range(contacts)
            ],
            batch_size=2000,
        )  # fmt: skip
        if kind == "line":
            workflow = workflow_create(
                name="Bench",
                trigger={"type": "manual"},
                actions=[{"type": "zoom.add_contact_to_webinar", "webinar_id": str(WEBINAR_ID)}],
                enabled=True,
                actor=None,
            )
        else:
            workflow = workflow_create(
                name="Bench", trigger={"type": "manual"}, steps=steps(WEBINAR_ID), enabled=True,
                actor=None,
            )  # fmt: skip
        sandbox.delete("/_sandbox/requests").raise_for_status()
        schedule = Path(f"/tmp/workflows-bench-beat-{os.getpid()}")
        worker = start_worker(threads, schedule)
        try:
            time.sleep(4)  # the worker connects to the broker
            ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
            started = time.time()
            for offset in range(0, len(ids), 1000):
                enroll_contacts(
                    workflow=workflow, contact_ids=ids[offset : offset + 1000], source="manual"
                )
            enrolled = time.time() - started
            deadline = started + 1800
            done = 0
            open_states = ["running", "waiting"]
            while time.time() < deadline:
                done = Enrollment.objects.exclude(status__in=open_states).count()
                if done >= len(ids):
                    break
                time.sleep(0.5)
            finished = time.time()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            schedule.unlink(missing_ok=True)

        statuses = collections.Counter(Enrollment.objects.values_list("status", flat=True))
        steps_done = collections.Counter(
            ActionExecution.objects.values_list("action_type", "status")
        )
        attempts = collections.Counter(ActionExecution.objects.values_list("attempts", flat=True))
        lateness = sorted(
            (e.finished_at - datetime.fromisoformat(e.output["until"])).total_seconds()
            for e in ActionExecution.objects.filter(action_type="delay").only(
                "finished_at", "output"
            )
            if e.finished_at and e.output.get("until")
        )
        wanted = sum(1 for i in range(contacts) if i % 5) if kind == "steps" else contacts
        log = sandbox.get("/_sandbox/requests").json()["requests"]
        state = sandbox.get("/_sandbox/state").json()
    webinar = next(w for a in state["accounts"] for w in a["webinars"] if w["id"] == WEBINAR_ID)
    emails = collections.Counter(r["email"].lower() for r in webinar.get("registrants", []))
    duplicates = sum(n - 1 for n in emails.values() if n > 1)
    per_second = collections.Counter(entry["time"] for entry in log)
    registrations = [e for e in log if e["method"] == "POST" and e["path"].endswith("/registrants")]
    too_many = [e for e in log if e["status"] == 429]
    elapsed = finished - started

    print(f"== workflow: {kind}")
    print(f"contacts enrolled:            {len(ids)} in {enrolled:.1f} s")
    print(f"enrollments final:            {done} in {elapsed:.1f} s")
    print(f"enrollments per second:       {done / elapsed:.1f}")
    print(f"enrollment statuses:          {dict(statuses)}")
    print(f"steps (type, status):         {dict(sorted(steps_done.items()))}")
    print(f"attempts per step:            {dict(sorted(attempts.items()))}")
    if kind == "steps":
        late_60 = sum(1 for s in lateness if s > 60)
        p99 = lateness[int(len(lateness) * 0.99) - 1] if lateness else 0
        median = lateness[len(lateness) // 2]
        print(f"delays fired:                 {len(lateness)} ({DELAY_SECONDS} s each); taken "
              f"after due: median {median:.1f} s, p99 {p99:.1f} s, max {lateness[-1]:.1f} s; "
              f"later than 60 s: {late_60} (beat every {TICK_SECONDS} s)")  # fmt: skip
    print(f"Zoom API calls (sandbox log): {len(log)}; registration POSTs: {len(registrations)}")
    print(f"busiest second (all calls):   {max(per_second.values()) if per_second else 0} "
          f"(plan {plan}: Light {PLAN_LIGHT[plan]}/s, sliding window)")  # fmt: skip
    print(f"429 answers from the sandbox: {len(too_many)}")
    print(f"registrants in the sandbox:   {sum(emails.values())} for {len(emails)} e-mails "
          f"(expected {wanted}); duplicates: {duplicates}")  # fmt: skip
    ok = (
        done == len(ids)
        and duplicates == 0
        and statuses.get("completed", 0) == len(ids)
        and len(emails) == wanted
        and (kind == "line" or (len(lateness) == len(ids) and lateness[-1] <= 60))
    )
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--run":
        parsed = argparse.ArgumentParser()
        parsed.add_argument("--run")
        parsed.add_argument("--contacts", type=int)
        parsed.add_argument("--threads", type=int)
        parsed.add_argument("--plan")
        a = parsed.parse_args()
        sys.exit(run(a.run, a.contacts, a.threads, a.plan))
    sys.exit(main())
