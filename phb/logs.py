"""Structured, PHI-free logging.

Every line is one JSON object carrying the request id, the route template, the status, the
duration and a non-reversible user reference. A scrubbing filter sits in front of every handler
and removes emails, phone numbers, one-time codes, tokens, cookies and authorization headers,
even when a developer logs them by mistake. Lines always go to stdout and, when
``CLOUDWATCH_LOGS_ENABLED``, also to a CloudWatch log group per area through watchtower.

Names and contacts cannot be recognised by a pattern, so every user loaded during a request
(``post_init`` of the user model, connected in ``PhbConfig.ready``) also lends its name, email
and phone to a request-scoped list of known values that the scrubber removes from that
request's lines (:func:`remember_sensitive`).
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import re
import time
from typing import Any

from phb.observability.escapes import decode_escapes

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("phb_request_id", default=None)
route_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("phb_route", default=None)
user_ref_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("phb_user_ref", default=None)

# Logger name prefix -> log group suffix. Everything else goes to "app".
AREA_LOG_GROUPS: dict[str, str] = {
    "records": "medical-records",
    "payments": "payments",
    "appointments": "appointments",
    "tracking": "tracking",
    "phb.audit": "audit",
    "phb.frontend": "frontend",  # the frontend's own error reports (POST /api/client-errors/)
}
ALL_LOG_GROUP_SUFFIXES = ["app", *AREA_LOG_GROUPS.values()]


def user_reference(user_id: Any) -> str:
    """A stable, non-reversible reference to a user for log correlation."""
    from django.conf import settings

    digest = hmac.new(settings.USER_REF_KEY.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()
    return f"u_{digest[:16]}"


# --- Known values of the current request -------------------------------------------------
class _KnownValues:
    """Strings to remove from every line of one request (names, emails, phones of its users)."""

    __slots__ = ("pattern", "pattern_size", "request_id", "values")
    MAX = 64

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.values: set[str] = set()
        self.pattern: re.Pattern[str] | None = None
        self.pattern_size = 0

    def compiled(self) -> re.Pattern[str] | None:
        if not self.values:
            return None
        if self.pattern is None or self.pattern_size != len(self.values):
            ordered = sorted(self.values, key=len, reverse=True)
            self.pattern = re.compile(
                r"(?<!\w)(?:" + "|".join(re.escape(v) for v in ordered) + r")(?!\w)", re.IGNORECASE
            )
            self.pattern_size = len(self.values)
        return self.pattern


_known_var: contextvars.ContextVar[_KnownValues | None] = contextvars.ContextVar("phb_known_phi", default=None)


def remember_sensitive(*values: Any) -> None:
    """Scrub these strings (and each word of three letters or more) from this request's lines."""
    request_id = request_id_var.get()
    if request_id is None:
        return
    known = _known_var.get()
    if known is None or known.request_id != request_id:
        known = _KnownValues(request_id)
        _known_var.set(known)
    for value in values:
        if not isinstance(value, str):
            continue
        value = value.strip()
        if len(value) < 3:
            continue
        for item in (value, *value.split()):
            if len(item) >= 3 and len(known.values) < _KnownValues.MAX:
                known.values.add(item)


def remember_user(sender: Any = None, instance: Any = None, **_: Any) -> None:
    """``post_init`` receiver for the user model: only fields already loaded (no extra query)."""
    loaded = instance.__dict__ if instance is not None else {}
    remember_sensitive(*(loaded.get(f) for f in ("email", "full_name", "first_name", "last_name", "phone")))


def _known_pattern() -> re.Pattern[str] | None:
    known = _known_var.get()
    if known is None or known.request_id != request_id_var.get():
        return None
    return known.compiled()


