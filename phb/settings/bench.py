"""Benchmarks: test-like settings, but served by gunicorn; adds a bare constant-JSON view."""

import os

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("PHB_ENVIRONMENT", "bench")

from phb.settings.base import *  # noqa: E402,F401,F403

ROOT_URLCONF = "bench.urls"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGIN_RATE_PER_ACCOUNT = "100000/60"
LOGIN_RATE_PER_IP = "1000000/60"
LOGIN_FAILURES_PER_ACCOUNT = "100000/60"
CODE_CHECK_RATE_PER_ACCOUNT = "100000/60"
CODE_CHECK_RATE_PER_IP = "100000/60"
EMAIL_ACTION_RATE_PER_ACCOUNT = "100000/60"
EMAIL_ACTION_RATE_PER_IP = "100000/60"
REGISTRATION_RATE_PER_IP = "100000/60"
OTP_REQUEST_RATE_PER_ACCOUNT = "100000/60"
WHITENOISE_AUTOREFRESH = True
