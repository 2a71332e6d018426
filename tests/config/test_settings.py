"""Settings come from the environment; production fails fast on a missing required setting."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://crm@db:5432/crm",
    "CELERY_BROKER_URL": "redis://redis:6379/0",
    "REDIS_URL": "redis://redis:6379/1",
    "FIELD_ENCRYPTION_KEY": "k" * 44,
    "ALLOWED_HOSTS": "crm.example.com",
}


def _load_settings(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    clean.update(env)
    code = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.DATABASES['default']['ENGINE']); print(settings.CELERY_BROKER_URL); "
        "print(settings.CACHES['default']['BACKEND'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_defaults_need_no_server():
    result = _load_settings(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": "",
            "CELERY_BROKER_URL": "",
            "REDIS_URL": "",
        }
    )
    assert result.returncode == 0, result.stderr
    engine, broker, cache = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert broker == "filesystem://"
    assert cache == "django.core.cache.backends.locmem.LocMemCache"


def test_urls_switch_to_the_production_stack():
    result = _load_settings({**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings"})
    assert result.returncode == 0, result.stderr
    engine, broker, cache = result.stdout.split()
    assert engine == "django.db.backends.postgresql"
    assert broker == "redis://redis:6379/0"
    assert cache == "crm.cache.ReusedClientRedisCache"


def test_production_fails_fast_naming_the_missing_settings():
    env = {
        **PRODUCTION_ENV,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "",
        "FIELD_ENCRYPTION_KEY": "",
    }
    result = _load_settings(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DATABASE_URL, FIELD_ENCRYPTION_KEY" in result.stderr


@pytest.mark.parametrize("debug", ["true", "1", "on"])
def test_production_refuses_debug(debug):
    # DESIGN "Production safety": DJANGO_ENV=production refuses DEBUG.
    result = _load_settings(
        {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": debug}
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_ENV=production refuses DEBUG=true" in result.stderr


def test_production_starts_with_debug_off():
    result = _load_settings(
        {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "false"}
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "name",
    [
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "USE_X_FORWARDED_HOST",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "ZOOM_SANDBOX_CONTROL_TOKEN",
    ],
)
def test_every_variable_is_documented(name):
    assert re.search(rf"^{name}=", (ROOT / ".env.example").read_text(), re.MULTILINE)
    assert f"| `{name}` |" in (ROOT / "README.md").read_text()
