"""Runs the demo stack in the foreground: the Zoom sandbox, a Celery worker with embedded beat,
and the web server (gunicorn). Prints the URL and the demo logins once the web answers.
Ctrl-C stops everything; if one process dies, the others are stopped too."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = int(os.environ.get("PORT", "8000"))
SANDBOX_PORT = int(os.environ.get("ZOOM_SANDBOX_PORT", "8765"))
SANDBOX_GENERATE = os.environ.get(
    "ZOOM_SANDBOX_GENERATE", "webinars=20,registrants=500,attendance=0.6,seed=1"
)


def commands() -> list[tuple[str, list[str]]]:
    cmds = []
    if (ROOT / "zoom_sandbox" / "__main__.py").exists():
        cmds.append(
            (
                "sandbox",
                [
                    PY,
                    "-m",
                    "zoom_sandbox",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(SANDBOX_PORT),
                    "--generate",
                    SANDBOX_GENERATE,
                ],
            )
        )
    cmds.append(
        (
            "worker",
            [
                PY,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                # The engine's scan and the runs it releases have their own queue.
                "-Q",
                "workflows-scan,workflows,celery",
                "--beat",
                "--loglevel=INFO",
                "--concurrency=1",
                "--schedule",
                str(ROOT / "var" / "celerybeat-schedule"),
            ],
        )
    )
    cmds.append(
        (
            "web",
            [
                PY,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"{HOST}:{PORT}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
            ],
        )
    )
    return cmds


def pump(name: str, stream) -> None:
    for line in iter(stream.readline, ""):
        sys.stdout.write(f"{name:>8} | {line}")
        sys.stdout.flush()


def wait_for_web(url: str, procs, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for _n, p in procs):
            return False
        try:
            with urllib.request.urlopen(url + "accounts/login/", timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    return False


def main() -> int:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    # The demo talks to the sandbox, never to real Zoom.
    env.setdefault("ZOOM_API_BASE_URL", f"http://127.0.0.1:{SANDBOX_PORT}/v2")
    env.setdefault("ZOOM_OAUTH_BASE_URL", f"http://127.0.0.1:{SANDBOX_PORT}")
    env.setdefault("PUBLIC_BASE_URL", f"http://{HOST}:{PORT}")
    procs: list[tuple[str, subprocess.Popen]] = []
    for name, cmd in commands():
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=pump, args=(name, proc.stdout), daemon=True).start()
        procs.append((name, proc))

    stopping = threading.Event()

    def stop(*_args) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    url = f"http://{HOST}:{PORT}/"
    if wait_for_web(url, procs):
        # The demo brand's Zoom connection, to the sandbox (idempotent; needs the sandbox up).
        subprocess.run(
            [PY, "manage.py", "zoom_demo_connect", "--sandbox-url", env["ZOOM_OAUTH_BASE_URL"]],
            cwd=ROOT,
            env=env,
        )
        print("\n" + "=" * 64)
        print(f"  CRM demo running at {url}")
        print("  Log in as admin@example.com / admin (super admin)")
        print("        or marketer@example.com / marketer, viewer@example.com / viewer")
        print(f"  API docs: {url}api/docs/   Zoom sandbox: http://127.0.0.1:{SANDBOX_PORT}/")
        print("  Ctrl-C stops everything.")
        print("=" * 64 + "\n", flush=True)
    code = 0
    while not stopping.is_set():
        dead = [(n, p) for n, p in procs if p.poll() is not None]
        if dead:
            name, proc = dead[0]
            print(f"demo: {name} exited with code {proc.returncode}; stopping the others.")
            code = 1
            break
        stopping.wait(0.5)
    for _name, proc in procs:
        if proc.poll() is None:
            # The main process only: Celery and gunicorn then stop their children themselves.
            proc.terminate()
    deadline = time.monotonic() + 10
    for _name, proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    print("demo: stopped.")
    return code


if __name__ == "__main__":
    sys.exit(main())