# --- Scrubbing --------------------------------------------------------------------------
SENSITIVE_KEYS = {
    "name", "full_name", "first_name", "last_name", "patient_name", "doctor_name", "email", "phone",
    "phone_number", "otp", "code", "token", "access", "refresh", "access_token", "refresh_token",
    "med_access_token", "password", "new_password", "current_password", "confirm_password",
    "authorization", "cookie", "cookies", "set-cookie", "nin", "ssn", "address", "notes",
    "description", "date_of_birth", "dob", "secret", "signature", "x-med-access-token",
    "x-medical-record-token", "term", "chief_complaint", "symptoms", "body",
}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s,;\"']+"), r"\1 [redacted]"),
    (re.compile(r"(?i)\b(access_token|refresh_token|sessionid|csrftoken|med_access_token)=[^;\s,&\"']+"), r"\1=[redacted]"),
]
# Addresses and JWTs are replaced as ``re.sub`` would replace these two patterns, by
# ``scrub_emails`` and ``scrub_jwts``: the patterns, tried from every character of a long run of
# the characters they start with, cost the square of the run's length (a line of 20,000 digits
# took 1.7 s).
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")
_EMAIL_LOCAL = re.compile(r"[\w.+-]+")
_EMAIL_DOMAIN = re.compile(r"[\w-]+(?:\.[\w-]+)+")
_NAME_RUN = re.compile(r"[\w-]*")
# ``Cookie: a=b; c=d`` as a header line: the rest of the line goes.
_HEADER_LINE = re.compile(
    r"(?im)((?<![\w-])(?:authorization|proxy-authorization|cookie|set-cookie|x-med-access-token|"
    r"x-medical-record-token)\s*:\s*)(?![\"'])[^\n]+"
)
# ``'password': 'x'``, ``"token": "x"``, ``otp=x`` inside free text (a dict or a query string
# formatted into a message): the value goes, whatever it looks like.
_KEYED_VALUE = re.compile(
    r"(?i)(?<![\w-])([\"']?(?:" + "|".join(sorted((re.escape(k) for k in SENSITIVE_KEYS), key=len, reverse=True))
    + r")[\"']?\s*[:=]\s*)(?:'[^']*'|\"[^\"]*\"|(?!\[)[^\s,;&'\"}\]\)]+)"
)
# Our payment references (``payments.models.new_reference``): they name a payment at the provider.
_PAYMENT_REFERENCE = re.compile(r"(?i)(?<![\w-])PHB-[0-9a-f]{16}(?![\w-])")
_LONG_TOKEN = re.compile(r"(?<![\w-])[A-Za-z0-9_\-]{24,}(?![\w-])")
_DIGIT_RUN = re.compile(r"(?<![\w.])\+?\d[\d\s().\-]{5,}\d(?![\w])")
_SIX_DIGITS = re.compile(r"(?<!\d)[0-9\uff10-\uff19]{6}(?!\d)")


def scrub_emails(text: str) -> str:
    """``EMAIL.sub("[email]", text)``, in time linear in the text. A match ends its name at an
    ``@``, so each ``@`` in turn is tried once: its name is the run of name characters before it
    (read backwards, and not into the last replacement), its domain the labels after it."""
    at = text.find("@")
    if at < 0:
        return text
    backwards, size = text[::-1], len(text)
    out: list[str] = []
    done = 0
    while at >= 0:
        domain = _EMAIL_DOMAIN.match(text, at + 1)
        name = _EMAIL_LOCAL.match(backwards, size - at, size - done) if domain else None
        if name is None:
            at = text.find("@", at + 1)
            continue
        out += (text[done:at - len(name.group())], "[email]")
        done = domain.end()
        at = text.find("@", done)
    out.append(text[done:])
    return "".join(out)


def scrub_jwts(text: str) -> str:
    """``JWT.sub("[token]", text)``, in time linear in the text. Where no token starts at an
    ``eyJ``, none starts at a later ``eyJ`` of the same run of name characters (it would meet the
    same end of the run), so the search goes on after the run."""
    start = text.find("eyJ")
    out: list[str] = []
    done = 0
    while start >= 0:
        token = JWT.match(text, start)
        if token is None:
            start = text.find("eyJ", _NAME_RUN.match(text, start).end())
            continue
        out += (text[done:start], "[token]")
        done = token.end()
        start = text.find("eyJ", done)
    out.append(text[done:])
    return "".join(out)


def _keyed_value(match: re.Match[str]) -> str:
    return f"{match.group(1)}[redacted]"


