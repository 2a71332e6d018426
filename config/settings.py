"""Settings, read from the environment (django-environ).

Embedded defaults run on a machine with nothing but Python: a SQLite file, Celery on kombu's
filesystem broker, a local-memory cache. `DATABASE_URL`, `CELERY_BROKER_URL` and `REDIS_URL`
switch to the production stack; with `DJANGO_ENV=production`, a missing required setting
fails at start-up with a message naming it.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def setting(name: str, default: str = "") -> str:
    """A string setting; an empty value counts as unset (a copied .env.example is all blanks)."""
    return env.str(name, default="") or default


def flag(name: str, default: bool) -> bool:
    """A boolean setting; an empty value counts as unset, as for `setting`."""
    return env.bool(name, default=default) if setting(name) else default


def number(name: str, default: int) -> int:
    """An integer setting; an empty value counts as unset, as for `setting`."""
    return env.int(name, default=default) if setting(name) else default


def proxy_ssl_header(value: str) -> tuple[str, str] | None:
    """SECURE_PROXY_SSL_HEADER from the header a TLS-terminating proxy sets to `https`, named as
    Django's META key or as sent: `HTTP_X_FORWARDED_PROTO` and `X-Forwarded-Proto` both give
    ("HTTP_X_FORWARDED_PROTO", "https"). Empty: None (the proxy is not trusted)."""
    if not value.strip():
        return None
    name = value.strip().upper().replace("-", "_")
    if not name.startswith("HTTP_"):
        name = f"HTTP_{name}"
    if not re.fullmatch(r"HTTP_[A-Z0-9_]+", name):
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER={value!r} is not a header name; "
            "use e.g. HTTP_X_FORWARDED_PROTO."
        )
    return (name, "https")


DJANGO_ENV = setting("DJANGO_ENV", "development")
PRODUCTION = DJANGO_ENV == "production"

# Settings that have no safe default in production: they must be given explicitly.
_REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "FIELD_ENCRYPTION_KEY",
    "ALLOWED_HOSTS",
)
if PRODUCTION:
    _missing = [name for name in _REQUIRED_IN_PRODUCTION if not env.str(name, default="")]
    if _missing:
        raise ImproperlyConfigured(
            "DJANGO_ENV=production needs these settings, which are missing or empty: "
            + ", ".join(_missing)
            + ". See .env.example."
        )

SECRET_KEY = setting("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    # Debug pages show settings, source and SQL to anyone who makes a request fail.
    raise ImproperlyConfigured(
        "DJANGO_ENV=production refuses DEBUG=true: debug pages show settings and source code "
        "to anyone. Unset DEBUG or set it to false. See .env.example."
    )
ALLOWED_HOSTS = [
    h.strip()
    for h in setting("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in setting("CSRF_TRUSTED_ORIGINS").split(",") if o.strip()]
# Where the CRM is reachable from outside (webhook URLs, OAuth redirect URIs).
PUBLIC_BASE_URL = setting("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_htmx",
    "axes",
    "crm",
    "marketing_events",
    "segments",
    "workflows",
    "zoom_integration",
    "zoom_integration.engagement",
    # Probes, metrics, request ids: the top layer (pyproject.toml's layers contract).
    "operations",
]

MIDDLEWARE = [
    # First: every log record of a request, the other middleware's included, carries its id.
    "operations.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "crm.middleware.RefuseNulCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After LocaleMiddleware (cookie, then Accept-Language) and the user: a signed-in person's
    # profile language wins on pages; API paths keep Accept-Language (rule L2).
    "crm.middleware.UserLanguageMiddleware",
    "crm.middleware.AuditChannelMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.api.throttling.RateLimitHeadersMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.roles",
                "crm.context_processors.notifications",
            ],
        },
    },
]

# An empty variable counts as unset, as in docker-compose files that pass `${VAR:-}`.
DATABASE_URL = setting("DATABASE_URL", f"sqlite:///{VAR_DIR / 'crm.sqlite3'}")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker and the web server use the file at the same time.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The statements bound server-side (`crm.db.bound_cursor`: the sync's set-based reads and
    # upserts) repeat the same few texts page after page: psycopg prepares a text after this
    # many runs on a connection, and PostgreSQL parses it, and once its plans settle plans it,
    # once per connection instead of once per page. Queries bound client-side (the ORM's) are
    # never prepared. -1: nothing prepared (behind a transaction-pooling proxy that does not
    # keep prepared statements).
    _prepare = number("DB_PREPARE_THRESHOLD", 2)
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "prepare_threshold", _prepare if _prepare >= 0 else None
    )
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "crm.User"
# Every password set through a service, the UI or the API passes these (crm.services.accounts).
_VALIDATION = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATION}.UserAttributeSimilarityValidator"},
    {
        "NAME": f"{_VALIDATION}.MinimumLengthValidator",
        "OPTIONS": {"min_length": int(setting("PASSWORD_MIN_LENGTH", "10"))},
    },
    {"NAME": f"{_VALIDATION}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATION}.NumericPasswordValidator"},
]
# Login throttling (DESIGN "Production safety") with django-axes rather than counters in
# Django's cache: axes keeps its attempt records in the database, so every gunicorn worker sees
# the same counts even in the embedded demo, whose cache is per-process local memory (a
# cache-based limit there would multiply by the number of workers), and it guards the Django
# admin's login as well as ours, since both go through authenticate(). The API's bearer tokens
# never call authenticate() and are not affected.
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username+IP before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Consecutive failures of one e-mail from one IP address before the lockout; a success resets
# the count. Locking the combination keeps an attacker from locking a person out from elsewhere.
AXES_FAILURE_LIMIT = int(setting("LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=int(setting("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Both login forms post the e-mail as "username"; crm.views.auth normalizes it (rule Z8) so that
# case variants of one address count together. Behind a reverse proxy REMOTE_ADDR is the
# proxy's address: lockouts then hold per e-mail for everyone coming through it.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "crm.views.auth.login_username"
# A page in the product's layout, HTTP 429 with Retry-After (crm.views.auth.login_locked_out).
AXES_LOCKOUT_CALLABLE = "crm.views.auth.login_locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False  # no start-up banner in every process; lockouts are still logged
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "crm:contact_list"
LOGOUT_REDIRECT_URL = "login"

REDIS_URL = setting("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "crm.cache.ReusedClientRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: the filesystem transport needs no server (embedded mode); a URL switches to Redis.
CELERY_BROKER_URL = setting("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = Path(setting("CELERY_BROKER_DIR", str(VAR_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("in", "processed", "control"):
        (CELERY_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "in"),
        "data_folder_out": str(CELERY_BROKER_DIR / "in"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = setting("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The workflow engine's queues (rule W10: delays fire within 60 s of due), so that a due delay
# never waits behind a backlog of other tasks: "workflows-scan" holds only the engine's scan
# (`workflows.tasks.tick`, a few messages at most, so it is never behind the runs it releases),
# "workflows" the runs it releases (due delays, silent runs); "celery" everything else. A worker
# started without -Q consumes all three; give one `-Q workflows-scan,workflows,celery` (or
# a worker of its own `-Q workflows-scan,workflows`).
WORKFLOW_SCAN_QUEUE = "workflows-scan"
WORKFLOW_QUEUE = "workflows"
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name)
    for name in (WORKFLOW_SCAN_QUEUE, WORKFLOW_QUEUE, CELERY_TASK_DEFAULT_QUEUE)
)
CELERY_TASK_ROUTES = {"workflows.tasks.tick": {"queue": WORKFLOW_SCAN_QUEUE}}
ZOOM_SYNC_INTERVAL_MINUTES = env.int("ZOOM_SYNC_INTERVAL_MINUTES", default=60)
CELERY_BEAT_SCHEDULE: dict = {
    "zoom-scheduled-syncs": {
        "task": "zoom_integration.tasks.schedule_syncs",
        "schedule": ZOOM_SYNC_INTERVAL_MINUTES * 60,
    },
    "zoom-resume-stale-runs": {
        "task": "zoom_integration.tasks.resume_stale_runs",
        # A webinar whose worker died is claimed again within a minute (heartbeats lapse
        # after 30 s: zoom_integration/services/sync_webinars.py).
        "schedule": 15,
    },
    "zoom-drain-webhooks": {
        "task": "zoom_integration.tasks.drain_webhooks",
        "schedule": 60,
    },
    # Filter workflows: enroll the contacts that started matching (rule W1).
    "workflows-sweep": {
        "task": "workflows.tasks.sweep_workflows",
        "schedule": 60,
    },
    # The workflow engine's scan (rule W10): delays that are due, runs whose worker died.
    "workflows-tick": {
        "task": "workflows.tasks.tick",
        "schedule": max(1, number("WORKFLOW_TICK_SECONDS", 15)),
    },
    # Alerts: webhooks refused at a high rate are raised, and cleared when the rate drops.
    "zoom-check-webhook-refusals": {
        "task": "zoom_integration.tasks.check_webhook_refusals",
        "schedule": 60,
    },
}

# Alerts (Settings > Profile has each super admin's "E-mail me about alerts"): how many
# scheduled sync runs of a connection must fail in a row, how many webhook deliveries refused
# within ALERT_WEBHOOK_WINDOW_MINUTES, and how many executions of a workflow in a row.
ALERT_FAILED_RUNS_IN_A_ROW = max(1, number("ALERT_FAILED_RUNS_IN_A_ROW", 3))
# The receiver keeps the last 50 refusals of a connection: a higher threshold could never be met.
ALERT_WEBHOOK_REFUSALS = min(50, max(1, number("ALERT_WEBHOOK_REFUSALS", 20)))
ALERT_WEBHOOK_WINDOW_MINUTES = max(1, number("ALERT_WEBHOOK_WINDOW_MINUTES", 10))
ALERT_WORKFLOW_FAILURES_IN_A_ROW = max(1, number("ALERT_WORKFLOW_FAILURES_IN_A_ROW", 5))

# The workflow engine (rule W10). A worker holds an enrollment's step for at most
# WORKFLOW_STEP_LEASE_SECONDS (longer than any step's outside call); a run that has not reported
# WORKFLOW_RESCUE_SECONDS after it was queued is queued again by the scan.
WORKFLOW_STEP_LEASE_SECONDS = max(1, number("WORKFLOW_STEP_LEASE_SECONDS", 120))
WORKFLOW_RESCUE_SECONDS = max(1, number("WORKFLOW_RESCUE_SECONDS", 300))
WORKFLOW_WEBHOOK_TIMEOUT_SECONDS = max(1, number("WORKFLOW_WEBHOOK_TIMEOUT_SECONDS", 10))
# Hosts (host or host:port) a `webhook` step may reach although they are local or private, over
# plain http too: for tests and demos only, refused in production (SSRF guard).
WORKFLOW_WEBHOOK_TEST_HOSTS = [
    h.strip() for h in setting("WORKFLOW_WEBHOOK_TEST_HOSTS").split(",") if h.strip()
]
if PRODUCTION and WORKFLOW_WEBHOOK_TEST_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ENV=production refuses WORKFLOW_WEBHOOK_TEST_HOSTS: workflow webhooks must not "
        "reach local or private addresses. Unset it. See .env.example."
    )

# E-mail (alerts): printed on the console unless an SMTP server is given.
EMAIL_HOST = setting("EMAIL_HOST")
EMAIL_BACKEND = setting(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = number("EMAIL_PORT", 587)
EMAIL_HOST_USER = setting("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = setting("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = flag("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = flag("EMAIL_USE_SSL", False)
if EMAIL_USE_SSL:
    EMAIL_USE_TLS = False  # Django refuses both at once
EMAIL_TIMEOUT = number("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = setting("DEFAULT_FROM_EMAIL", "CRM <crm@localhost>")

# Fernet key for secrets and tokens at rest. The development default is derived from SECRET_KEY.
FIELD_ENCRYPTION_KEY = setting("FIELD_ENCRYPTION_KEY")

ZOOM_API_BASE_URL = setting("ZOOM_API_BASE_URL", "https://api.zoom.us/v2").rstrip("/")
ZOOM_OAUTH_BASE_URL = setting("ZOOM_OAUTH_BASE_URL", "https://zoom.us").rstrip("/")
# The Zoom sandbox's control token, sent by `manage.py zoom_demo_connect` (demo only).
ZOOM_SANDBOX_CONTROL_TOKEN = setting("ZOOM_SANDBOX_CONTROL_TOKEN")
# Client-side Zoom API rate limits, requests per second by label, over those of each
# connection's Zoom plan: "light=80,medium=60,heavy=40"; 0 = none. Parsed in zoom_integration.
ZOOM_RATE_LIMITS = setting("ZOOM_RATE_LIMITS")
# Step tasks a sync run keeps queued or running at once, each syncing one webinar at a time
# (zoom_integration/services/sync_webinars.py): how many workers one run can keep busy, and
# how the workers are shared between connections' runs.
ZOOM_SYNC_TASKS_PER_RUN = env.int("ZOOM_SYNC_TASKS_PER_RUN", default=4)
# Empty keeps the legacy properties live (rule B9), so this one is read as given.
ZOOM_LEGACY_PROPERTIES_CUTOFF = env.str("ZOOM_LEGACY_PROPERTIES_CUTOFF", default="2025-01-08")
# Parallel workers a segment count may use on PostgreSQL (max_parallel_workers_per_gather for
# that statement; empty: the server's setting). 0: counts are issued after every click by many
# people at once, and on a small machine a parallel plan waits for its workers (issue 21: a
# count of 106,474 took 125-139 ms in parallel, 50-67 ms serially on the benchmark database).
_COUNT_WORKERS = env.str("SEGMENT_COUNT_PARALLEL_WORKERS", default="0").strip()
SEGMENT_COUNT_PARALLEL_WORKERS = int(_COUNT_WORKERS) if _COUNT_WORKERS else None
# Memory a segment count's sorts and bitmaps may use on PostgreSQL (`work_mem` for that statement
# only). A bitmap of the matching rows that outgrows it makes PostgreSQL test every row of the
# pages involved again (issue 21: twice as slow on 5M contacts with the server's default 4MB).
SEGMENT_COUNT_WORK_MEM = setting("SEGMENT_COUNT_WORK_MEM", "64MB")
if not re.fullmatch(r"\d+(kB|MB|GB)", SEGMENT_COUNT_WORK_MEM):
    raise ImproperlyConfigured(
        f"SEGMENT_COUNT_WORK_MEM must be a size such as 64MB, not {SEGMENT_COUNT_WORK_MEM!r}"
    )
# A members page is first read by walking the contacts in id order, for at most this many
# milliseconds, before the planner's own plan is let run (segments.compiler.walked_rows); 0: the
# planner's plan alone.
SEGMENT_PAGE_WALK_MS = number("SEGMENT_PAGE_WALK_MS", 15)
# When that walk ran out of time: the planner's plan for at most this many milliseconds, then
# the walk again for at most the second (a walk over pages not in memory takes longer), then
# the planner's plan to its end (segments.compiler.page_rows); 0: that step is left out.
SEGMENT_PAGE_PLAN_MS = number("SEGMENT_PAGE_PLAN_MS", 30)
SEGMENT_PAGE_LONG_WALK_MS = number("SEGMENT_PAGE_LONG_WALK_MS", 400)
# Rule E7: how far back a recording's viewers are first read (days).
ZOOM_RECORDING_VIEWS_BACKFILL_DAYS = env.int("ZOOM_RECORDING_VIEWS_BACKFILL_DAYS", default=90)

# Languages (rule L1). Each language's name is written in that language, as the switchers show
# it. A person's profile language, else the language cookie (the login page's switcher), else
# Accept-Language, else English; see crm.middleware.UserLanguageMiddleware. The catalogues are
# locale/<locale>/LC_MESSAGES/*.po, compiled by `make compilemessages` (part of `make install`).
LANGUAGE_CODE = "en-us"
LANGUAGES = [("en", "English"), ("pt-br", "Português (Brasil)"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Read by the server only (set_language and the profile page write it); it carries no secret.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = PRODUCTION
# Dates and numbers follow the active language's formats (Django's locale formats: fr and
# pt-BR day/month/year, en month/day/year). Grouping digits stays off for bare numbers: a
# template writing an id or a count into an attribute or a URL must get plain digits; pages
# group display counts with humanize's locale-aware `intcomma`.
USE_THOUSAND_SEPARATOR = False
TIME_ZONE = setting("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves static files from gunicorn too; in development it reads the source folders.
WHITENOISE_USE_FINDERS = DEBUG

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.api.permissions.RolePermission"],
    # Per-token rate limit (crm/api/throttling.py): 429 with Retry-After past it.
    "DEFAULT_THROTTLE_CLASSES": ["crm.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": setting("API_RATE_LIMIT", "190/10s")},
    "DEFAULT_SCHEMA_CLASS": "crm.api.schema.ApiAutoSchema",
    # JSON in, JSON out, as HubSpot's API: a form-encoded body cannot carry the nested inputs
    # (filter trees, batch inputs), and the schema documents exactly what is parsed.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "crm.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Zoom webinar CRM API",
    "DESCRIPTION": (
        "HubSpot-compatible contacts v3 under /crm/v3/, and the CRM's own API under /api/v1/. "
        "Authenticate with `Authorization: Bearer <token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # A PATCH reads the same input as the schema's component says, required fields included
    # (the views validate whole inputs; fields that are optional say so themselves).
    "COMPONENT_SPLIT_PATCH": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "IdPropertyEnum": ["hs_object_id", "email"],
        "UpsertIdPropertyEnum": ["email"],
        "SegmentKindEnum": "segments.models.SegmentKind",
        "AuditKindEnum": "crm.models.AuditKind",
        "AuditViaEnum": "crm.models.AuditVia",
        "ConnectionKindEnum": "zoom_integration.models.ConnectionKind",
        "ConnectionStatusEnum": "zoom_integration.models.ConnectionStatus",
        "SyncStatusEnum": "zoom_integration.models.SyncStatus",
        "SyncTriggerEnum": "zoom_integration.models.SyncTrigger",
        "SkipReasonEnum": "zoom_integration.api.serializers.SKIP_REASONS",
        "ExecutionStatusEnum": "workflows.models.ExecutionStatus",
        "EnrollmentStatusEnum": "workflows.models.EnrollmentStatus",
        # A step type's `type`, the same in its step and its older action form (W12).
        "ZoomAddContactToWebinarTypeEnum": ["zoom.add_contact_to_webinar"],
        "ZoomCancelRegistrationTypeEnum": ["zoom.cancel_registration"],
        "DelayTypeEnum": ["delay"],
        "SetPropertyTypeEnum": ["set_property"],
        "SegmentAddTypeEnum": ["segment.add"],
        "SegmentRemoveTypeEnum": ["segment.remove"],
        "NotifyTypeEnum": ["notify"],
        "WebhookTypeEnum": ["webhook"],
        # The operators of the Filter JSON's comparisons.
        "PropertyOperatorEnum": "crm.property_filter.PROPERTY_OPERATORS",
        "TextOperatorEnum": "crm.contact_filters.TEXT_OPERATORS",
        "MeasureOperatorEnum": "crm.filter_schema.MEASURE_OPERATORS",
        "DateOperatorEnum": "crm.contact_filters.DATE_OPERATORS",
    },
    # Swagger UI from the installed drf-spectacular-sidecar, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Content-Security-Policy (django-csp): scripts, styles, fonts and connections from this site
# only; no inline script, inline style or event handler, no eval, no other host. Images may also
# be data: URIs (Swagger UI's icons). Form targets: this site and Zoom's OAuth host, added per
# request by config.csp. Templates keep to it: behaviour lives in static/js/, widths in SVG.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# text (default): `time level logger event key=value …`; json: one JSON object per line
# (python-json-logger). Both carry the request id inside a request and the task id in a task.
LOG_FORMAT = setting("LOG_FORMAT", "text").lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: expected text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logs.ContextFilter"}},
    "formatters": {
        "text": {
            "()": "config.logs.KeyValueFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "config.logs.json_formatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": setting("LOG_LEVEL", "INFO")},
}
# In JSON, a worker's own lines (start-up, task received and succeeded) go through the same
# handler instead of Celery's text format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; empty, /metrics is a 404.
METRICS_TOKEN = setting("METRICS_TOKEN")

if PRODUCTION:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

# HTTPS (SecurityMiddleware). Production assumes TLS in front of the CRM: plain-HTTP requests are
# redirected to HTTPS and browsers are told to keep to HTTPS for a year. Behind a proxy that
# terminates TLS, SECURE_PROXY_SSL_HEADER names the header by which it says a request came over
# HTTPS; without it such a proxy's requests look like plain HTTP and are redirected for ever.
SECURE_SSL_REDIRECT = flag("SECURE_SSL_REDIRECT", PRODUCTION)
# Probes and scrapes come over plain HTTP from inside the cluster (config/wsgi.py already sends
# them past SecurityMiddleware; this keeps the test client and other entry points alike).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_PROXY_SSL_HEADER = proxy_ssl_header(setting("SECURE_PROXY_SSL_HEADER"))
# The proxy's X-Forwarded-Host as the request's host (absolute URLs such as the API's `next`).
USE_X_FORWARDED_HOST = flag("USE_X_FORWARDED_HOST", False)
SECURE_HSTS_SECONDS = number("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
# Preloading commits the whole domain to HTTPS in browsers' built-in lists: the operator's call,
# so off unless asked for, and Django's reminder about it (check --deploy) is silenced.
SECURE_HSTS_PRELOAD = flag("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
