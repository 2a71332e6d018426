"""`make demo`'s runner: migrate and seed a scratch database, start web + worker + sandbox,
serve the login page, log the demo admin in, and stop everything on Ctrl-C."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo_env(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
            "CELERY_BROKER_DIR": str(tmp_path / "broker"),
            "PORT": str(free_port()),
            "ZOOM_SANDBOX_PORT": str(free_port()),
            "ZOOM_SANDBOX_GENERATE": "webinars=3,registrants=20,attendance=0.5,seed=1",
        }
    )
    for command in (["migrate", "--noinput"], ["seed_demo", "--contacts", "30"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return env


def test_demo_serves_the_login_page_and_stops_on_ctrl_c(demo_env):
    proc = subprocess.Popen(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if "CRM demo running at" in line:
                break
        text = "".join(output)
        assert "CRM demo running at" in text, text[-3000:]
        # The primary brand is connected to the sandbox's Zoom account (DESIGN "Run modes").
        assert "Connected Demo Inc. to sandbox Zoom account acct_1" in text, text[-3000:]
        # ...and the sandbox's webhooks go to that connection's receiver.
        assert "Sandbox webhooks go to http://" in text, text[-3000:]
        url = re.search(r"running at (\S+)", text).group(1)
        opener = build_opener(HTTPCookieProcessor(CookieJar()))
        login_page = opener.open(url, timeout=10).read().decode()
        assert 'name="password"' in login_page
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        response = opener.open(
            url + "accounts/login/",
            urlencode(
                {"csrfmiddlewaretoken": token, "username": "admin@example.com", "password": "admin"}
            ).encode(),
            timeout=10,
        )
        assert response.url.rstrip("/").endswith("/contacts") or "/contacts" in response.url
        assert "@" in response.read().decode()  # the contacts list shows e-mails
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest[-2000:]
    assert "demo: stopped." in rest