def _long_token(match: re.Match[str]) -> str:
    text = match.group(0)
    if _UUID.fullmatch(text):
        return text
    if any(c.isdigit() for c in text) and any(c.isalpha() for c in text):
        return "[token]"
    return text


def _digit_run(match: re.Match[str]) -> str:
    text = match.group(0)
    return "[phone]" if sum(c.isdigit() for c in text) >= 7 else text


def _scrub_segment(text: str) -> str:
    text = _HEADER_LINE.sub(r"\1[redacted]", text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    text = scrub_jwts(scrub_emails(text))
    text = _KEYED_VALUE.sub(_keyed_value, text)
    text = _PAYMENT_REFERENCE.sub("PHB-[reference]", text)
    text = _LONG_TOKEN.sub(_long_token, text)
    text = _DIGIT_RUN.sub(_digit_run, text)
    return _SIX_DIGITS.sub("[code]", text)


# Every pattern above needs one of these; text without any is returned as it is (the common case).
_MAY_HOLD_PHI = re.compile(r"[0-9\uff10-\uff19@=:]|bearer|basic|eyJ|PHB-", re.IGNORECASE)


def scrub_text(text: str, known: re.Pattern[str] | None = None) -> str:
    """Scrub free text; UUIDs (our public ids and request ids) are kept intact. Percent-escapes
    (a URL's query string) are decoded first, once, so ``jane%40example.com`` is an email too, and
    a request's ``known`` names and contacts are matched in their decoded form as well."""
    text = decode_escapes(text)
    if known is not None:
        text = known.sub("[redacted]", text)
    if not _MAY_HOLD_PHI.search(text):
        return text
    parts = _UUID.split(text)
    uuids = _UUID.findall(text)
    out = [_scrub_segment(parts[0])]
    for uuid, part in zip(uuids, parts[1:], strict=True):
        out.append(uuid)
        out.append(_scrub_segment(part))
    return "".join(out)


def scrub(value: Any, key: str | None = None, known: re.Pattern[str] | None = None) -> Any:
    if key is not None and key.lower() in SENSITIVE_KEYS and value not in (None, "", [], {}):
        return "[redacted]"
    if isinstance(value, str):
        return scrub_text(value, known)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, dict):
        return {k: scrub(v, str(k), known) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub(v, None, known) for v in value]
    if _is_http_request(value):
        # Django's own lines carry the request object; its repr has the query string.
        return f"{getattr(value, 'method', '')} {scrub_text(getattr(value, 'path', ''))}".strip()
    return scrub(str(value), None, known)


def _is_http_request(value: Any) -> bool:
    from django.http import HttpRequest

    return isinstance(value, HttpRequest)


_STANDARD_ATTRS = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime"}
# Attributes our own code sets from trusted values; never rewritten.
_SAFE_ATTRS = {"request_id", "route", "user_ref", "status", "duration_ms"}


class ScrubFilter(logging.Filter):
    """Rewrites the record in place so no handler ever sees PHI. Idempotent."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_phb_scrubbed", False):
            return True
        known = _known_pattern()
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = str(record.msg)
        record.msg = scrub(message, None, known)
        record.args = None
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info), None, known)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text, None, known)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, None, known)
        for key in list(vars(record)):
            if key not in _STANDARD_ATTRS and key not in _SAFE_ATTRS and not key.startswith("_"):
                setattr(record, key, scrub(getattr(record, key), key, known))
        record._phb_scrubbed = True
        return True


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", None) or request_id_var.get()
        record.route = getattr(record, "route", None) or route_var.get()
        record.user_ref = getattr(record, "user_ref", None) or user_ref_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line. The text is kept on the record, so stdout and CloudWatch
    handlers format each record once."""

    def format(self, record: logging.LogRecord) -> str:
        cached = record.__dict__.get("_phb_json")
        if cached is not None:
            return cached
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and value is not None:
                payload[key] = value
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        text = json.dumps(payload, default=str, ensure_ascii=False)
        record._phb_json = text
        return text


