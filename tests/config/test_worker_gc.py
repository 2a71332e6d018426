"""The Celery worker's garbage-collector settings (config/celery.py)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json
import django
django.setup()
import config.celery as celery_config
from celery.signals import worker_init
before = {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}
worker_init.send(sender=None)
after = {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}
print(json.dumps({"before": before, "after": after,
                  "expected": celery_config.WORKER_GC_THRESHOLDS}))
"""


def test_worker_start_freezes_what_imports_left_and_raises_the_threshold():
    # In a process of its own: gc.freeze and the thresholds are the whole process's.
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
    )
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["before"]["threshold"][0] == 700  # Python's default, until the worker starts
    assert seen["before"]["frozen"] == 0
    assert seen["after"]["threshold"] == seen["expected"]
    assert seen["after"]["frozen"] > 10_000  # Django's and Celery's objects, frozen
