"""A real Celery worker process for tests about workers.

Test processes (pytest-xdist) share one broker, so two worker tests running at once would take
each other's tasks (with another test database): the worker's life is held under a lock file,
one such test at a time, and the queue is purged before it starts."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
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


class Workers:
    """Worker processes a test starts, kills (SIGKILL, as a crash) and starts again."""

    def __init__(self, log_dir: Path, env: dict[str, str]):
        self.log_dir, self.env, self.processes = log_dir, env, []

    def start(self, *, beat: bool = False, queues: str = "") -> Path:
        """`queues`: the worker's -Q (default: every queue the settings define)."""
        log_path = self.log_dir / f"worker{len(self.processes) + 1}.log"
        args = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo",
                "--loglevel=INFO", "--without-gossip", "--without-mingle"]  # fmt: skip
        if queues:
            args += ["-Q", queues]
        if beat:
            args += ["-B", "--schedule", str(self.log_dir / "beat-schedule")]
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                args,
                cwd=ROOT,
                env={**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1",
                     **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.processes.append(process)
        wait_for(lambda: "ready." in log_path.read_text(), log=log_path)
        return log_path

    def kill(self) -> None:
        """SIGKILL the newest worker (and its beat child, in its process group)."""
        process = self.processes[-1]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=20)


@contextlib.contextmanager
def worker_processes(log_dir: Path, env: dict[str, str]) -> Iterator[Workers]:
    """As `running_worker`, for tests that kill a worker and start another: yields `Workers`
    (none started yet); tasks stop running inline meanwhile."""
    from config.celery import app

    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        app.conf.update(task_always_eager=False, CELERY_TASK_ALWAYS_EAGER=False)
        app.control.purge()
        workers = Workers(log_dir, env)
        try:
            yield workers
        finally:
            workers.stop_all()
            app.control.purge()
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
