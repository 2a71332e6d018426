"""Benchmark: 5,000 workflow enrollments, each registering a contact to a Zoom webinar, run by a
real Celery worker against the Zoom sandbox with its rate limits on (rules W3, W7).

    .venv/bin/python bench/workflows_bench.py [--contacts 5000] [--threads 16] [--plan business]

PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/crm_workflows_bench,
dropped and created anew), Redis db 7 (cache, shared rate limiter) and db 8 (broker). Prints
executions per second, the statuses, the Zoom calls per second as the sandbox logged them next
to the plan's limits, the 429s the sandbox answered, and the registrants per e-mail in the
sandbox (duplicates must be zero).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_workflows_bench"
)
ENV = {
    "DATABASE_URL": DB_URL,
    "REDIS_URL": "redis://127.0.0.1:6379/7",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/8",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "LOG_LEVEL": "WARNING",
    "DEBUG": "false",
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


def start_worker(threads: int) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv/bin/celery"), "-A", "config", "worker", "-P", "threads",
        "-c", str(threads), "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-l", "WARNING",
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=ROOT, env={**os.environ, **ENV})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=16, help="worker threads")
    parser.add_argument("--plan", choices=sorted(PLAN_LIGHT), default="business")
    args = parser.parse_args()

    recreate_database(DB_URL)
    for db in (7, 8):
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from crm.models import Account, Brand, Contact, Tier
    from workflows.models import FINAL_STATUSES, ActionExecution
    from workflows.services import enroll_contacts, workflow_create
    from zoom_integration.models import ZoomConnection
    from zoom_integration.services.connections import (
        connection_create_s2s,
        connection_settings_update,
    )
    from zoom_integration.services.metadata import connection_metadata_refresh

    with running_sandbox() as sandbox_url:
        sandbox = httpx.Client(base_url=sandbox_url, timeout=30, trust_env=False)
        sandbox.post("/_sandbox/scenario", json=scenario(args.plan)).raise_for_status()
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
            connection=ZoomConnection.objects.get(pk=connection.pk), zoom_plan=args.plan
        )
        Contact.objects.bulk_create(
            [
                Contact(email=f"person{i}@bench.example", first_name=f"P{i}", last_name="Bench")
                for i in range(args.contacts)
            ],
            batch_size=2000,
        )
        workflow = workflow_create(
            name="Bench",
            trigger={"type": "manual"},
            actions=[{"type": "zoom.add_contact_to_webinar", "webinar_id": str(WEBINAR_ID)}],
            enabled=True,
            actor=None,
        )
        sandbox.delete("/_sandbox/requests").raise_for_status()
        worker = start_worker(args.threads)
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
            while time.time() < deadline:
                done = ActionExecution.objects.filter(status__in=FINAL_STATUSES).count()
                if done >= len(ids):
                    break
                time.sleep(0.5)
            finished = time.time()
        finally:
            worker.terminate()
            worker.wait(timeout=30)

        statuses = collections.Counter(ActionExecution.objects.values_list("status", flat=True))
        attempts = collections.Counter(ActionExecution.objects.values_list("attempts", flat=True))
        log = sandbox.get("/_sandbox/requests").json()["requests"]
        state = sandbox.get("/_sandbox/state").json()
    webinar = next(w for a in state["accounts"] for w in a["webinars"] if w["id"] == WEBINAR_ID)
    emails = collections.Counter(r["email"].lower() for r in webinar.get("registrants", []))
    duplicates = sum(n - 1 for n in emails.values() if n > 1)
    per_second = collections.Counter(entry["time"] for entry in log)
    registrations = [e for e in log if e["method"] == "POST" and e["path"].endswith("/registrants")]
    too_many = [e for e in log if e["status"] == 429]
    elapsed = finished - started

    print(f"contacts enrolled:            {len(ids)} in {enrolled:.1f} s")
    print(f"executions final:             {done} in {elapsed:.1f} s")
    print(f"executions per second:        {done / elapsed:.1f}")
    print(f"statuses:                     {dict(statuses)}")
    print(f"attempts per execution:       {dict(sorted(attempts.items()))}")
    print(f"Zoom API calls (sandbox log): {len(log)}; registration POSTs: {len(registrations)}")
    print(f"busiest second (all calls):   {max(per_second.values()) if per_second else 0} "
          f"(plan {args.plan}: Light {PLAN_LIGHT[args.plan]}/s, sliding window)")  # fmt: skip
    print(f"429 answers from the sandbox: {len(too_many)}")
    print(f"registrants in the sandbox:   {sum(emails.values())} for {len(emails)} e-mails; "
          f"duplicates: {duplicates}")  # fmt: skip
    ok = done == len(ids) and duplicates == 0 and statuses.get("succeeded", 0) == len(ids)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
