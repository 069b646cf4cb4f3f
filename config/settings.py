"""Doudi settings: every knob comes from the environment, with a safe default for the embedded mode.

Embedded mode (nothing set): SQLite in ./db.sqlite3 and Celery tasks run in-process.
Real services: DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://...
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The fallback key only ever serves the embedded demo; a real deployment sets SECRET_KEY.
SECRET_KEY = env("SECRET_KEY") or "embedded-demo-only-not-a-secret"
if not DEBUG and not env("SECRET_KEY") and env("DATABASE_URL"):
    raise RuntimeError("SECRET_KEY must be set when running against real services")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "pghistory",
    "django_htmx",
    # Sign-in lockout after repeated failed passwords (core.signin).
    "axes",
    "csp",
    "beneficiaries",
    "rules",
    "casework",
    "payments",
    "seeds",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response (CONTENT_SECURITY_POLICY below).
    "csp.middleware.CSPMiddleware",
    # Serves the collected static files (admin, browsable API) from gunicorn in docker-compose.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "core.middleware.QueryLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # request.htmx: whether a request came from htmx (a fragment is wanted, not a page).
    "django_htmx.middleware.HtmxMiddleware",
    # The Django admin is for administrators: any other role gets a 403 page.
    "web.access.AdminOnlyMiddleware",
    # Responses of the app itself (not static files) are never stored by a browser or proxy.
    "core.middleware.NoStoreMiddleware",
    # Attaches the user and request to every history row written during the request.
    "pghistory.middleware.HistoryMiddleware",
    # Turns a sign-in refused by the lockout into the lockout page (core.signin); last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
# The PostgreSQL role web, workers and beat connect as (it owns nothing): when set, `migrate`
# (run as the owner role) grants it what the app needs (core.dbroles).
DB_APP_ROLE = env("DB_APP_ROLE")
if not IS_POSTGRES:
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    # History triggers exist only on PostgreSQL, and the middleware's context SQL breaks SQLite.
    MIDDLEWARE.remove("pghistory.middleware.HistoryMiddleware")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "beneficiaries.User"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "core.passwords.NoNameNoDigitRunValidator"},
]

# Sign-in (core.signin): every path that checks a password (the sign-in page, the admin's, the
# API's HTTP basic auth) goes through django-axes first. After SIGNIN_FAILURE_LIMIT failed
# passwords for one user name, or from one address, that user name or address is refused for
# SIGNIN_LOCKOUT_MINUTES, even with the right password; an administrator may unlock it earlier.
# Passwords sign in people only: a service account is refused (and has no password).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "core.authentication.PersonBackend",
]
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGNIN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
# Unlocks go through beneficiaries.signin.unlock, which records them; not axes' own admin.
AXES_ENABLE_ADMIN = False
# The client's address, for the lockout and the read log (core.signin.client_ip): REMOTE_ADDR,
# or behind PROXY_COUNT reverse proxies the address the first of them put in X-Forwarded-For.
PROXY_COUNT = env_int("PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "core.signin.client_ip"

# A session ends after SESSION_IDLE_MINUTES without a request (each request renews it) and
# when the browser closes.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
# Database sessions, renewed by one UPDATE instead of a transaction of three statements.
SESSION_ENGINE = "core.sessions"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# collectstatic also writes gzip copies, which WhiteNoise serves to browsers that accept them
# (ECharts is 700 kB, 230 kB gzipped: it matters on a grid worker's phone).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Dates as 2024-08-01 and times as 2024-08-01 14:05 in pages, in both languages.
FORMAT_MODULE_PATH = ["web.formats"]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
# Exported bank files are kept here, named by batch and checksum.
BANK_FILE_ROOT = Path(env("BANK_FILE_ROOT", str(BASE_DIR / "bankfiles")))
# Uploads (core.uploads): refused above this size before they are read. Bank return files carry
# a city's million transfers (about 110 MB as CSV), so they have their own limit.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
RETURN_FILE_MAX_BYTES = env_int("RETURN_FILE_MAX_BYTES", 256 * 1024 * 1024)

# API tokens (core.authentication, knox): "Authorization: Token doudi_…". Stored as a SHA-512
# digest; each expires (API_TOKEN_DAYS by default, at most API_TOKEN_MAX_DAYS).
KNOX_TOKEN_MODEL = "beneficiaries.ApiToken"
# knox's own AuthToken is swapped out for ours: its migrations would only leave an unused table
# (with a foreign key to users that blocks the test database's flush).
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {"TOKEN_PREFIX": "doudi_", "TOKEN_TTL": timedelta(days=env_int("API_TOKEN_DAYS", 90))}
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 366)
# HTTP basic auth runs the password hash on every call (about 200 ms) and puts a person's password
# in scripts: off unless asked for, on in the embedded demo and with DEBUG.
API_BASIC_AUTH = env_bool("API_BASIC_AUTH", DEBUG or not env("DATABASE_URL"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "core.authentication.TokenAuthentication",
        # Ignores the header unless API_BASIC_AUTH is on.
        "core.authentication.BasicAuthentication",
    ],
    # A service account may call only the routes its scopes name (core.service_scopes); then the
    # one access rule (core.policy): every view names its resource; one without is refused.
    "DEFAULT_PERMISSION_CLASSES": [
        "core.service_scopes.ServiceScopePermission",
        "core.permissions.PolicyPermission",
    ],
    # Failed token attempts per client address (core.authentication): past the rate, 429. The
    # address is the connection's unless PROXY_COUNT reverse proxies stand in front (then the one
    # the outermost of them named in X-Forwarded-For), so a client cannot choose its own.
    "DEFAULT_THROTTLE_RATES": {"token_failures": env("API_TOKEN_FAILURE_RATE", "20/hour")},
    "NUM_PROXIES": env_int("PROXY_COUNT", 0),
    "DEFAULT_FILTER_BACKENDS": [
        "core.api.ScopedFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.StandardPagination",
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Doudi 兜底 API",
    "DESCRIPTION": "Social-assistance case management: registry, casework and payments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs pages are for signed-in users (session or HTTP basic auth).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI and Redoc from the pinned drf-spectacular-sidecar package, served by the app:
    # bureaus run on intranets without a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge fetched from swagger.io's online validator.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Request bodies get their own components: read-only fields are never asked for as input.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.document_errors",
    ],
    # Several models name a choice field kind, status or reason: give each set its own name.
    "ENUM_NAME_OVERRIDES": {
        "MemberRelationEnum": "beneficiaries.models.Member.Relation",
        "HouseholdStatusEnum": "beneficiaries.models.Household.Status",
        "AssetKindEnum": "beneficiaries.models.Asset.Kind",
        "CaseStateEnum": "casework.models.CaseState",
        "AdjustmentKindEnum": "casework.models.Adjustment.Kind",
        "ReliefKindEnum": "casework.models.ReliefCase.Kind",
        "ReliefStatusEnum": "casework.models.ReliefCase.Status",
        "ReferralStatusEnum": "casework.models.Referral.Status",
        "ReferralReasonEnum": "casework.models.Referral.Reason",
        "EnrolmentStatusEnum": "casework.models.Enrolment.Status",
        "PaymentBatchStatusEnum": "payments.models.PaymentBatch.Status",
        "PaymentLineKindEnum": "payments.models.PaymentLine.Kind",
        "PaymentLineStatusEnum": "payments.models.PaymentLine.Status",
        "RecoveryReasonEnum": "payments.models.Recovery.Reason",
        "CalendarPeriodKindEnum": "rules.models.CalendarPeriod.Kind",
    },
}

# Celery: with no broker configured, tasks run in-process so the embedded mode needs nothing.
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Tasks record their progress and outcome on database rows (batches, chunks): nobody reads a
# task's return value, so none is stored.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers keep their database connection from task to task (closed when broken, failed or older
# than CONN_MAX_AGE: config.celery.close_old_database_connections). Celery's Django fix-up
# closes it after every task unless this is set; set this way it closes it after a million.
CELERY_DB_REUSE_MAX = 1_000_000
# A task's visibility timeout must outlast its longest chunk, or Redis hands it out twice.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_BEAT_SCHEDULE: dict = {}
# Before the month's batches are drafted: enrolments past their last month become stopped.
CELERY_BEAT_SCHEDULE["casework-close-ended-enrolments"] = {
    "task": "casework.tasks.close_ended_enrolments",
    "schedule": crontab(minute=30, hour=0),
}

# Monthly batch (payments.batches): enrolments per chunk task; the day of the month beat creates
# each city's draft batch; a computing batch with no finished chunk for this long is resumed.
PAYROLL_CHUNK_SIZE = env_int("PAYROLL_CHUNK_SIZE", 25000)
PAYROLL_DRAFT_DAY = env_int("PAYROLL_DRAFT_DAY", 1)
PAYROLL_STALL_SECONDS = env_int("PAYROLL_STALL_SECONDS", 300)
CELERY_BEAT_SCHEDULE["payroll-create-draft-batches"] = {
    "task": "payments.tasks.create_draft_batches",
    "schedule": crontab(minute=0, hour=6, day_of_month=PAYROLL_DRAFT_DAY),
}
# Payment lines are partitioned by month: the coming months' partitions are made ahead, daily.
CELERY_BEAT_SCHEDULE["payroll-line-partitions"] = {
    "task": "payments.tasks.ensure_line_partitions",
    "schedule": crontab(minute=15, hour=0),
}
CELERY_BEAT_SCHEDULE["payroll-resume-stalled-batches"] = {
    "task": "payments.tasks.resume_stalled_batches",
    "schedule": 60,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
}

if not DEBUG and env_bool("SECURE_COOKIES", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Every page may load scripts, styles, images and fonts from this server only, and nothing may
# frame it. The pages hold no inline script or style (docs/web.md); the API's docs pages add
# what Swagger UI and Redoc need (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
