"""Request ids and LOG_FORMAT=json (issue 22): a sane X-Request-ID is kept, anything else
replaced; every record of the request carries it; a Celery task's records carry its id."""

import io
import json
import logging
import re

import pytest

from config.celery import app
from config.logs import ContextFilter, json_formatter


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123_X.y", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("bad id", False),
        ("x\ny", False),
        ("", False),
    ],
)
def test_a_sane_request_id_is_kept_and_any_other_replaced(client, given, kept):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=given)
    rid = response["X-Request-ID"]
    if kept:
        assert rid == given
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", rid)


@pytest.mark.django_db
def test_every_record_of_a_request_carries_its_id_as_json(client, json_lines):
    client.post(
        "/integrations/zoom/webhooks/424242/",
        b"{}",
        content_type="application/json",
        HTTP_X_REQUEST_ID="req-42",
    )
    records = [r for r in json_lines() if r["event"] == "zoom.webhook.unknown_connection"]
    assert len(records) == 1
    record = records[0]
    assert record["request_id"] == "req-42"
    assert (record["level"], record["logger"]) == ("INFO", "zoom_integration.webhooks.receiver")
    assert record["connection"] == 424242
    assert {"time", "event"} <= set(record)
    logging.getLogger("after").info("outside")
    assert "request_id" not in json_lines()[-1]


@app.task(name="tests.operations.log_something")
def log_something():
    logging.getLogger("tests.task").info("task.ran", extra={"n": 1})


def test_a_tasks_records_carry_its_id(json_lines):
    result = log_something.apply(task_id="task-77")
    assert result.successful()
    record = next(r for r in json_lines() if r["event"] == "task.ran")
    assert (record["task_id"], record["n"]) == ("task-77", 1)
    assert "request_id" not in record


def test_log_format_must_be_text_or_json(monkeypatch):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "LOG_FORMAT": "xml", "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "LOG_FORMAT='xml': expected text or json." in run.stderr
