"""Request-level plumbing: path normalisation, request ids, access log lines, JSON error pages, the
admin's clock."""

from __future__ import annotations

import logging
import re
import time
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import is_valid_path
from django.utils import timezone

from phb.api.errors import json_error_response
from phb.logs import request_id_var, route_var, user_ref_var, user_reference
from phb.zones import zone_named

access_logger = logging.getLogger("phb.access")
_DOUBLE_SLASH = re.compile(r"/{2,}")
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._\-]{8,64}")


class CollapseSlashesMiddleware:
    """``//api/login/`` -> ``/api/login/``: the frontend joins a trailing-slash base URL with ``/api``.

    And ``/api/login`` -> ``/api/login/``: an API path without its trailing slash is served as the
    route it names with one (a redirect would answer HTML and lose a POST's body). A route defined
    without the slash (``.../approve``) is served as it is.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "//" in request.path_info:
            request.path_info = _DOUBLE_SLASH.sub("/", request.path_info)
            request.path = _DOUBLE_SLASH.sub("/", request.path)
        if _slash_missing(request):
            request.path_info += "/"
            request.path += "/"
        return self.get_response(request)


def _slash_missing(request: HttpRequest) -> bool:
    """Whether ``request`` is for an API route that ends in a slash, named without it."""
    path = request.path_info
    if not path.startswith("/api/") or path.endswith("/"):
        return False
    urlconf = getattr(request, "urlconf", None)
    return not is_valid_path(path, urlconf) and is_valid_path(f"{path}/", urlconf)


class RequestContextMiddleware:
    """Request id in/out (``X-Request-ID``), one structured access line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.fullmatch(incoming) else str(uuid.uuid4())
        request.request_id = request_id
        tokens = (request_id_var.set(request_id), route_var.set(None), user_ref_var.set(None))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            response["X-Request-ID"] = request_id
            route = _route_of(request)
            route_var.set(route)
            user = getattr(request, "user", None)
            if user is not None and getattr(user, "is_authenticated", False):
                user_ref_var.set(user_reference(user.pk))
            request.phb_route = route
            request.phb_duration_ms = duration_ms
            access_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                    "event": "http_request",
                },
            )
            for hook in _after_response_hooks:
                hook(request, response, duration_ms)
            return response
        finally:
            request_id_var.reset(tokens[0])
            route_var.reset(tokens[1])
            user_ref_var.reset(tokens[2])


_after_response_hooks: list = []


def register_after_response(hook) -> None:
    """Observers (metrics) called with (request, response, duration_ms) after each request."""
    if hook not in _after_response_hooks:
        _after_response_hooks.append(hook)


def unregister_after_response(hook) -> None:
    if hook in _after_response_hooks:
        _after_response_hooks.remove(hook)


def _route_of(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return "/" + (match.route or match.view_name or "unknown").lstrip("^").rstrip("$")


class JsonErrorPagesMiddleware:
    """API paths never answer with an HTML page, whatever produced the error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path_info.startswith("/api/") or response.status_code < 400:
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html"):
            message = {404: "Not found.", 405: "Method not allowed.", 403: "Forbidden."}.get(
                response.status_code, "Request failed." if response.status_code < 500 else "Internal server error."
            )
            code = {404: "not_found", 405: "method_not_allowed", 403: "permission_denied"}.get(
                response.status_code, "error" if response.status_code < 500 else "server_error"
            )
            return json_error_response(response.status_code, message, code)
        return response


class AdminTimeZoneMiddleware:
    """The Django admin on the hospitals' clock (``ADMIN_TIME_ZONE``, the default hospital zone).

    The server's zone is UTC, which the API never shows: it writes instants with their offset, and
    wall-clock times on each hospital's own clock. The admin renders, filters ("Today", "Past 7
    days") and reads datetimes in the active zone, so without this an operator in Lagos saw a 09:00
    appointment at 08:00 and typed times an hour off. Only the admin's views change zone (a URL
    configuration without the admin has none), and the zone is put back once the response is made."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            if getattr(request, "_phb_admin_zone", False):
                timezone.deactivate()

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        match = request.resolver_match
        if match is not None and "admin" in match.namespaces:
            timezone.activate(zone_named(settings.ADMIN_TIME_ZONE))
            request._phb_admin_zone = True
