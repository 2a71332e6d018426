"""What `/readyz` checks: the database, the cache, the Celery broker and the migrations, each
answered `ok` or the reason it is not, in words that carry no secret (no URL, host name or
driver message: only the kind of failure).

Each check opens its own short-lived connection with a timeout of `CHECK_TIMEOUT` seconds, so a
probe never waits on a pool's stale connection nor hangs on a silent host, and the checks run
side by side, so the whole probe answers within about that time. What "reachable" means:

- database: a new connection answers `SELECT 1` (PostgreSQL: connect timeout and statement
  timeout; SQLite: the file opens and answers);
- cache: Redis answers PING on the cache's URL; a local-memory cache (the embedded demo) lives
  in the process and is reachable when a value written can be read back;
- broker: Redis answers PING on the broker URL; kombu's filesystem broker (the embedded demo) is
  reachable when its folders exist and are writable; any other broker, when kombu connects;
- migrations: none left to apply. Remembered once true (a migration needs a new deploy, and
  loading the migration graph is the costly part), checked anew until then.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from django.conf import settings
from django.db import connections
from django.db.utils import load_backend

OK = "ok"
CHECK_TIMEOUT = 2.0
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")
_migrations_done = threading.Event()


def _failure(exc: BaseException) -> str:
    # The exception's class only: messages of drivers name hosts, ports and users.
    return f"unreachable ({type(exc).__name__})"


def _fresh_database():
    """A new connection to the default database as the settings name it, with short timeouts
    (closed by the caller), never one of the process's pooled connections."""
    params = connections.configure_settings(
        {"default": copy.deepcopy(settings.DATABASES["default"])}
    )["default"]
    options = params.setdefault("OPTIONS", {})
    if "postgresql" in params["ENGINE"]:
        options["connect_timeout"] = max(1, int(CHECK_TIMEOUT))
        options["options"] = f"-c statement_timeout={int(CHECK_TIMEOUT * 1000)}"
    elif "sqlite3" in params["ENGINE"]:
        options["timeout"] = CHECK_TIMEOUT
    return load_backend(params["ENGINE"]).DatabaseWrapper(params, "default")


def check_database() -> str:
    wrapper = _fresh_database()
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return OK
    except Exception as exc:  # noqa: BLE001 - any failure is an answer, never a 500
        return _failure(exc)
    finally:
        wrapper.close()


def _migrations_on_disk() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Every migration the code has ({key: the keys it replaces}), read without a database."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True, replace_migrations=False)
    return {key: list(m.replaces or ()) for key, m in loader.disk_migrations.items()}


def check_migrations() -> str:
    """The migrations the code has against `django_migrations`, read through the check's own
    connection (Django's recorder would open a connection of the thread's own, and keep it)."""
    if _migrations_done.is_set():
        return OK
    wrapper = _fresh_database()
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT app, name FROM django_migrations")
            applied = {tuple(row) for row in cursor.fetchall()}
    except Exception as exc:  # noqa: BLE001
        return _failure(exc)
    finally:
        wrapper.close()
    on_disk = _migrations_on_disk()
    # A squashed migration counts as applied when what it replaces was (Django records both).
    replaced = {key for replaces in on_disk.values() for key in replaces}
    pending = [
        key
        for key, replaces in on_disk.items()
        if key not in applied
        and not (replaces and all(r in applied for r in replaces))
        and not (key in replaced and any(k in applied for k, r in on_disk.items() if key in r))
    ]
    if pending:
        return f"{len(pending)} migrations not applied"
    _migrations_done.set()
    return OK


def _ping_redis(url: str) -> str:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
    )
    try:
        client.ping()
        return OK
    except Exception as exc:  # noqa: BLE001
        return _failure(exc)
    finally:
        client.close()


def _is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


def check_cache() -> str:
    config = settings.CACHES["default"]
    location = config.get("LOCATION", "")
    if isinstance(location, list | tuple):
        location = location[0] if location else ""
    if "redis" in config["BACKEND"].lower() and _is_redis(str(location)):
        return _ping_redis(str(location))
    from django.core.cache import cache

    try:
        probe = os.urandom(8).hex()
        cache.set("readyz:probe", probe, timeout=10)
        return OK if cache.get("readyz:probe") == probe else "value not read back"
    except Exception as exc:  # noqa: BLE001
        return _failure(exc)


def check_broker() -> str:
    url = settings.CELERY_BROKER_URL
    if _is_redis(url):
        return _ping_redis(url)
    if url.startswith("filesystem://"):
        options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
        folders = {options.get(k) for k in ("data_folder_in", "data_folder_out")} - {None}
        missing = [f for f in folders if not (os.path.isdir(f) and os.access(f, os.W_OK))]
        return "folder missing or not writable" if missing else OK
    from config.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)
        return OK
    except Exception as exc:  # noqa: BLE001
        return _failure(exc)


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "migrations": check_migrations,
}


def readiness() -> dict[str, str]:
    """Every check's answer, run side by side; a check still running after the timeout (and a
    little slack) is answered `timeout`."""
    futures = {name: _executor.submit(check) for name, check in CHECKS.items()}
    answers = {}
    for name, future in futures.items():
        try:
            answers[name] = future.result(timeout=CHECK_TIMEOUT + 0.5)
        except FutureTimeout:
            answers[name] = "timeout"
    return answers
