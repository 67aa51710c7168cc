"""``POST /api/client-errors/``: the frontend's error-boundary reports, one JSON line each in the
``/phb/frontend`` log group (logger ``phb.frontend``, declared in ``phb.logs.AREA_LOG_GROUPS``).

Anyone may report (the page may have crashed before or after sign-in), so the endpoint is built
to be harmless: reports are rate-limited per client IP in the shared cache, the body is capped
before it is read, only known fields are kept and each is cut to size, page URLs lose their
query string and fragment, and the line goes through the same PHI scrubbing as every other line
(with the signed-in caller's own name and email, when the cookie says who that is). It never
answers 5xx: a report that cannot be recorded is dropped and counted.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response

from phb import metrics
from phb.api.errors import ApiError
from phb.api.views import PublicApiView

logger = logging.getLogger("phb.frontend")
internal = logging.getLogger("phb.observability")

# Report field -> (log attribute, longest kept). Anything else in the body is ignored.
FIELDS: dict[str, tuple[str, int]] = {
    "message": ("error_message", 1000),
    "name": ("error_name", 120),
    "stack": ("stack", 8000),
    "componentStack": ("component_stack", 8000),
    "url": ("page", 500),
    "route": ("page_route", 200),
    "userAgent": ("user_agent", 300),
    "release": ("release", 64),
    "level": ("client_level", 16),  # the page's own word for it; the line's level stays ERROR
    "source": ("source", 120),
}
ALIASES = {"error": "message", "errorMessage": "message", "component_stack": "componentStack",
           "user_agent": "userAgent", "href": "url", "path": "route", "version": "release"}


def _without_query(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def report_fields(body: dict[str, Any]) -> dict[str, str]:
    """The log attributes of one report: known fields only (text; another JSON type is a 400), cut to
    size, URLs bare."""
    out: dict[str, str] = {}
    for sent, value in body.items():
        key = ALIASES.get(sent, sent)
        if key not in FIELDS or value is None:
            continue
        attribute, limit = FIELDS[key]
        if not isinstance(value, str):
            raise ApiError(f"{sent}: send text (or null).", code="invalid", errors={sent: ["Not a valid string."]})
        text = value
        if key == "url":
            text = _without_query(text)
        if key == "route":
            text = text.split("?", 1)[0].split("#", 1)[0]
        out[attribute] = text[:limit]
    return out


def _caller(request: Request):
    """Who is reporting, when the access cookie says so (loading the user also registers their
    name and email for scrubbing from this request's lines). Never refuses a report."""
    from accounts.authentication import JWTCookieAuthentication

    try:
        found = JWTCookieAuthentication().authenticate(request)
    except Exception:
        return None
    return found[0] if found else None


def _body(request: Request) -> dict[str, Any]:
    limit = settings.CLIENT_ERRORS_MAX_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise ApiError(f"Report too large (at most {limit} bytes).", status_code=413, code="too_large")
    raw = request._request.read(limit + 1)
    if len(raw) > limit:
        raise ApiError(f"Report too large (at most {limit} bytes).", status_code=413, code="too_large")
    try:
        body = json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError("Send the report as a JSON object.", code="invalid") from exc
    if not isinstance(body, dict):
        raise ApiError("Send the report as a JSON object.", code="invalid")
    fields = report_fields(body)
    if not fields.get("error_message") and not fields.get("error_name"):
        raise ApiError("A report needs at least `message` or `name`.", code="invalid")
    return fields


class ClientErrorReportView(PublicApiView):
    parser_classes: list = []  # the body is read here, capped; sendBeacon posts text/plain
    json_body_is_object = False  # _body() reads the bytes and refuses anything but an object
    throttle_classes: list = []

    @extend_schema(
        request={"application/json": {
            "type": "object",
            # Text, or null for "not given"; longer text is kept cut to size, not refused.
            "properties": {key: {"type": "string", "nullable": True, "description": f"Kept up to {limit} characters."}
                           for key, (_, limit) in FIELDS.items()},
            "anyOf": [{"required": ["message"], "properties": {"message": {"type": "string", "minLength": 1}}},
                      {"required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}}],
        }},
        responses={202: dict, 400: dict, 413: dict, 429: dict},
        summary="Report a frontend error (error boundary) to the /phb/frontend log group",
        description="Anonymous allowed; rate-limited per client IP (`CLIENT_ERRORS_RATE_PER_IP`); body at most "
                    "`CLIENT_ERRORS_MAX_BYTES`. Known fields: " + ", ".join(f"`{k}`" for k in FIELDS) + ".",
        examples=[OpenApiExample("boundary", value={
            "message": "Cannot read properties of undefined (reading 'confirmed')", "name": "TypeError",
            "componentStack": "at ProfessionalDashboardPage", "url": "https://app.example/professional/dashboard",
        })],
    )
    def post(self, request: Request) -> Response:
        from accounts.throttles import client_ip, hit
        from phb.logs import user_reference

        try:
            hit(scope="client-errors-ip", ident=client_ip(request), rate=settings.CLIENT_ERRORS_RATE_PER_IP)
            fields = _body(request)
            user = _caller(request)
            extra: dict[str, Any] = {"event": "client_error", **fields}
            if user is not None:
                extra["user_ref"] = user_reference(user.pk)
            logger.error("frontend error", extra=extra)
            metrics.record("ClientError", area="Frontend")
        except (ApiError, Throttled):
            raise
        except Exception:  # recording a report must never fail the page that sent it
            internal.warning("client error report dropped", extra={"event": "client_error_dropped"}, exc_info=True)
            metrics.record("ClientErrorDropped", area="Frontend")
        return Response({"status": "accepted", "message": "Report received."}, status=202)
