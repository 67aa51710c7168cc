"""Production: refuses to start without its secrets; HTTPS-only cookies and HSTS behind an ALB."""

from django.core.exceptions import ImproperlyConfigured

from phb.settings import base as _base
from phb.settings.base import *  # noqa: F401,F403
from phb.settings.base import env

DEBUG = False


def _require(name: str, *, when: bool = True) -> str:
    value = env.str(name, default="")
    if when and not value:
        raise ImproperlyConfigured(f"{name} must be set in production")
    return value


# Resource names (buckets, tables, alarms) derive from it: left out, they would be development's.
_require("PHB_ENVIRONMENT")
SECRET_KEY = _require("DJANGO_SECRET_KEY")
SIMPLE_JWT = {**_base.SIMPLE_JWT, "SIGNING_KEY": _require("JWT_SIGNING_KEY")}
OTP_PEPPER = _require("OTP_PEPPER")
USER_REF_KEY = _require("USER_REF_KEY")
REDIS_URL = _require("REDIS_URL")
CACHES = _base.redis_cache(REDIS_URL)
_require("DATABASE_URL")
_require("EMAIL_URL")
# The console and file backends write whole messages (recipient, name, sign-in code) to the logs or the disk.
if EMAIL_BACKEND in ("django.core.mail.backends.console.EmailBackend",  # noqa: F405
                     "django.core.mail.backends.filebased.EmailBackend"):
    raise ImproperlyConfigured("EMAIL_URL must name a mail server in production (smtp://...), not the console or a file")
# Emails carry sign-in codes and the server's password goes with every one: TLS unless the server is a
# relay on this machine. django-environ reads TLS from the scheme (smtp+tls://, smtp+ssl://) or from
# ?email_use_tls=true; any other query parameter (?tls=True) is dropped without a word.
if (EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"  # noqa: F405
        and not (getattr(_base, "EMAIL_USE_TLS", False) or getattr(_base, "EMAIL_USE_SSL", False))
        and _base.EMAIL_HOST not in ("127.0.0.1", "::1", "localhost")):
    raise ImproperlyConfigured("EMAIL_URL must reach the mail server over TLS in production: "
                               "smtp+tls://user:pass@host:587 or smtp+ssl://user:pass@host:465")
# Password-reset links, the links in notification emails and the page Paystack sends a patient back
# to after paying are built on it: left out, they would point at a developer's machine
# (http://localhost:5173), and a reset link over plain HTTP shows its token on the way.
FRONTEND_URL = _require("FRONTEND_URL")
if not FRONTEND_URL.startswith("https://"):
    raise ImproperlyConfigured("FRONTEND_URL must be the frontend's https:// address in production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set in production")
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS")
if not CORS_ALLOWED_ORIGINS:
    raise ImproperlyConfigured("CORS_ALLOWED_ORIGINS must be set in production")
if _base.PAYMENTS_ENABLED:
    PAYSTACK_SECRET_KEY = _require("PAYSTACK_SECRET_KEY")
    PAYSTACK_PUBLIC_KEY = _require("PAYSTACK_PUBLIC_KEY")

# HTTPS behind the ALB
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
AUTH_COOKIE_SECURE = True
AUTH_COOKIE_SAMESITE = env.str("AUTH_COOKIE_SAMESITE", default="Lax")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
CSRF_TRUSTED_ORIGINS = CORS_ALLOWED_ORIGINS
