"""Benchmark: a full Zoom sync and an unchanged re-sync, on PostgreSQL, against the sandbox.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench .venv/bin/python bench/sync_bench.py

Generates 20 webinars x 2,500 registrants (50,000) with 60% attendance and rejoins, rate limits
off; runs the sync in this process (as a worker would) and prints Zoom records/s for the first
sync and the re-sync, and the queries per page. The database named in DATABASE_URL is dropped
and created anew.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import httpx  # noqa: E402
import psycopg  # noqa: E402

from tests.support.sandbox import running_sandbox  # noqa: E402


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webinars", type=int, default=20)
    parser.add_argument("--registrants", type=int, default=2500, help="per webinar")
    parser.add_argument("--attendance", type=float, default=0.6)
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
    from zoom_integration.services.connections import (
        connection_create_s2s,
        connection_settings_update,
    )
    from zoom_integration.services.metadata import connection_metadata_refresh
    from zoom_integration.services.sync import sync_run_execute, sync_run_request
    from zoom_integration.sync.pipeline import Pipeline

    per_page: list[int] = []
    real_apply = Pipeline._apply

    def counting_apply(self, *a, **kw):
        count = {"n": 0}

        def counter(execute, sql, params, many, context):
            count["n"] += 1
            return execute(sql, params, many, context)

        with db.execute_wrapper(counter):
            real_apply(self, *a, **kw)
        per_page.append(count["n"])

    Pipeline._apply = counting_apply

    with running_sandbox("--no-rate-limits") as sandbox:
        http = httpx.Client(base_url=sandbox, timeout=60, trust_env=False)
        info = http.post("/_sandbox/generate", json={
            "webinars": args.webinars, "registrants": args.registrants,
            "attendance": args.attendance, "seed": 1}).json()
        http.post("/_sandbox/settings", json={"rate_limits": False}).raise_for_status()
        account = http.get("/_sandbox/state").json()["accounts"][0]
        app = next(a for a in account["apps"] if a["type"] == "s2s")
        from django.conf import settings

        settings.ZOOM_API_BASE_URL = f"{sandbox}/v2"
        settings.ZOOM_OAUTH_BASE_URL = sandbox
        brand = Brand.objects.create(name="Bench", is_primary=True)
        connection = connection_create_s2s(brand=brand, account_id=account["id"],
                                           client_id=app["client_id"],
                                           client_secret=app["client_secret"])
        connection_metadata_refresh(connection=connection)
        connection_settings_update(connection=connection, sync_webinar_data=True)
        print(f"scenario: {info['webinars']} webinars, {info['registrants']} registrants, "
              f"{info['participants']} participant rows")

        results = []
        for label in ("first sync", "unchanged re-sync"):
            per_page.clear()
            run = sync_run_request(connection=connection)
            started = time.perf_counter()
            run = sync_run_execute(run_id=run.pk)
            elapsed = time.perf_counter() - started
            records = (run.counts.get("registrations", 0) + run.counts.get("attendance_rows", 0)
                       + sum(run.skips.values()))
            results.append(elapsed)
            rate = records / elapsed if elapsed else 0
            pages = len(per_page)
            print(f"{label}: {run.status}, {records} Zoom records in {elapsed:.2f} s = "
                  f"{rate:,.0f} records/s; {pages} pages, queries per page "
                  f"max {max(per_page, default=0)}, mean "
                  f"{(sum(per_page) / pages if pages else 0):.1f}")
        print(f"re-sync is {results[0] / results[1]:.1f}x faster than the first sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())
