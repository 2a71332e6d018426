"""The test suite's settings: the project's (config/settings.py), plus what only tests need.

- Under pytest-xdist each test process gets a Redis database of its own (10, 11, …), so that
  one process clearing its cache never pulls the rug from under another.
- On SQLite the test database is a file, not memory, so that tests can share it with a real
  worker process; one per test process, so that concurrent test runs never share it."""

import os
import re
import tempfile

from config.settings import *  # noqa: F403
from config.settings import DATABASES, REDIS_URL

_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _xdist_worker.startswith("gw") and _xdist_worker[2:].isdigit():
    REDIS_URL = re.sub(r"(/\d+)?$", f"/{10 + int(_xdist_worker[2:])}", REDIS_URL, count=1)
    CACHES = {"default": {"BACKEND": "crm.cache.ReusedClientRedisCache", "LOCATION": REDIS_URL}}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault(
        "TEST", {"NAME": os.path.join(tempfile.gettempdir(), f"crm-test-{os.getpid()}.sqlite3")}
    )
