"""The OpenAPI schema is the truth (DESIGN "Production safety"): the API fuzzer (schemathesis)
runs every operation of /api/schema/ against the app, served by gunicorn on a seeded database
of its own (PostgreSQL when the suite runs on it), with every check on (schemathesis.toml, which
also lists the per-operation exceptions and their reasons). The run's summary (how many cases were
generated) is printed at the end of the session."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.support.sandbox import PROJECT_ROOT, free_port, running_sandbox

pytestmark = pytest.mark.integration

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
CONFIG = PROJECT_ROOT / "schemathesis.toml"
# Fixed, so that a red run is reproducible; SCHEMATHESIS_SEED explores other corners.
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261206")
MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15")
# A regex of paths to run alone (e.g. while working on some endpoints); unset: every operation.
ONLY_PATHS = os.environ.get("SCHEMATHESIS_INCLUDE_PATH_REGEX", "")


def _database_url(tmp: Path) -> tuple[str, str | None]:
    """A scratch database like the suite's: PostgreSQL when DATABASE_URL names one."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        name = f"crm_contract_{uuid.uuid4().hex[:10]}"
        return re.sub(r"/[^/]*$", f"/{name}", url), name
    return f"sqlite:///{tmp / 'contract.sqlite3'}", None


def _postgres(url: str, sql: str) -> None:
    import psycopg

    admin = re.sub(r"/[^/]*$", "/postgres", url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql)


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def _wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn stopped:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer {url}:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def zoom_base():
    """The Zoom the app talks to: the sandbox (connecting with made-up credentials is then
    refused as Zoom refuses them, not a 502 for want of a network)."""
    with running_sandbox("--generate", "webinars=2,seed=1") as base_url:
        yield base_url


@pytest.fixture(scope="module")
def served_app(zoom_base):
    """gunicorn on a migrated, seeded database; yields (base URL, bearer token)."""
    tmp = Path(tempfile.mkdtemp(prefix="crm-contract-"))
    database_url, pg_name = _database_url(tmp)
    if pg_name:
        _postgres(database_url, f'CREATE DATABASE "{pg_name}"')
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "DJANGO_ALLOW_ASYNC"))
    }
    env.update(
        DATABASE_URL=database_url,
        DEBUG="false",
        # The fuzzer's requests are many and fast: the rate limit has tests of its own.
        API_RATE_LIMIT="1000000/s",
        # Nothing here may reach the suite's Redis or its workers' broker.
        REDIS_URL="",
        CELERY_BROKER_URL="filesystem://",
        CELERY_BROKER_DIR=str(tmp / "broker"),
        ZOOM_API_BASE_URL=f"{zoom_base}/v2",
        ZOOM_OAUTH_BASE_URL=zoom_base,
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    log = tmp / "gunicorn.log"
    process = None
    try:
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo")
        token = _manage(env, "create_api_token", "admin@example.com").strip().splitlines()[-1]
        gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
        with log.open("w") as out:
            process = subprocess.Popen(
                [gunicorn, "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2", "--threads", "2"],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/api/schema/", process, log)
        yield base, token, log
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        if pg_name:
            _postgres(database_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.skipif(
    SCHEMATHESIS is None, reason="schemathesis is not installed (pip install -e .[dev])"
)
def test_every_operation_keeps_the_schemas_word(served_app, record_property):
    assert SCHEMATHESIS, "schemathesis is a dev dependency: CI must run the contract test"
    base, token, log = served_app
    command = [
        SCHEMATHESIS,
        "--config-file",
        str(CONFIG),
        "run",
        f"{base}/api/schema/",
        "--header",
        f"Authorization: Bearer {token}",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "2",
        "--no-color",
    ]
    if ONLY_PATHS:
        command += ["--include-path-regex", ONLY_PATHS]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    # Anchored at a line's start: the output holds long runs of fuzzed digits.
    cases = re.search(r"^ *(\d+) generated, .*$", output, re.MULTILINE)
    summary = cases.group(0).strip() if cases else "no case count found"
    record_property("schemathesis", f"API contract (schemathesis, seed {SEED}): {summary}")
    assert done.returncode == 0, (
        f"schemathesis found contract failures ({summary}):\n{output[-20000:]}\n"
        f"server log:\n{log.read_text()[-5000:]}"
    )
    # A run that tested nothing proves nothing.
    assert cases and int(cases.group(1)) > (50 if ONLY_PATHS else 500), output[-5000:]
