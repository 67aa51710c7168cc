"""Request metrics: one hook after every response, registered by ``PhbConfig.ready``.

Each request adds to ``PHB/API``:

- ``Latency`` (Milliseconds; sent as values and counts, so p50/p99 exist),
- ``RequestCount`` (Count),
- ``4XXError`` and ``5XXError`` (Count, 0 or 1 per request: the Sum is the number of errors,
  the Average the error rate),

under two dimension sets: ``Route`` (the URL pattern, never the raw path) with ``Method``, and
``Service`` (the app that owns the view). The ``Route``/``Method`` set also rolls up to the
series without dimensions (the whole API). Health probes are not counted.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from phb import metrics
from phb.observability.definitions import API_AREA, KNOWN_SERVICES

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
SKIPPED_ROUTES = frozenset({"/healthz", "/healthz/", "/readyz", "/readyz/"})


def service_of(request: HttpRequest) -> str:
    """The app that owns the view (``records``, ``payments``...), from a fixed list."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    func = match.func
    view_class = getattr(func, "view_class", None) or getattr(func, "cls", None)
    module = getattr(view_class or func, "__module__", "") or ""
    top = module.split(".", 1)[0]
    if top == "django" and ".admin" in module:
        return "admin"
    return top if top in KNOWN_SERVICES else "other"


def route_of(request: HttpRequest) -> str:
    route = getattr(request, "phb_route", None) or "unmatched"
    if route == "unmatched":
        static = "/" + str(getattr(settings, "STATIC_URL", "static/")).strip("/")
        if request.path_info.startswith(static + "/"):
            return static + "/*"
    return route


def record_request(request: HttpRequest, response: HttpResponse, duration_ms: float) -> None:
    route = route_of(request)
    if route in SKIPPED_ROUTES:
        return
    method = request.method if request.method in METHODS else "OTHER"
    metrics.record_request(route=route, method=method, service=service_of(request),
                           status=response.status_code, duration_ms=duration_ms, area=API_AREA)
