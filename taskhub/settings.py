"""Django settings. The environment is read here and nowhere else.

Every variable has a safe default for a developer machine and is listed in the
README's configuration table and in docker/.env.example.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def _secret_key() -> str:
    """SECRET_KEY from the environment, else a random key kept in var/ (never a fixed one)."""
    configured = env.str("SECRET_KEY", default="")
    if configured:
        return configured
    VAR_DIR.mkdir(exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Encrypts webhook and event-source secrets at rest (a Fernet key); derived from SECRET_KEY when unset.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "taskhub.core",
    "taskhub.subscriptions",
    "taskhub.executions",
    "taskhub.channels",
    "taskhub.chat",
    "taskhub.monitoring",
    "tools.gateway",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "taskhub.urls"
WSGI_APPLICATION = "taskhub.wsgi.application"
ASGI_APPLICATION = "taskhub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# Unset or empty: SQLite under var/ (make run's zero-setup default).
_DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'taskhub.sqlite3'}"
DATABASES = {"default": environ.Env.db_url_config(_DATABASE_URL)}
if not DATABASES["default"].get("ENGINE"):
    raise ImproperlyConfigured(f"DATABASE_URL: {_DATABASE_URL.split(':', 1)[0]!r} is not a database Django supports")
_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if _SQLITE:
    # make run's web, worker and beat processes write to one SQLite file. IMMEDIATE
    # transactions take the write lock when they begin, so a writer waits its turn
    # (up to ``timeout`` s) instead of failing with "database is locked" when a read
    # turns into a write; WAL lets readers go on while one process writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Our statements are short batch statements whose planned cost can pass PostgreSQL's JIT
    # threshold; compiling them took about a tenth of the server's CPU at a million pushes
    # (perf, bench/fanout) and never paid back. Set per connection, so no server change is needed,
    # after any options DATABASE_URL gives (``?options=-c%20statement_timeout%3D5000``).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Parallel checkouts (and parallel test runs) may share one server: the test
# database name can be set so they do not collide. On SQLite it is a file, not
# Django's in-memory default, so the tests' worker processes open the same database.
_TEST_DATABASE_NAME = env.str("TEST_DATABASE_NAME", default="" if not _SQLITE else str(VAR_DIR / "test.sqlite3"))
if _TEST_DATABASE_NAME:
    DATABASES["default"]["TEST"] = {"NAME": _TEST_DATABASE_NAME}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Redis and Celery -----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# A message that is not acked within this many seconds is handed to another
# worker. Every time limit and every countdown must stay below it, or a slow
# task would run twice.
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=330)

# --- Subscriptions ----------------------------------------------------------
SUBSCRIPTION_MIN_INTERVAL_S = env.int("SUBSCRIPTION_MIN_INTERVAL_S", default=300)
SUBSCRIPTION_MAX_ACTIVE_PER_USER = env.int("SUBSCRIPTION_MAX_ACTIVE_PER_USER", default=100)
TEMPLATE_MAX_LENGTH = env.int("TEMPLATE_MAX_LENGTH", default=2000)
MESSAGE_MAX_LENGTH = env.int("MESSAGE_MAX_LENGTH", default=4000)
# Optional LLM wording of push messages (needs OPENAI_API_KEY or OPENAI_BASE_URL); the
# template's text is sent whenever the LLM is absent, slow or failing.
MESSAGE_WORDING = env.bool("MESSAGE_WORDING", default=False)
MESSAGE_WORDING_BUDGET_S = env.float("MESSAGE_WORDING_BUDGET_S", default=5.0)

# --- Executions -------------------------------------------------------------
FANOUT_CHUNK_SIZE = env.int("FANOUT_CHUNK_SIZE", default=1000)
EXECUTE_BATCH_SIZE = env.int("EXECUTE_BATCH_SIZE", default=1000)
# A batch of executions not finished this long after a worker took it (or, never taken,
# after it was due) is sent again by the reconciler.
EXECUTION_LEASE_S = env.int("EXECUTION_LEASE_S", default=600)
# A fan-out not completed this long after it started is resumed by the reconciler.
FANOUT_LEASE_S = env.int("FANOUT_LEASE_S", default=300)
# A beat tick this late (or less) still counts as on time for every subscription.
FIRE_GRACE_S = env.int("FIRE_GRACE_S", default=120)
# Older missed fires found after downtime are recorded as missed, at most this many per fan-out.
MAX_MISSED_FIRES = env.int("MAX_MISSED_FIRES", default=24)
SUSPEND_AFTER_FAILURES = env.int("SUSPEND_AFTER_FAILURES", default=5)
# A run taken this many times by workers that died with it fails for good instead of being sent again.
EXECUTION_MAX_LOST_RUNS = env.int("EXECUTION_MAX_LOST_RUNS", default=3)
# History is deleted once this old (0 keeps it for ever): finished executions with their
# ledger rows and old schedule fires; monitoring events once matched (every fresh poll is
# one: the biggest table of a busy monitor); inbox messages.
EXECUTION_RETENTION_DAYS = env.int("EXECUTION_RETENTION_DAYS", default=30)
EVENT_RETENTION_DAYS = env.int("EVENT_RETENTION_DAYS", default=7)
INBOX_RETENTION_DAYS = env.int("INBOX_RETENTION_DAYS", default=90)

# --- Monitoring -------------------------------------------------------------
# A monitor's tool call is polled at the tightest interval its monitors ask, never more often than this.
MONITOR_MIN_INTERVAL_S = env.int("MONITOR_MIN_INTERVAL_S", default=60)
MONITOR_DEFAULT_INTERVAL_S = env.int("MONITOR_DEFAULT_INTERVAL_S", default=300)
# Beat runs the poller this often; it polls the keys that are due.
MONITOR_POLL_TICK_S = env.int("MONITOR_POLL_TICK_S", default=10)
# Signed events (POST /api/v1/events/) older or newer than this are refused (replay protection).
EVENT_TIMESTAMP_TOLERANCE_S = env.int("EVENT_TIMESTAMP_TOLERANCE_S", default=300)
EVENT_MAX_BYTES = env.int("EVENT_MAX_BYTES", default=65536)

# --- Push channels -----------------------------------------------------------
# One module per channel kind (README: "How to add a push channel").
CHANNEL_BACKENDS = {
    "inbox": "taskhub.channels.kinds.inbox.InboxChannel",
    "webhook": "taskhub.channels.kinds.webhook.WebhookChannel",
    "email": "taskhub.channels.kinds.email.EmailChannel",
    "apprise": "taskhub.channels.kinds.apprise.AppriseChannel",
}
# Kinds switched on; pushes to a kind switched off are skipped, and new channels of it refused.
CHANNELS_ENABLED = env.list("CHANNELS_ENABLED", default=list(CHANNEL_BACKENDS))
CHANNEL_MAX_CONSECUTIVE_FAILURES = env.int("CHANNEL_MAX_CONSECUTIVE_FAILURES", default=5)
# A delivery stuck in "sending" longer than this may be sent again, by channels that dedupe only.
CHANNEL_SENDING_LEASE_S = env.int("CHANNEL_SENDING_LEASE_S", default=600)
INBOX_STREAM_KEEPALIVE_S = env.float("INBOX_STREAM_KEEPALIVE_S", default=15.0)
WEBHOOK_TIMEOUT_S = env.float("WEBHOOK_TIMEOUT_S", default=10.0)
WEBHOOK_CONCURRENCY = env.int("WEBHOOK_CONCURRENCY", default=8)
# Host names or CIDRs webhooks may reach although private (development and tests only).
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
APPRISE_TIMEOUT_S = env.float("APPRISE_TIMEOUT_S", default=10.0)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="TaskHub <taskhub@localhost>")
# --- Tool gateway (tools/gateway) -----------------------------------------
# Where `make run` serves the bundled tool servers; register_tools registers <base>/<name>/mcp.
TOOLS_BASE_URL = env.str("TOOLS_BASE_URL", default="http://127.0.0.1:8100")
# How often a process checks the registry version (seconds): the hot-plug delay.
TOOLS_REGISTRY_REFRESH_S = env.float("TOOLS_REGISTRY_REFRESH_S", default=1.0)
# How long the last good answer of a call is kept for the open-circuit fallback.
TOOLS_STALE_TTL_S = env.int("TOOLS_STALE_TTL_S", default=7 * 24 * 3600)
TOOLS_LOCAL_CACHE_SIZE = env.int("TOOLS_LOCAL_CACHE_SIZE", default=10_000)
# Concurrent calls of one call_many (threads over the shared sessions).
TOOLS_CALL_CONCURRENCY = env.int("TOOLS_CALL_CONCURRENCY", default=16)

# --- Demo admin (created by `make run`; random password kept in var/ when unset)
DEMO_ADMIN_USERNAME = env.str("DEMO_ADMIN_USERNAME", default="admin")
DEMO_ADMIN_PASSWORD = env.str("DEMO_ADMIN_PASSWORD", default="")

# --- Observability --------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")  # json | console
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="development")
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
# GET /metrics (Prometheus) asks for "Authorization: Bearer <this>" when set; open when empty.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# A worker's main process serves its pool's metrics on this port (0: off); needs
# PROMETHEUS_MULTIPROC_DIR, which prometheus-client reads itself at import.
METRICS_PORT = env.int("METRICS_PORT", default=0)
METRICS_ADDR = env.str("METRICS_ADDR", default="127.0.0.1")

# --- LLM (optional) -------------------------------------------------------
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="")
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
OPENAI_TIMEOUT = env.float("OPENAI_TIMEOUT", default=10.0)
# Retries inside the SDK per request; the chat falls back to a question anyway, so keep it small.
OPENAI_MAX_RETRIES = env.int("OPENAI_MAX_RETRIES", default=1)

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # A JSON API: one request format, one place to validate.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "taskhub.core.schema.TaskHubAutoSchema",
    "EXCEPTION_HANDLER": "taskhub.core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_USER_RATE", default="600/min"),
        "anon": env.str("API_ANON_RATE", default="60/min"),
    },
}

# Throttle counters and other shared short-lived state live in Redis, so every
# web process counts the same requests.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "taskhub",
    }
}
SPECTACULAR_SETTINGS = {
    "TITLE": "TaskHub API",
    "DESCRIPTION": "Subscriptions an AI agent runs offline: periodic pushes and monitoring alerts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

from taskhub.obs.logging import logging_config  # noqa: E402

LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
