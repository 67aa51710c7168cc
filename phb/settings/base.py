"""Settings shared by every environment.

Everything that varies between machines is read from the environment (django-environ).
Each integration has one flag; production.py refuses to start when a flag is on and its
secret is missing.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("PHB_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

# --- Core -----------------------------------------------------------------------------
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-insecure-secret-key-change-me-0123456789abcdef")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
PHB_ENVIRONMENT = env.str("PHB_ENVIRONMENT", default="development")
FRONTEND_URL = env.str("FRONTEND_URL", default="http://localhost:5173")

INSTALLED_APPS = [
    "phb.apps.PhbAdminConfig",  # django.contrib.admin, signed in with the emailed code
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "corsheaders",
    "storages",
    "phb.apps.PhbConfig",
    "accounts",
    "hospitals",
    "records",
    "appointments",
    "payments",
    "tracking",
    "storage",
    "admissions",
    "pharmacies",
    "prescriptions",
]

MIDDLEWARE = [
    "phb.middleware.CollapseSlashesMiddleware",
    "phb.middleware.RequestContextMiddleware",
    "phb.limits.RequestLimitsMiddleware",
    "phb.afterresponse.AfterResponseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "phb.middleware.AdminTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "phb.middleware.JsonErrorPagesMiddleware",
    "accounts.cookies.ResumedSessionCookieMiddleware",
]

ROOT_URLCONF = "phb.urls"
WSGI_APPLICATION = "phb.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
            ]
        },
    }
]

# --- Database ---------------------------------------------------------------------------
# PostgreSQL (psycopg 3) when DATABASE_URL is set; otherwise an SQLite file tuned so that
# several gunicorn workers can share it (WAL, immediate transactions, busy timeout). An empty
# DATABASE_URL counts as unset; one whose scheme names no database backend stops the start.
DATABASES = {"default": env.db_url_config(env.str("DATABASE_URL", default="")
                                          or f"sqlite:///{VAR_DIR / 'phb.sqlite3'}")}
if DATABASES["default"].get("ENGINE") not in set(environ.Env.DB_SCHEMES.values()):
    raise ImproperlyConfigured("DATABASE_URL names no database backend Django knows (postgres://… or sqlite:///…)")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
    )
# PostgreSQL through Django's backend with a health check that costs no round trip (phb/pgbackend).
# Parameters are bound by the server, and a query a connection runs for the sixth time becomes a
# prepared statement of that connection: PostgreSQL then skips parsing and, where its generic plan
# is as good, planning. Off (DB_PREPARED_STATEMENTS=false) behind a pooler that hands one session's
# statements to another (PgBouncer in transaction mode without prepared-statement support).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "phb.pgbackend"
    # A server that does not answer (a failover, a dropped network path) fails the connection within
    # this many seconds (a JSON 503), not after gunicorn has killed the worker. DATABASE_URL's
    # ?connect_timeout= wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=5))
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
# Persistent connections per worker (SQLite too: opening one runs the PRAGMAs above).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
# List pages: SQL kept per shape and connection, so a page compiles only its WHERE clause (phb.api.page_sql).
DB_PAGE_SQL_CACHE_SIZE = env.int("DB_PAGE_SQL_CACHE_SIZE", default=256)
# The patient appointment list serves items kept in their rows (appointments.list_items; PostgreSQL only).
APPOINTMENT_LIST_ITEMS_KEPT = env.bool("APPOINTMENT_LIST_ITEMS_KEPT", default=True)

# --- Cache (throttles and short-lived counters shared by every worker) ------------------
# A Redis that stops answering fails each call after REDIS_SOCKET_TIMEOUT_SECONDS instead of holding
# the worker (and any row lock its request holds) until the connection drops.
REDIS_SOCKET_TIMEOUT_SECONDS = env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=1.0)


def redis_cache(url: str) -> dict:
    return {"default": {
        "BACKEND": "phb.cache.RedisCache", "LOCATION": url,
        "OPTIONS": {"socket_connect_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
                    "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS},
    }}


REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = redis_cache(REDIS_URL)
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "phb_cache"}
    }

# --- Passwords ------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_HOSPITAL_TIME_ZONE = "Africa/Lagos"
# The clock the Django admin shows and reads datetimes on (phb.middleware.AdminTimeZoneMiddleware).
ADMIN_TIME_ZONE = env.str("ADMIN_TIME_ZONE", default=DEFAULT_HOSPITAL_TIME_ZONE)
# Django admin sessions (accounts.admin_site): idle limit, moved on by each admin page; absolute limit from sign-in.
ADMIN_SESSION_IDLE_SECONDS = env.int("ADMIN_SESSION_IDLE_SECONDS", default=1800)
ADMIN_SESSION_MAX_SECONDS = env.int("ADMIN_SESSION_MAX_SECONDS", default=12 * 3600)
SESSION_COOKIE_AGE = ADMIN_SESSION_MAX_SECONDS  # the only sessions are the admin's

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Email ----------------------------------------------------------------------------
# EMAIL_URL in django-environ form: consolemail://, smtp+tls://user:pass@host:587 (STARTTLS),
# filemail:////absolute/dir (four slashes for an absolute path).
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="PHB <no-reply@phb.test>")
# Seconds the SMTP backend waits on each step of a conversation with the mail server. Emails are sent
# when the request's transaction commits, so a server that never answers would otherwise hold the
# request until gunicorn ends the worker (30 s) and the caller saw an error for a saved change.
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
# Notification emails wait in the outbox (phb.email_outbox) until the mail server takes them. A
# sender's claim on one lasts this long: longer than a whole conversation with a server that stops
# answering (each step waits EMAIL_TIMEOUT). Settled rows are deleted after EMAIL_OUTBOX_KEEP_DAYS.
EMAIL_OUTBOX_CLAIM_SECONDS = env.int("EMAIL_OUTBOX_CLAIM_SECONDS", default=300)
EMAIL_OUTBOX_KEEP_DAYS = env.int("EMAIL_OUTBOX_KEEP_DAYS", default=30)

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.JWTCookieAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: a form carries text alone (no null, number, boolean or list), so a view that takes
    # a form would read "false" as text. The upload views name their multipart parser themselves.
    "DEFAULT_PARSER_CLASSES": ["phb.api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["phb.api.renderers.FastJSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "phb.api.negotiation.KeptContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "phb.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "phb.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "PHB API",
    "DESCRIPTION": (
        "Public Health Bureau backend: accounts, hospitals, medical records, appointments, "
        "payments and women's health tracking. Browsers authenticate with httpOnly JWT cookies; "
        "other clients may send the same access token as `Authorization: Bearer`. "
        "Text never contains NUL characters (U+0000): a field with one is refused with a 400."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "GuidelineCategoryEnum": "storage.models.GuidelineCategory.choices",
        "GuidelinePriorityEnum": "storage.models.GuidelinePriority.choices",
        "BookingPriorityEnum": ["normal", "urgent", "emergency"],  # a booking and its recommendation
        "HealthGoalStatusEnum": "tracking.models.GoalStatus.choices",
        "BirthPlanSectionEnum": "tracking.birth_plan.SECTION_IDS",
    },
    # A consent the request must give: one shared component ("true" only).
    "APPEND_COMPONENTS": {"schemas": {"RequiredConsent": {"type": "boolean", "enum": [True],
                                                          "description": "Must be true."}}},
}

# --- JWT in cookies ---------------------------------------------------------------------
ACCESS_TOKEN_LIFETIME = timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=30))
REFRESH_TOKEN_LIFETIME = timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=1))
REMEMBER_ME_REFRESH_LIFETIME = timedelta(days=30)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_TOKEN_LIFETIME,
    "REFRESH_TOKEN_LIFETIME": REFRESH_TOKEN_LIFETIME,
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # A password change or reset ends every session: tokens carry a hash of the password.
    "CHECK_REVOKE_TOKEN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
}
# Access tokens each process has verified, reused until they expire (accounts.verified_tokens).
AUTH_VERIFIED_TOKEN_CACHE_SIZE = env.int("AUTH_VERIFIED_TOKEN_CACHE_SIZE", default=2048)
AUTH_COOKIE_ACCESS = "access_token"
AUTH_COOKIE_REFRESH = "refresh_token"
AUTH_COOKIE_SECURE = env.bool("AUTH_COOKIE_SECURE", default=False)
AUTH_COOKIE_SAMESITE = env.str("AUTH_COOKIE_SAMESITE", default="Lax")
AUTH_COOKIE_DOMAIN = env.str("AUTH_COOKIE_DOMAIN", default="") or None

# --- One-time codes and throttles ---------------------------------------------------------
OTP_PEPPER = env.str("OTP_PEPPER", default="dev-otp-pepper-change-me")
OTP_TTL_SECONDS = env.int("OTP_TTL_SECONDS", default=300)
OTP_MAX_ATTEMPTS = 5
# Expired codes, password-reset tokens and sessions are deleted this many days after they expire
# (accounts.retention, daily).
CREDENTIALS_RETENTION_DAYS = env.int("CREDENTIALS_RETENTION_DAYS", default=30)
# "count/seconds" (accounts.throttles). Password attempts per account-and-address are strict, per
# address generous (a hospital NATs its staff); failures per account are a ceiling that stops
# only addresses the account has not signed in from. Code checks and email actions count apart.
LOGIN_RATE_PER_ACCOUNT = env.str("LOGIN_RATE_PER_ACCOUNT", default="10/900")
LOGIN_RATE_PER_IP = env.str("LOGIN_RATE_PER_IP", default="600/900")
LOGIN_FAILURES_PER_ACCOUNT = env.str("LOGIN_FAILURES_PER_ACCOUNT", default="50/3600")
LOGIN_KNOWN_ADDRESS_DAYS = env.int("LOGIN_KNOWN_ADDRESS_DAYS", default=30)
CODE_CHECK_RATE_PER_ACCOUNT = env.str("CODE_CHECK_RATE_PER_ACCOUNT", default="15/900")
CODE_CHECK_RATE_PER_IP = env.str("CODE_CHECK_RATE_PER_IP", default="600/900")
# Wrong one-time codes per account and purpose family, whatever the address (accounts.throttles).
CODE_FAILURES_PER_ACCOUNT = env.str("CODE_FAILURES_PER_ACCOUNT", default="20/3600")
EMAIL_ACTION_RATE_PER_ACCOUNT = env.str("EMAIL_ACTION_RATE_PER_ACCOUNT", default="5/900")
EMAIL_ACTION_RATE_PER_IP = env.str("EMAIL_ACTION_RATE_PER_IP", default="100/900")
REGISTRATION_RATE_PER_IP = env.str("REGISTRATION_RATE_PER_IP", default="100/3600")
OTP_REQUEST_RATE_PER_ACCOUNT = env.str("OTP_REQUEST_RATE_PER_ACCOUNT", default="5/900")
# The admission modal's patient search by HPN prefix (an autocomplete: a search per digit typed).
PATIENT_SEARCH_RATE_PER_ACCOUNT = env.str("PATIENT_SEARCH_RATE_PER_ACCOUNT", default="300/3600")
PASSWORD_RESET_TOKEN_TTL = timedelta(hours=1)
# Number of reverse proxies (the ALB) in front of gunicorn whose X-Forwarded-For we trust.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
USER_REF_KEY = env.str("USER_REF_KEY", default="dev-user-ref-key")

# --- CORS (the frontend sends cookies, never a CSRF token) --------------------------------
CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS",
    default=["http://localhost:5173", "http://127.0.0.1:5173", "http://0.0.0.0:5173"],
)
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "x-request-id",
    "x-med-access-token",
    "x-medical-record-token",
)
CORS_EXPOSE_HEADERS = ("x-request-id", "retry-after", "content-disposition",
                       "link", "x-next-cursor", "x-total-count", "x-page-size")  # list paging (phb.api.pagination)

# --- AWS ------------------------------------------------------------------------------
# AWS_ENDPOINT_URL set: every client talks to that endpoint (the moto server in development
# and tests). Unset: real AWS through the standard credential chain.
AWS_REGION = env.str("AWS_REGION", default=env.str("AWS_DEFAULT_REGION", default="us-east-1"))
AWS_ENDPOINT_URL = env.str("AWS_ENDPOINT_URL", default="") or None
AWS_CONNECT_TIMEOUT = env.float("AWS_CONNECT_TIMEOUT", default=2.0)
AWS_READ_TIMEOUT = env.float("AWS_READ_TIMEOUT", default=5.0)
AWS_MAX_ATTEMPTS = env.int("AWS_MAX_ATTEMPTS", default=3)
# /readyz: answer within the deadline whatever hangs; reuse a check's result this long (phb.health).
READYZ_DEADLINE_SECONDS = env.float("READYZ_DEADLINE_SECONDS", default=1.5)
READYZ_CACHE_SECONDS = env.float("READYZ_CACHE_SECONDS", default=5.0)
READYZ_AWS_TIMEOUT = env.float("READYZ_AWS_TIMEOUT", default=1.0)
# An AWS, Paystack or email call made inside a database transaction: "log", "raise" or "off" (phb.netguard).
NETWORK_CALL_IN_TRANSACTION = env.str("NETWORK_CALL_IN_TRANSACTION", default="log")
AWS_NAME_PREFIX = env.str("AWS_NAME_PREFIX", default="phb")
# Bucket names are global: they carry the environment too.
AWS_BUCKET_PREFIX = env.str("AWS_BUCKET_PREFIX", default=f"{AWS_NAME_PREFIX}-{PHB_ENVIRONMENT}")
AWS_RESOURCE_TAGS = {"Environment": PHB_ENVIRONMENT.capitalize(), "Application": "PHB"}
# Conditional bucket policies are mis-applied by the emulator; attach them on real AWS only.
AWS_ATTACH_BUCKET_POLICIES = env.bool("AWS_ATTACH_BUCKET_POLICIES", default=AWS_ENDPOINT_URL is None)

# --- CloudWatch Logs ------------------------------------------------------------------
CLOUDWATCH_LOGS_ENABLED = env.bool("CLOUDWATCH_LOGS_ENABLED", default=False)
CLOUDWATCH_LOG_GROUP_PREFIX = env.str("CLOUDWATCH_LOG_GROUP_PREFIX", default=f"/{AWS_NAME_PREFIX}")
CLOUDWATCH_LOG_RETENTION_DAYS = env.int("CLOUDWATCH_LOG_RETENTION_DAYS", default=90)
CLOUDWATCH_AUDIT_RETENTION_DAYS = env.int("CLOUDWATCH_AUDIT_RETENTION_DAYS", default=2557)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# Per handler (one per log group) and process: lines beyond these are dropped and counted.
CLOUDWATCH_LOGS_QUEUE_MAX_EVENTS = env.int("CLOUDWATCH_LOGS_QUEUE_MAX_EVENTS", default=10_000)
CLOUDWATCH_LOGS_QUEUE_MAX_BYTES = env.int("CLOUDWATCH_LOGS_QUEUE_MAX_BYTES", default=4 * 1024 * 1024)
CLOUDWATCH_LOGS_SEND_INTERVAL_SECONDS = env.float("CLOUDWATCH_LOGS_SEND_INTERVAL_SECONDS", default=5.0)
CLOUDWATCH_LOGS_FAILURE_COOLDOWN_SECONDS = env.float("CLOUDWATCH_LOGS_FAILURE_COOLDOWN_SECONDS", default=30.0)

# --- CloudWatch metrics ----------------------------------------------------------------
CLOUDWATCH_METRICS_ENABLED = env.bool("CLOUDWATCH_METRICS_ENABLED", default=False)
# POST /api/client-errors/ (the frontend's error reports): per-IP rate and largest body.
CLIENT_ERRORS_RATE_PER_IP = env.str("CLIENT_ERRORS_RATE_PER_IP", default="30/300")
CLIENT_ERRORS_MAX_BYTES = env.int("CLIENT_ERRORS_MAX_BYTES", default=16384)
CLOUDWATCH_METRICS_NAMESPACE = env.str("CLOUDWATCH_METRICS_NAMESPACE", default="PHB")
CLOUDWATCH_METRICS_FLUSH_SECONDS = env.float("CLOUDWATCH_METRICS_FLUSH_SECONDS", default=60.0)
CLOUDWATCH_METRICS_MAX_SERIES = env.int("CLOUDWATCH_METRICS_MAX_SERIES", default=3000)
CLOUDWATCH_METRICS_MAX_SERIES_PER_METRIC = env.int("CLOUDWATCH_METRICS_MAX_SERIES_PER_METRIC", default=300)
# Alerting (provision_aws): SNS topic, alarms and dashboards of phb/observability/definitions.py.
CLOUDWATCH_ALARMS_ENABLED = env.bool("CLOUDWATCH_ALARMS_ENABLED", default=True)
CLOUDWATCH_ALERT_TOPIC_NAME = env.str("CLOUDWATCH_ALERT_TOPIC_NAME", default=f"{AWS_NAME_PREFIX}-alerts")
CLOUDWATCH_ALERT_EMAILS = env.list("CLOUDWATCH_ALERT_EMAILS", default=[])

# --- Paystack --------------------------------------------------------------------------
PAYMENTS_ENABLED = env.bool("PAYMENTS_ENABLED", default=True)
PAYSTACK_BASE_URL = env.str("PAYSTACK_BASE_URL", default="https://api.paystack.co")
PAYSTACK_SECRET_KEY = env.str("PAYSTACK_SECRET_KEY", default="")
PAYSTACK_PUBLIC_KEY = env.str("PAYSTACK_PUBLIC_KEY", default="")
PAYSTACK_CALLBACK_URL = env.str("PAYSTACK_CALLBACK_URL", default=f"{FRONTEND_URL}/account/appointments")
PAYSTACK_CONNECT_TIMEOUT = env.float("PAYSTACK_CONNECT_TIMEOUT", default=3.0)
PAYSTACK_READ_TIMEOUT = env.float("PAYSTACK_READ_TIMEOUT", default=10.0)
PAYSTACK_MAX_RETRIES = env.int("PAYSTACK_MAX_RETRIES", default=2)  # reads only; see payments/paystack.py
# One Paystack call, retries included, ends within this many seconds: keep it well below
# GUNICORN_TIMEOUT (30 s), past which the worker is killed and the request answered with no JSON.
PAYSTACK_CALL_BUDGET = env.float("PAYSTACK_CALL_BUDGET", default=20.0)
# Optional second layer behind the signature (Paystack's documented sources); empty accepts any.
PAYSTACK_WEBHOOK_ALLOWED_IPS = env.list("PAYSTACK_WEBHOOK_ALLOWED_IPS", default=[])
PAYMENTS_CURRENCY = "NGN"
PAYMENTS_REFUND_WINDOW_HOURS = env.int("PAYMENTS_REFUND_WINDOW_HOURS", default=24)
# Reconciliation (manage.py reconcile_payments): unpaid payments are checked with Paystack once
# their hold has been expired this long, then closed as expired; a refund Paystack has not settled
# after PAYMENTS_REFUND_RECHECK_MINUTES is asked about again.
PAYMENTS_RECONCILE_GRACE_MINUTES = env.int("PAYMENTS_RECONCILE_GRACE_MINUTES", default=10)
PAYMENTS_PROCESSING_EXPIRY_HOURS = env.int("PAYMENTS_PROCESSING_EXPIRY_HOURS", default=24)
PAYMENTS_REFUND_RECHECK_MINUTES = env.int("PAYMENTS_REFUND_RECHECK_MINUTES", default=60)

# --- Demo data --------------------------------------------------------------------------
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="phb-demo-Passw0rd!")

# --- Areas: names of AWS resources and limits, one block per app --------------------------
S3_SIGNED_URL_TTL = 300  # seconds; every signed URL for anything personal


def _bucket(name: str) -> str:
    return env.str(f"{name.upper().replace('-', '_')}_BUCKET", default=f"{AWS_BUCKET_PREFIX}-{name}")


def _table(name: str) -> str:
    return env.str(f"{name.upper().replace('-', '_')}_TABLE", default=f"{AWS_NAME_PREFIX}-{name}")


# records/
MEDICAL_RECORDS_BUCKET = _bucket("medical-records")
MEDICAL_RECORDS_KMS_ALIAS = f"alias/{AWS_NAME_PREFIX}-medical-records"
MED_ACCESS_TOKEN_TTL_SECONDS = env.int("MED_ACCESS_TOKEN_TTL_SECONDS", default=900)
MED_ACCESS_MAX_SESSIONS = env.int("MED_ACCESS_MAX_SESSIONS", default=5)  # live per holder and record
MED_ACCESS_SESSION_CACHE_SIZE = env.int("MED_ACCESS_SESSION_CACHE_SIZE", default=2048)  # per process; 0 keeps none
CLINICIAN_ACCESS_TTL_SECONDS = env.int("CLINICIAN_ACCESS_TTL_SECONDS", default=3600)
USER_SESSIONS_TABLE = _table("user-sessions")
PATIENT_UPLOAD_MAX_BYTES = 20 * 1024 * 1024
PATIENT_UPLOAD_MAX_FILES = 10
RECORDS_DATA_KEY_CACHE_SECONDS = 300

# appointments/
BOOKING_HOLD_MINUTES = env.int("BOOKING_HOLD_MINUTES", default=15)
BOOKING_DEFAULT_SLOT_CAPACITY = env.int("BOOKING_DEFAULT_SLOT_CAPACITY", default=4)
BOOKING_SLOT_MINUTES = 30
BOOKING_OPENING_TIME = env.str("BOOKING_OPENING_TIME", default="09:00")
BOOKING_CLOSING_TIME = env.str("BOOKING_CLOSING_TIME", default="17:00")
BOOKING_MAX_DAYS_AHEAD = env.int("BOOKING_MAX_DAYS_AHEAD", default=180)
BOOKING_CURRENCY = "NGN"

# appointments/scheduler: doctor choice and recommendations by a PPO policy served with onnxruntime.
SCHEDULER_ENABLED = env.bool("SCHEDULER_ENABLED", default=True)  # off: the heuristic answers
SCHEDULER_MODEL_NAME = "appointment-scheduler"
SCHEDULER_DEFAULT_VERSION = env.str("SCHEDULER_DEFAULT_VERSION", default="v1")  # shipped in the repository
# Downloaded versions go where the service may write (PHB_VAR_DIR; the release folder is read-only on EC2).
SCHEDULER_MODEL_CACHE_DIR = env.str("SCHEDULER_MODEL_CACHE_DIR", default=str(VAR_DIR / "scheduler-models"))
SCHEDULER_INFERENCE_BUDGET_MS = env.float("SCHEDULER_INFERENCE_BUDGET_MS", default=50.0)
SCHEDULER_EVENT_HASH_KEY = env.str("SCHEDULER_EVENT_HASH_KEY", default="")  # empty: derived from SECRET_KEY
SCHEDULER_EVENTS_EXPORT_ENABLED = env.bool("SCHEDULER_EVENTS_EXPORT_ENABLED", default=True)
ML_TRAINING_DATA_BUCKET = _bucket("ml-training-data")
ML_MODELS_BUCKET = _bucket("ml-models")
ML_KMS_ALIAS = f"alias/{AWS_NAME_PREFIX}-ml"
PRESCRIPTION_VALID_DAYS = env.int("PRESCRIPTION_VALID_DAYS", default=30)

# prescriptions/ (signed prescriptions) and pharmacies/
PRESCRIPTION_SIGNING_KMS_ALIAS = f"alias/{AWS_NAME_PREFIX}-prescription-signing"

# tracking/
PREGNANCY_TRACKING_TABLE = _table("pregnancy-tracking")
SEARCH_HISTORY_TABLE = _table("search-history")
WOMENS_HEALTH_VERIFICATION_DAYS = env.int("WOMENS_HEALTH_VERIFICATION_DAYS", default=30)
TRACKING_TIME_ZONE = env.str("TRACKING_TIME_ZONE", default=DEFAULT_HOSPITAL_TIME_ZONE)  # "today" for week maths
TRACKING_SYNC_MAX_ITEMS = 500
TRACKING_PAGE_MAX = 100
TRACKING_OPEN_CYCLE_DAYS = env.int("TRACKING_OPEN_CYCLE_DAYS", default=90)  # days an open cycle shows
# Cycle-tracker days kept per process (tracking.kept_days): spans, bytes of JSON a span, seconds.
TRACKING_DAY_CACHE_SIZE = env.int("TRACKING_DAY_CACHE_SIZE", default=256)  # 0 keeps none
TRACKING_DAY_CACHE_MAX_BYTES = env.int("TRACKING_DAY_CACHE_MAX_BYTES", default=64 * 1024)
TRACKING_DAY_CACHE_SECONDS = env.int("TRACKING_DAY_CACHE_SECONDS", default=300)
TRACKING_BREAKER_SECONDS = env.float("TRACKING_BREAKER_SECONDS", default=10.0)  # skip DynamoDB after a failure
TRACKING_OUTBOX_DRAIN_BATCH = env.int("TRACKING_OUTBOX_DRAIN_BATCH", default=200)
TRACKING_OUTBOX_BACKGROUND_SECONDS = env.int("TRACKING_OUTBOX_BACKGROUND_SECONDS", default=60)
# A drainer's claim on a user's queued rows lapses after this; a later drainer then delivers them again
# (DynamoDB reports the items it already has as duplicates).
TRACKING_OUTBOX_CLAIM_SECONDS = env.int("TRACKING_OUTBOX_CLAIM_SECONDS", default=300)
SEARCH_HISTORY_MAX_TERMS = 50
SEARCH_TRENDING_MIN_USERS = env.int("SEARCH_TRENDING_MIN_USERS", default=3)
SEARCH_TRENDING_MAX_DAYS = 30

# storage/
CLINICAL_GUIDELINES_BUCKET = _bucket("clinical-guidelines")
PRESCRIPTIONS_BUCKET = _bucket("prescriptions")
MEDICAL_IMAGING_BUCKET = _bucket("medical-imaging")
MEDICAL_IMAGING_BACKUP_BUCKET = _bucket("medical-imaging-backup")
MEDICAL_IMAGING_BACKUP_REGION = env.str("MEDICAL_IMAGING_BACKUP_REGION", default="us-west-2")
MEDICAL_IMAGING_REPLICATION_ENABLED = env.bool("MEDICAL_IMAGING_REPLICATION_ENABLED", default=False)
STATIC_ASSETS_BUCKET = _bucket("static-assets")
PRESCRIPTIONS_KMS_ALIAS = f"alias/{AWS_NAME_PREFIX}-prescriptions"
MEDICAL_IMAGING_KMS_ALIAS = f"alias/{AWS_NAME_PREFIX}-medical-imaging"
MEDICAL_IMAGING_BACKUP_KMS_ALIAS = f"alias/{AWS_NAME_PREFIX}-medical-imaging-backup"
MEDICAL_IMAGING_REPLICATION_ROLE = f"{AWS_NAME_PREFIX}-medical-imaging-replication"
# Browser origins allowed by the buckets' CORS rules (signed GETs, direct imaging uploads).
STORAGE_CORS_ORIGINS = env.list("STORAGE_CORS_ORIGINS", default=CORS_ALLOWED_ORIGINS)
STORAGE_RETENTION_DAYS = 2555  # seven years: object lock, noncurrent versions, scan expiry
CLINICAL_GUIDELINE_MAX_BYTES = 10 * 1024 * 1024  # uploads must be smaller than this
# Request bodies: JSON (and anything not multipart) up to DATA_UPLOAD_MAX_MEMORY_SIZE, multipart
# uploads up to the largest any endpoint takes, JSON at most JSON_MAX_DEPTH levels (phb.limits).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
MULTIPART_BODY_MAX_BYTES = max(PATIENT_UPLOAD_MAX_FILES * (PATIENT_UPLOAD_MAX_BYTES + 64 * 1024),
                               CLINICAL_GUIDELINE_MAX_BYTES + 1024 * 1024)
JSON_MAX_DEPTH = 32
MEDICAL_IMAGING_MAX_BYTES = env.int("MEDICAL_IMAGING_MAX_BYTES", default=1024 * 1024 * 1024)
# Hours after an imaging upload's window (the presigned POST's 300 s) closed before a study never
# completed is removed with its object (``manage.py expire_imaging_uploads``); at least 1.
IMAGING_UPLOAD_ABANDON_HOURS = env.int("IMAGING_UPLOAD_ABANDON_HOURS", default=24)
if IMAGING_UPLOAD_ABANDON_HOURS < 1:
    raise ImproperlyConfigured("IMAGING_UPLOAD_ABANDON_HOURS must be at least 1 (an upload may still be arriving).")
# Days without access before Intelligent-Tiering moves a scan to the asynchronous Archive Access
# tier (90-730); 0 keeps scans in the millisecond-access tiers only.
MEDICAL_IMAGING_ARCHIVE_AFTER_DAYS = env.int("MEDICAL_IMAGING_ARCHIVE_AFTER_DAYS", default=0)
# CloudFront in front of the static assets and medical imaging buckets (docs/storage.md): on,
# provision_aws declares both distributions and imaging downloads are CloudFront signed URLs.
CLOUDFRONT_ENABLED = env.bool("CLOUDFRONT_ENABLED", default=False)
CLOUDFRONT_SIGNED_URL_TTL = env.int("CLOUDFRONT_SIGNED_URL_TTL", default=300)
CLOUDFRONT_SIGNING_KEY_SECRET = env.str(
    "CLOUDFRONT_SIGNING_KEY_SECRET", default=f"{AWS_NAME_PREFIX}/{PHB_ENVIRONMENT}/cloudfront-imaging-signing-key")
CLOUDFRONT_NAME_PREFIX = f"{AWS_NAME_PREFIX}-{PHB_ENVIRONMENT}"
# The imaging distribution's domain (or an alias on it); empty: asked of CloudFront once per process.
CLOUDFRONT_IMAGING_DOMAIN = env.str("CLOUDFRONT_IMAGING_DOMAIN", default="")

# deploy/ (EC2: provision_compute, iam_policy, write_env_file; see deploy/README.md)
DEPLOY_RELEASE = env.str("PHB_RELEASE", default="")
DEPLOY_RELEASES_BUCKET = _bucket("releases")
# Where instances fetch the release: "" = s3://<releases bucket>/releases/phb-<release>.tar.gz,
# or a git https URL cloned at the tag <release>.
DEPLOY_RELEASE_SOURCE = env.str("DEPLOY_RELEASE_SOURCE", default="")
DEPLOY_RELEASE_SHA256 = env.str("DEPLOY_RELEASE_SHA256", default="")
DEPLOY_PARAMETER_PATH = env.str("DEPLOY_PARAMETER_PATH", default=f"/{AWS_NAME_PREFIX}/{PHB_ENVIRONMENT}/env")
DEPLOY_STACK_NAME = env.str("DEPLOY_STACK_NAME", default=f"{AWS_NAME_PREFIX}-{PHB_ENVIRONMENT}")
DEPLOY_INSTANCE_TYPE = env.str("DEPLOY_INSTANCE_TYPE", default="t3.medium")  # c6i.xlarge in production
DEPLOY_AMI_ID = env.str("DEPLOY_AMI_ID", default="")  # "" = latest Amazon Linux 2023 from SSM
DEPLOY_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
DEPLOY_VPC_ID = env.str("DEPLOY_VPC_ID", default="")
DEPLOY_SUBNET_IDS = env.list("DEPLOY_SUBNET_IDS", default=[])
DEPLOY_CERTIFICATE_ARN = env.str("DEPLOY_CERTIFICATE_ARN", default="")  # HTTPS listener when set
DEPLOY_ASG_MIN = env.int("DEPLOY_ASG_MIN", default=1)
DEPLOY_ASG_MAX = env.int("DEPLOY_ASG_MAX", default=4)
DEPLOY_ASG_DESIRED = env.int("DEPLOY_ASG_DESIRED", default=1)
DEPLOY_CPU_TARGET_PERCENT = env.float("DEPLOY_CPU_TARGET_PERCENT", default=60.0)
DEPLOY_CPU_ALARM_PERCENT = env.float("DEPLOY_CPU_ALARM_PERCENT", default=80.0)
DEPLOY_DATA_VOLUME_GIB = env.int("DEPLOY_DATA_VOLUME_GIB", default=100)  # seed: 500 in production
DEPLOY_DATA_VOLUME_IOPS = env.int("DEPLOY_DATA_VOLUME_IOPS", default=3000)
DEPLOY_DATA_VOLUME_THROUGHPUT = env.int("DEPLOY_DATA_VOLUME_THROUGHPUT", default=125)
DEPLOY_LOGS_VOLUME_GIB = env.int("DEPLOY_LOGS_VOLUME_GIB", default=125)  # st1 starts at 125 GiB
DEPLOY_DATA_VOLUME_ID = env.str("DEPLOY_DATA_VOLUME_ID", default="")  # one-instance phase: persistent volume
DEPLOY_EFS_ENABLED = env.bool("DEPLOY_EFS_ENABLED", default=False)  # several instances: shared uploads
# One-instance phase: PostgreSQL (on the data volume) and Redis run on the instance itself.
DEPLOY_LOCAL_SERVICES = env.bool("DEPLOY_LOCAL_SERVICES", default=False)
DEPLOY_SNAPSHOTS_ENABLED = env.bool("DEPLOY_SNAPSHOTS_ENABLED", default=True)
DEPLOY_HEALTH_CHECK_PATH = "/readyz"
DEPLOY_APP_PORT = 8000


def _s3_options(bucket: str, **extra) -> dict:
    """django-storages options shared by every bucket: SigV4, short signed URLs, no ACLs, and the
    AWS clients' timeouts and retries (botocore's own are 60 s and five attempts: a hung S3 would
    hold the request past gunicorn's worker timeout)."""
    # Virtual-hosted style on AWS; path style against a local endpoint (no DNS for buckets).
    addressing_style = "path" if AWS_ENDPOINT_URL else "virtual"
    options = {
        "bucket_name": bucket,
        "region_name": AWS_REGION,
        "endpoint_url": AWS_ENDPOINT_URL,
        "signature_version": "s3v4",
        "addressing_style": addressing_style,
        # Given a client config, django-storages takes SigV4 and the addressing style from it alone.
        "client_config": BotoConfig(
            signature_version="s3v4", s3={"addressing_style": addressing_style},
            connect_timeout=AWS_CONNECT_TIMEOUT, read_timeout=AWS_READ_TIMEOUT,
            retries={"mode": "standard", "max_attempts": AWS_MAX_ATTEMPTS}, tcp_keepalive=True,
        ),
        "querystring_auth": True,
        "querystring_expire": S3_SIGNED_URL_TTL,
        "default_acl": None,
        "file_overwrite": False,
        "custom_domain": None,
        # No s3transfer threads inside threaded/forked workers.
        "transfer_config": TransferConfig(use_threads=False),
    }
    options.update(extra)
    return options


