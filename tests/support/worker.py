"""A real Celery worker process for tests about workers.

Test processes (pytest-xdist) share one broker, so two worker tests running at once would take
each other's tasks (with another test database): the worker's life is held under a lock file,
one such test at a time, and the queue is purged before it starts."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from django.db import connection as db

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "var" / "celery-worker-test.lock"


def database_url() -> str:
    """This test's database, as a URL another process can use."""
    conf = db.settings_dict
    if conf["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{conf['NAME']}"
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf["PASSWORD"] else "")
    return f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"


def wait_for(condition, *, timeout=30.0, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tail = log.read_text()[-3000:] if log else ""
    raise AssertionError(f"condition not met within {timeout} s\n{tail}")


@contextlib.contextmanager
def running_worker(
    log_path: Path, env: dict[str, str], *, args: tuple[str, ...] = (), locked: bool = True
) -> Iterator[subprocess.Popen]:
    """A worker (solo pool) on the broker this process uses, on this test's database, with
    `env` on top of this process's environment and `args` on its command line; tasks stop
    running inline meanwhile. Yields the process (its log is `log_path`). `locked=False`: a
    second worker inside a test that holds the lock already."""
    from config.celery import app

    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w") as lock:
        if locked:
            fcntl.flock(lock, fcntl.LOCK_EX)
            app.conf.update(task_always_eager=False, CELERY_TASK_ALWAYS_EAGER=False)
            app.control.purge()
        full_env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"]
                + ["--loglevel=INFO", "--without-gossip", "--without-mingle", *args],
                cwd=ROOT,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for(lambda: "ready." in log_path.read_text(), log=log_path)
                yield process
            finally:
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=20)
                if locked:
                    app.conf.update(task_always_eager=True, CELERY_TASK_ALWAYS_EAGER=True)


def reachable_redis_url(db: int) -> str | None:
    """REDIS_URL's server (else the local one) with database `db`, if it answers."""
    import redis

    url = (os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    url = f"{url}/{db}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return None
    return url
