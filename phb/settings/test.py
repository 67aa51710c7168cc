"""Tests: PostgreSQL when DATABASE_URL is set, SQLite otherwise; AWS is a moto server subprocess
started by tests/conftest.py (fake credentials, so nothing can reach a real account)."""

import os

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("PHB_ENVIRONMENT", "test")

from phb.localaws import ensure_moto_for_this_process  # noqa: E402

# AWS for tests is a moto server subprocess over HTTP (unless AWS_ENDPOINT_URL names one).
ensure_moto_for_this_process()

from phb.settings.base import *  # noqa: E402,F401,F403
from phb.settings.base import DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": None}
    DATABASES["default"]["OPTIONS"].pop("init_command", None)
LOGIN_RATE_PER_ACCOUNT = "1000/60"
LOGIN_RATE_PER_IP = "10000/60"
LOGIN_FAILURES_PER_ACCOUNT = "1000/60"
CODE_CHECK_RATE_PER_ACCOUNT = "1000/60"
CODE_CHECK_RATE_PER_IP = "1000/60"
CODE_FAILURES_PER_ACCOUNT = "1000/60"
EMAIL_ACTION_RATE_PER_ACCOUNT = "1000/60"
EMAIL_ACTION_RATE_PER_IP = "1000/60"
REGISTRATION_RATE_PER_IP = "1000/60"
OTP_REQUEST_RATE_PER_ACCOUNT = "1000/60"
PATIENT_SEARCH_RATE_PER_ACCOUNT = "1000/60"
PAYSTACK_SECRET_KEY = "sk_test_phb_local_standin"
NETWORK_CALL_IN_TRANSACTION = "raise"
WHITENOISE_AUTOREFRESH = True
# With REDIS_URL (CI sets one) throttles run on Redis like production; use a database of its own.
