"""Benchmark: registrant records per second served by the Zoom sandbox.

Starts ``python -m zoom_sandbox --no-rate-limits`` with one generated webinar of 50,000
registrants, gets an S2S token, then pages through every registrant with ``page_size=300`` on one
keep-alive connection, several times, and prints records/s. Run from the project root:

    .venv/bin/python bench/sandbox_registrants.py [--registrants 50000] [--passes 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.sandbox import running_sandbox  # noqa: E402


def one_pass(client: httpx.Client, webinar_id: int) -> int:
    records = 0
    params = {"page_size": "300"}
    while True:
        response = client.get(f"/v2/webinars/{webinar_id}/registrants", params=params)
        response.raise_for_status()
        body = response.json()
        records += len(body["registrants"])
        if not body["next_page_token"]:
            return records
        params = {"page_size": "300", "next_page_token": body["next_page_token"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrants", type=int, default=50_000)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    spec = f"webinars=1,registrants={args.registrants},attendance=0,seed=1"
    with running_sandbox("--no-rate-limits", "--generate", spec) as base_url:
        with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as client:
            token = client.post(
                "/oauth/token",
                params={"grant_type": "account_credentials", "account_id": "acct_1"},
                auth=("s2s-client-1", "s2s-secret-1"),
            ).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            webinar_id = client.get("/_sandbox/state").json()["accounts"][0]["webinars"][0]["id"]
            one_pass(client, webinar_id)  # warm-up: builds the pre-serialised fragments
            rates = []
            for _ in range(args.passes):
                started = time.perf_counter()
                records = one_pass(client, webinar_id)
                elapsed = time.perf_counter() - started
                rates.append(records / elapsed)
                print(f"{records} records in {elapsed:.3f} s = {records / elapsed:,.0f} records/s")
    print(
        f"median {statistics.median(rates):,.0f} records/s over {args.passes} passes "
        f"(page_size 300, rate limits off, client parses every page)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
