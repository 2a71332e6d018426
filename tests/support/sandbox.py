"""Start ``python -m zoom_sandbox`` as a subprocess for tests and benchmarks.

with running_sandbox("--generate", "webinars=3,seed=1") as base_url:
    httpx.get(f"{base_url}/_sandbox/state")
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

READY_PREFIX = "zoom sandbox listening on "
START_TIMEOUT = 20.0
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_sandbox(
    *args: str, port: int | None = None, env: dict[str, str] | None = None
) -> Iterator[str]:
    """Yield the base URL of a fresh sandbox; kill it on exit (stderr in the failure message).
    `env` adds environment variables; a control token is never inherited from the caller's
    environment (the suite drives an open control surface unless a test says otherwise)."""
    port = port or free_port()
    inherited = {k: v for k, v in os.environ.items() if k != "ZOOM_SANDBOX_CONTROL_TOKEN"}
    command = [sys.executable, "-m", "zoom_sandbox", "--host", "127.0.0.1", "--port", str(port)]
    # stderr goes to a file, not a pipe: a chatty server must never block on a full pipe.
    stderr = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [*command, *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**inherited, **(env or {}), "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield _wait_ready(process, stderr)
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
        stderr.close()


def _wait_ready(process: subprocess.Popen[str], stderr: IO[str]) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = process.stdout.readline()
            if line.startswith(READY_PREFIX):
                return line[len(READY_PREFIX) :].strip()
            if not line and process.poll() is not None:
                break
    finally:
        selector.close()
    process.kill()
    process.wait(timeout=10)
    stderr.seek(0)
    raise RuntimeError(f"zoom sandbox did not start within {START_TIMEOUT:.0f} s:\n{stderr.read()}")
