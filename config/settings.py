"""ComputeGrant settings, driven by environment variables (12-factor).

Every variable has a development default so `make run` works on a fresh machine with SQLite and
a broker that needs no server. `DJANGO_ENV=production` turns the defaults safe: no DEBUG, a
SECRET_KEY is required, cookies are secure and HSTS is on.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DJANGO_ENV = os.environ.get("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be 'development' or 'production', got {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)

DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-never-use-in-production"  # noqa: S105 - refused in production
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION or not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Production refuses to start without a secret key: "
            "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
elif PRODUCTION and SECRET_KEY == DEVELOPMENT_SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is the development key; set a real one.")

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Local state of a development install: SQLite file, broker folders, artifacts.
DATA_DIR = Path(os.environ.get("CG_DATA_DIR", BASE_DIR / "var")).resolve()
CG_ARTIFACTS_ROOT = Path(os.environ.get("CG_ARTIFACTS_ROOT", DATA_DIR / "artifacts")).resolve()
CG_SNAPSHOTS_ROOT = Path(os.environ.get("CG_SNAPSHOTS_ROOT", DATA_DIR / "snapshots")).resolve()
# Local repository paths as a project source: for a single trusted operator (demo, tests).
CG_ALLOW_LOCAL_REPOSITORIES = env_bool("CG_ALLOW_LOCAL_REPOSITORIES", not PRODUCTION)
# Hand admitted jobs to a launch worker at once; off, the periodic sync sweep launches them.
CG_LAUNCH_ON_ADMISSION = env_bool("CG_LAUNCH_ON_ADMISSION", True)
# Run an admission cycle for a pool as soon as a job is submitted to it or ends there (after commit);
# beat's cycle every 10 s remains the safety net.
CG_ADMIT_ON_SUBMIT = env_bool("CG_ADMIT_ON_SUBMIT", True)
# A launch claimed this long ago with no backend handle is reconciled by the sweep (its launcher
# died): adopted if it started something, else admitted again, failed after CG_LAUNCH_ATTEMPTS.
CG_LAUNCH_RECONCILE_SECONDS = int(os.environ.get("CG_LAUNCH_RECONCILE_SECONDS", "120"))
CG_LAUNCH_ATTEMPTS = int(os.environ.get("CG_LAUNCH_ATTEMPTS", "3"))
# Each run's own dependencies (scheduler.environments): installed by uv from this index into
# CG_ENVIRONMENTS_ROOT, one cached environment per resolved requirement set, within the time limit.
CG_PACKAGE_INDEX_URL = os.environ.get("CG_PACKAGE_INDEX_URL", "https://pypi.org/simple")
CG_ENVIRONMENTS_ROOT = Path(os.environ.get("CG_ENVIRONMENTS_ROOT", DATA_DIR / "environments")).resolve()
# Each uv step within the launch task's limit (300 s), so a slow install fails the run saying so.
CG_ENVIRONMENT_INSTALL_SECONDS = env_int("CG_ENVIRONMENT_INSTALL_SECONDS", 120, minimum=10)
# Past either limit, the least recently used environments no live run uses are removed (scheduler.environment_cache).
CG_ENVIRONMENTS_MAX_COUNT = env_int("CG_ENVIRONMENTS_MAX_COUNT", 50, minimum=1)
CG_ENVIRONMENTS_MAX_MB = env_int("CG_ENVIRONMENTS_MAX_MB", 20_000, minimum=100)
# Verification runs execute applicants' code before any review: on local pools (processes with the
# portal's rights) only where the operator allows it. Kubernetes pools run them in locked-down pods.
CG_VERIFY_LOCALLY = env_bool("CG_VERIFY_LOCALLY", not PRODUCTION)
# Where Kubernetes pods write artifacts: a gs:// or s3:// prefix; empty uses the shared volume claim.
CG_KUBERNETES_ARTIFACT_URI = os.environ.get("CG_KUBERNETES_ARTIFACT_URI", "")
if CG_KUBERNETES_ARTIFACT_URI and not CG_KUBERNETES_ARTIFACT_URI.startswith(("gs://", "s3://")):
    raise ImproperlyConfigured("CG_KUBERNETES_ARTIFACT_URI must start with gs:// or s3://.")
# Kubernetes preparation pods (scheduler/backends/kubernetes_environments.py) copy uv from this image.
CG_KUBERNETES_UV_IMAGE = os.environ.get("CG_KUBERNETES_UV_IMAGE", "ghcr.io/astral-sh/uv:0.13.9-alpine")
# ...and remove environments on the volume that no job has used for this many days (longer than any run).
CG_KUBERNETES_ENVIRONMENTS_KEEP_DAYS = env_int("CG_KUBERNETES_ENVIRONMENTS_KEEP_DAYS", 30, minimum=1)


def repository_images(text: str) -> dict[str, str]:
    """Images an operator built from repositories' own Dockerfiles and allows instead of installing
    their requirements: JSON {"<repository URL>" or "<repository URL>@<commit>": "<image>@sha256:..."}.
    By digest only: a tag could be pushed over with anything."""
    try:
        images = json.loads(text or "{}")
    except ValueError as error:
        raise ImproperlyConfigured(f"CG_KUBERNETES_REPOSITORY_IMAGES is not JSON: {error}") from error
    if not isinstance(images, dict):
        raise ImproperlyConfigured("CG_KUBERNETES_REPOSITORY_IMAGES must be a JSON object of repository: image.")
    for repository, image in images.items():
        if not isinstance(image, str) or not re.search(r"@sha256:[0-9a-f]{64}$", image):
            raise ImproperlyConfigured(
                f"CG_KUBERNETES_REPOSITORY_IMAGES: the image for {repository} must be by digest "
                f"(name@sha256:<64 hex digits>), got {image!r}."
            )
    return images


CG_KUBERNETES_REPOSITORY_IMAGES = repository_images(os.environ.get("CG_KUBERNETES_REPOSITORY_IMAGES", ""))
CG_GIT_ALLOWED_HOSTS = env_list("CG_GIT_ALLOWED_HOSTS", ["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "csp",
    "axes",
    "portal",
    "scheduler",
    "reproducibility",
]

MIDDLEWARE = [
    "portal.web.middleware.answer_health_checks",  # first: probes call an address ALLOWED_HOSTS need not list
    "config.metrics.serve_metrics",  # /metrics for Prometheus (by pod address too), and request latency
    "config.client_address.watch_for_an_untrusted_proxy",  # logs proxy headers seen with no proxy trusted
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so it turns a lockout flagged during authentication into the lockout page.
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
                "portal.web.context_processors.portal_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'computegrant.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # A file, not memory, so that worker processes started by tests share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    # The web server, worker and beat share the file: wait for locks instead of failing.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses sign-in attempts from a locked-out username and address (see Security below).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Object-level rules (who may see which project, job, snapshot): see portal/access/permissions.py.
    "portal.access.permissions.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The portal is in English only: no translation lookup for every value a page renders.
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", DATA_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
MEDIA_ROOT = DATA_DIR / "media"

# Email: console by default, so password-reset links show in the terminal.
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
# For django.core.mail.backends.filebased.EmailBackend (one file per message).
EMAIL_FILE_PATH = os.environ.get("DJANGO_EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "ComputeGrant <noreply@localhost>")
# The portal's public address, for links in notification emails.
CG_SITE_URL = os.environ.get("CG_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Celery. The default broker is kombu's filesystem transport in DATA_DIR: a real queue that a
# separate worker process consumes, with no server to install. Production and CI use Redis.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "filesystem://"
_broker_folder = DATA_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem"):
    # kombu's filesystem transport expects its folders to exist.
    for _sub in ("queue", "control"):
        (_broker_folder / _sub).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = (
    {
        "data_folder_in": str(_broker_folder / "queue"),
        "data_folder_out": str(_broker_folder / "queue"),
        "control_folder": str(_broker_folder / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # Redis hands an unacknowledged message (its worker died: acks_late) to another worker after
    # this long. It must outlast the longest task (the 1 h hard limit below) or a slow task runs
    # twice; past it, a redelivered launch finds its job claimed and does nothing (the sweep has
    # reconciled the launch within CG_LAUNCH_RECONCILE_SECONDS long before).
    else {"visibility_timeout": 65 * 60}
)
CELERY_RESULT_BACKEND = os.environ.get(
    "CELERY_RESULT_BACKEND",
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else f"file://{DATA_DIR / 'results'}",
)
if CELERY_RESULT_BACKEND.startswith("file://"):
    Path(CELERY_RESULT_BACKEND.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A worker that loses the broker stops its late-acknowledged tasks instead of finishing them while
# Redis redelivers the same messages to another worker.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
CELERY_RESULT_EXPIRES = 24 * 3600
# Workers and beat log through LOGGING above (JSON in production), not Celery's own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_WORKER_QUEUES = ["celery", "scoring", "launching", "syncing"]
CELERY_TASK_ROUTES = {
    "reproducibility.tasks.*": {"queue": "scoring"},
    "scheduler.runner_tasks.launch_*": {"queue": "launching"},
    "scheduler.runner_tasks.sync_*": {"queue": "syncing"},
    "scheduler.artifacts.tasks.*": {"queue": "syncing"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A consumer that reconnects after a broker restart instead of stopping the worker (see the module).
CELERY_WORKER_CONSUMER = "config.celery_consumer:BrokerRestartSafeConsumer"
# Periodic work (admission cycle, expiry sweep, job sync) is registered by the apps in
# config/celery.py, next to the tasks it names.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

REST_FRAMEWORK = {
    # Token first: a call without valid credentials gets 401 and `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON only: the browsable API's templates carry inline styles the Content Security Policy
    # refuses. People read /api/docs/ instead.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ComputeGrant API",
    "DESCRIPTION": (
        "Projects, applications, reproducibility reports, allocations and training jobs; after an award, "
        "progress reports, requests (extension, supplement, renewal) and the allocation's notices."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies without the read-only fields of the answers (what clients and schemathesis send).
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStateEnum": "portal.models.Application.State",
        "AllocationStateEnum": "scheduler.models.Allocation.State",
        "JobStateEnum": "scheduler.models.TrainingJob.State",
        "ReportKindEnum": "portal.models.ProgressReport.Kind",
        "ReportStateEnum": "portal.models.ProgressReport.State",
        "AwardRequestKindEnum": "portal.models.AwardRequest.Kind",
        "AwardRequestStateEnum": "portal.models.AwardRequest.State",
        "NoticeKindEnum": "portal.models.AllocationNotice.Kind",
    },
}

# Production logs one JSON object per line (CG_LOG_FORMAT=json) for the cluster's log collector;
# development keeps plain lines and leaves out beat's and idle periodic tasks' lines.
CG_LOG_FORMAT = os.environ.get("CG_LOG_FORMAT", "json" if PRODUCTION else "plain")
if CG_LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"CG_LOG_FORMAT must be json or plain, got {CG_LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.log_format.JsonFormatter"},
    },
    "filters": {"quiet_periodic_tasks": {"()": "config.log_format.QuietPeriodicTasks"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": CG_LOG_FORMAT,
            "filters": [] if PRODUCTION else ["quiet_periodic_tasks"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    # Sign-in failures and lockouts are warnings; every successful sign-in would be two info lines.
    "loggers": {"axes": {"level": "WARNING"}},
}

# Security -------------------------------------------------------------------------------------

# Content Security Policy (django-csp 4): the portal's own scripts and styles only, nothing inline,
# so injected markup cannot run. Templates keep CSS in static/css and JS in static/js; htmx's
# indicator styles come from portal.css (htmx-config in base.html). TensorBoard's own UI keeps the
# policy TensorBoard sends with its pages (scheduler/artifacts/tensorboard.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],  # Pico's form controls draw their icons as data: SVGs
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Sign-in throttling (django-axes): after AXES_FAILURE_LIMIT failures for one username from one
# address, sign-in for that pair is refused for AXES_COOLOFF_MINUTES (each further attempt in the
# meantime restarts the wait). Failures are counted in the database, shared by every web process.
# Reverse proxies in front of the web processes. Throttling counts per client address: with none,
# REMOTE_ADDR (no header a client could forge); behind N, the address the outermost proxy appended
# to X-Forwarded-For.
CG_TRUSTED_PROXY_COUNT = env_int("CG_TRUSTED_PROXY_COUNT", 0, minimum=0)
# Bearer token Prometheus sends to /metrics; unset, /metrics answers 404.
CG_METRICS_TOKEN = os.environ.get("CG_METRICS_TOKEN", "")

AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.views.lockout.locked_out"  # templates/registration/locked_out.html
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_address"
# Across usernames: failures from one address naming this many different usernames within the
# cool-off pause sign-in from that address (password spraying; config/signin_throttle.py).
CG_SIGNIN_ADDRESS_USERNAME_LIMIT = env_int("CG_SIGNIN_ADDRESS_USERNAME_LIMIT", 10, minimum=2)
AXES_HANDLER = "config.signin_throttle.AddressAwareHandler"

# API throttling (Django REST framework): generous for signed-in tools and CI, strict for anonymous
# callers; a view that takes a password (an auth-token endpoint) sets `throttle_scope = "login"`.
# Counters live in Django's cache (per process unless CACHES points at a shared one).
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "rest_framework.throttling.AnonRateThrottle",
    "rest_framework.throttling.UserRateThrottle",
    "rest_framework.throttling.ScopedRateThrottle",
]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    "anon": os.environ.get("CG_API_THROTTLE_ANON", "60/minute"),
    "user": os.environ.get("CG_API_THROTTLE_USER", "1200/minute"),
    "login": os.environ.get("CG_API_THROTTLE_LOGIN", "10/minute"),
}
# 0 makes DRF use REMOTE_ADDR; None (its default) would trust a client's own X-Forwarded-For.
REST_FRAMEWORK["NUM_PROXIES"] = CG_TRUSTED_PROXY_COUNT

# Cookies and headers, in every environment.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Pages carry the token ({% csrf_token %}, hx-headers); no script needs to read the cookie.
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

if PRODUCTION:
    # TLS ends at the reverse proxy, which must set X-Forwarded-Proto (and strip a client's own).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    # Health probes (compose, Kubernetes, load balancers) call over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