def cloudwatch_handler(*, log_group: str, queue_limit: int | None = None,
                       queue_max_bytes: int | None = None) -> logging.Handler:
    """A watchtower handler that never calls AWS at start-up and never blocks a request.

    Log groups and their retention are created by ``provision_aws``; the handler only enqueues
    (``create_log_group=False``) into a queue bounded in events and bytes, and its background
    thread sends batches with the shared client (short timeouts). One stream per process. When
    CloudWatch cannot be reached the batch is dropped and counted, and later batches are dropped
    without a network call for ``CLOUDWATCH_LOGS_FAILURE_COOLDOWN_SECONDS``.
    """
    from django.conf import settings

    from phb.aws.clients import aws_client
    from phb.observability.cloudwatch_logs import BoundedCloudWatchLogHandler

    return BoundedCloudWatchLogHandler(
        log_group_name=log_group,
        log_stream_name="{machine_name}-{process_id}",
        boto3_client=aws_client("logs"),
        create_log_group=False,
        send_interval=settings.CLOUDWATCH_LOGS_SEND_INTERVAL_SECONDS,
        max_batch_count=1000,
        max_message_size=64 * 1024,
        queue_limit=queue_limit or settings.CLOUDWATCH_LOGS_QUEUE_MAX_EVENTS,
        queue_max_bytes=queue_max_bytes or settings.CLOUDWATCH_LOGS_QUEUE_MAX_BYTES,
        failure_cooldown=settings.CLOUDWATCH_LOGS_FAILURE_COOLDOWN_SECONDS,
    )


def cloudwatch_handlers() -> list[logging.Handler]:
    """Every CloudWatch handler attached to a logger of this process."""
    from phb.observability.cloudwatch_logs import BoundedCloudWatchLogHandler

    found: dict[int, logging.Handler] = {}
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    for item in loggers:
        for handler in getattr(item, "handlers", []):
            if isinstance(handler, BoundedCloudWatchLogHandler):
                found[id(handler)] = handler
    return list(found.values())


def flush_cloudwatch_logs() -> None:
    """Send what the CloudWatch handlers hold now (tests, worker exit)."""
    for handler in cloudwatch_handlers():
        handler.flush()


def cloudwatch_log_drops_take() -> int:
    """Log events dropped (queue full or CloudWatch unreachable) since the previous call."""
    import sys

    module = sys.modules.get("phb.observability.cloudwatch_logs")
    return module.BoundedCloudWatchLogHandler.take_dropped() if module else 0


def build_logging(*, level: str, cloudwatch: bool, log_group_prefix: str) -> dict[str, Any]:
    filters = ["context", "scrub"]
    handlers: dict[str, dict[str, Any]] = {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": filters,
        },
    }
    groups = ["app", *AREA_LOG_GROUPS.values()]
    if cloudwatch:
        for group in groups:
            handlers[f"cw_{group}"] = {
                "()": "phb.logs.cloudwatch_handler",
                "log_group": f"{log_group_prefix}/{group}",
                "formatter": "json",
                "filters": filters,
            }

    def area_handlers(group: str) -> list[str]:
        return ["stdout", f"cw_{group}"] if cloudwatch else ["stdout"]

    loggers: dict[str, dict[str, Any]] = {
        name: {"handlers": area_handlers(group), "level": level, "propagate": False}
        for name, group in AREA_LOG_GROUPS.items()
    }
    loggers.update(
        {
            "django": {"handlers": area_handlers("app"), "level": "INFO", "propagate": False},
            "django.request": {"handlers": area_handlers("app"), "level": "ERROR", "propagate": False},
            "django.server": {"handlers": area_handlers("app"), "level": "WARNING", "propagate": False},
            "django.db.backends": {"level": "WARNING"},
            "botocore": {"level": "WARNING"},
            "boto3": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            "s3transfer": {"level": "WARNING"},
            "watchtower": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
        }
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "phb.logs.ContextFilter"},
            "scrub": {"()": "phb.logs.ScrubFilter"},
        },
        "formatters": {"json": {"()": "phb.logs.JsonFormatter"}},
        "handlers": handlers,
        "root": {"handlers": area_handlers("app"), "level": level},
        "loggers": loggers,
    }
