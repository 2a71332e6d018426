"""The deployment files: the Docker build context leaves secrets and local state out, and the
production stack of docker-compose.yml publishes no Zoom sandbox and talks to real Zoom
(DESIGN "Production safety": the production stack publishes no sandbox)."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = "zoom-sandbox"
CRM_SERVICES = ("migrate", "web", "worker", "beat")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _interpolate(value: object, env: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}` with `env` as the shell and
    .env together (an unset `:?` variable comes out as a placeholder)."""

    def one(match: re.Match) -> str:
        name, operator, rest = match.group(1), match.group(2) or "", match.group(3) or ""
        given = env.get(name, "")
        if operator == ":-":
            return given or rest
        if operator == ":?":
            return given or f"<{name}>"
        return given

    return re.sub(r"\$\{(\w+)(:-|:\?)?([^}]*)\}", one, str(value))


def _environment(service: dict, env: dict[str, str]) -> dict[str, str]:
    return {k: _interpolate(v, env) for k, v in (service.get("environment") or {}).items()}


def _in_demo_profile(service: dict) -> bool:
    return "demo" in (service.get("profiles") or [])


def test_the_sandbox_runs_only_in_the_demo_profile_and_publishes_no_port():
    sandbox = _compose()["services"][SANDBOX]
    assert sandbox["profiles"] == ["demo"]
    assert "ports" not in sandbox
    assert sandbox.get("network_mode") != "host"


def test_no_production_service_needs_or_mentions_the_sandbox():
    for name, service in _compose()["services"].items():
        if _in_demo_profile(service):
            continue
        depends = service.get("depends_on") or {}
        assert SANDBOX not in depends, name
        assert SANDBOX not in yaml.safe_dump(service), name


@pytest.mark.parametrize("name", CRM_SERVICES)
def test_the_production_stack_talks_to_real_zoom_by_default(name):
    environment = _environment(_compose()["services"][name], env={})
    assert environment["DJANGO_ENV"] == "production"
    assert environment["ZOOM_API_BASE_URL"] == "https://api.zoom.us/v2"
    assert environment["ZOOM_OAUTH_BASE_URL"] == "https://zoom.us"


@pytest.mark.parametrize("name", CRM_SERVICES)
def test_the_demo_points_the_crm_at_the_sandbox_through_env(name):
    demo = {
        "ZOOM_API_BASE_URL": "http://zoom-sandbox:8765/v2",
        "ZOOM_OAUTH_BASE_URL": "http://zoom-sandbox:8765",
        "ZOOM_SANDBOX_CONTROL_TOKEN": "demo-token",
    }
    environment = _environment(_compose()["services"][name], env=demo)
    assert {k: environment[k] for k in demo} == demo
    sandbox = _environment(_compose()["services"][SANDBOX], env=demo)
    assert sandbox["ZOOM_SANDBOX_CONTROL_TOKEN"] == "demo-token"
    assert "--port 8765" in _compose()["services"][SANDBOX]["command"]


def test_the_stack_defaults_to_plain_http_until_told_it_is_behind_tls():
    # `docker compose up` serves http://localhost:8000: the HTTPS redirect is switched on in .env
    # together with the proxy header, never silently.
    environment = _environment(_compose()["services"]["web"], env={})
    assert environment["SECURE_SSL_REDIRECT"] == "false"
    assert environment["SECURE_PROXY_SSL_HEADER"] == ""
    behind_tls = _environment(
        _compose()["services"]["web"],
        env={"SECURE_SSL_REDIRECT": "true", "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO"},
    )
    assert behind_tls["SECURE_SSL_REDIRECT"] == "true"
    assert behind_tls["SECURE_PROXY_SSL_HEADER"] == "HTTP_X_FORWARDED_PROTO"


# .dockerignore, read as Docker reads it: patterns relative to the context's root, `*` within
# one path segment, `**` across any number, `!` re-includes, the last matching line wins, and an
# excluded folder takes everything under it.
def _dockerignore_rules() -> list[tuple[bool, re.Pattern]]:
    rules = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pattern.startswith("**", i):
                regex += ".*"
                i += 2
            elif pattern[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pattern[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pattern[i])
                i += 1
        rules.append((include, re.compile(regex)))
    return rules


def _excluded(path: str, rules: list[tuple[bool, re.Pattern]]) -> bool:
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    excluded = False
    for include, regex in rules:
        if any(regex.fullmatch(candidate) for candidate in candidates):
            excluded = not include
    return excluded


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.production",
        ".env.local",
        "config/.env",
        "var/crm.sqlite3",
        "var/broker/in/message",
        ".venv/bin/python",
        ".git/config",
        "crm/__pycache__/models.cpython-311.pyc",
        "__pycache__/x.pyc",
        "crm/models.pyc",
        ".pytest_cache/v/cache/lastfailed",
        ".ruff_cache/0.9.0/123",
        "node_modules/htmx.org/package.json",
        "static/node_modules/x.js",
        "screenshots/01-contacts-list.png",
        "test-results/trace.zip",
        "zoomcrm.egg-info/PKG-INFO",
    ],
)
def test_the_build_context_leaves_out_secrets_state_and_artefacts(path):
    assert _excluded(path, _dockerignore_rules()), path


@pytest.mark.parametrize(
    "path",
    [
        ".env.example",
        "manage.py",
        "pyproject.toml",
        "README.md",
        "config/settings.py",
        "crm/models.py",
        "zoom_sandbox/__main__.py",
        "templates/base.html",
        "static/js/htmx.min.js",
    ],
)
def test_the_build_context_keeps_what_the_image_needs(path):
    assert not _excluded(path, _dockerignore_rules()), path


# -- healthchecks (issue 22) ----------------------------------------------------------------


def test_the_web_is_healthy_when_readyz_says_so():
    check = _compose()["services"]["web"]["healthcheck"]
    assert check["test"][:2] == ["CMD", "python"]
    assert "http://127.0.0.1:8000/readyz" in check["test"][-1]
    assert "status != 200" in check["test"][-1]


def test_the_worker_is_healthy_when_it_answers_a_ping():
    check = _compose()["services"]["worker"]["healthcheck"]
    assert "celery -A config inspect ping --destination celery@$$HOSTNAME" in check["test"][1]


def test_the_compose_file_validates_against_composes_schema():
    # Debian's docker-compose checks the file, healthchecks included, without a Docker daemon
    # (.ci/run installs it and runs the same check).
    import shutil
    import subprocess

    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    run = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env={"SECRET_KEY": "x", "FIELD_ENCRYPTION_KEY": "y", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