STORAGES = {
    "default": {"BACKEND": "phb.aws.storage.S3Storage", "OPTIONS": _s3_options(MEDICAL_RECORDS_BUCKET)},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "medical_records": {
        "BACKEND": "phb.aws.storage.S3Storage",
        "OPTIONS": _s3_options(
            MEDICAL_RECORDS_BUCKET,
            object_parameters={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": MEDICAL_RECORDS_KMS_ALIAS},
        ),
    },
    "clinical_guidelines": {
        "BACKEND": "phb.aws.storage.S3Storage",
        "OPTIONS": _s3_options(
            CLINICAL_GUIDELINES_BUCKET,
            object_parameters={"ServerSideEncryption": "AES256", "StorageClass": "STANDARD_IA"},
        ),
    },
    "prescriptions": {
        "BACKEND": "phb.aws.storage.S3Storage",
        "OPTIONS": _s3_options(
            PRESCRIPTIONS_BUCKET,
            object_parameters={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": PRESCRIPTIONS_KMS_ALIAS},
        ),
    },
    "medical_imaging": {
        "BACKEND": "phb.aws.storage.S3Storage",
        "OPTIONS": _s3_options(
            MEDICAL_IMAGING_BUCKET,
            object_parameters={
                "ServerSideEncryption": "aws:kms",
                "SSEKMSKeyId": MEDICAL_IMAGING_KMS_ALIAS,
                "StorageClass": "INTELLIGENT_TIERING",
            },
        ),
    },
}

from phb.logs import build_logging  # noqa: E402

LOGGING = build_logging(
    level=LOG_LEVEL,
    cloudwatch=CLOUDWATCH_LOGS_ENABLED,
    log_group_prefix=CLOUDWATCH_LOG_GROUP_PREFIX,
)
