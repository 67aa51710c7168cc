"""What every API request costs before its view runs, in process (CPU time): URL resolution and
content negotiation, the project's against Django's and DRF's own.

URL resolution: the project's resolver (``phb.api.routing``, the API's routes tried by their
first segment) against Django's own over the same patterns.

For every API route (``/api/...``; the Django admin's routes resolve as Django's), one filled-in
path (``tests/routes.py``), best of 3 rounds of 100:

url_resolve_us_mean / url_resolve_us_mean_django: mean over the routes, microseconds
url_resolve_us_worst / url_resolve_us_worst_django: the slowest route's
url_resolve_worst_speedup: Django's worst ÷ the project's worst
url_resolve_us_<name>: the project's resolver on the load benchmark's paths (profile, appointments,
medical_record, guidelines, cycles), and ``..._django`` for Django's.

Content negotiation (``phb.api.negotiation``), with the frontend's ``Accept`` header, on a request
whose headers the middleware has already read, best of 5 rounds of 5,000:

negotiation_us / negotiation_us_drf: the kept choice / DRF's ``DefaultContentNegotiation``
"""

from __future__ import annotations

import os
import sys
import time
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phb.settings.test")

import django  # noqa: E402

django.setup()

from django.test import RequestFactory  # noqa: E402
from django.urls import Resolver404, get_resolver  # noqa: E402
from rest_framework.negotiation import DefaultContentNegotiation  # noqa: E402
from rest_framework.request import Request  # noqa: E402

from phb import urls as project_urls  # noqa: E402
from phb.api.negotiation import KeptContentNegotiation  # noqa: E402
from phb.api.renderers import FastJSONRenderer  # noqa: E402
from tests.routes import django_resolver, filled, routes  # noqa: E402

FRONTEND_ACCEPT = "application/json, text/plain, */*"  # what axios sends
NAMED = {
    "profile": "/api/profile/",
    "appointments": "/api/appointments/",
    "medical_record": "/api/patient/medical-record/",
    "guidelines": "/api/clinical-guidelines/",
    "cycles": "/api/womens-health/cycles/",
}


def _us(resolver, path: str, number: int = 100) -> float:
    def once() -> None:
        try:
            resolver.resolve(path)
        except Resolver404:
            pass

    once()
    return min(timeit.repeat(once, timer=time.process_time, number=number, repeat=3)) / number * 1e6


def _negotiation_us(negotiator) -> float:
    def once() -> None:
        django_request = RequestFactory().get("/api/appointments/?limit=10", HTTP_ACCEPT=FRONTEND_ACCEPT)
        django_request.headers.get("X-Request-ID")  # as RequestContextMiddleware does
        negotiator.select_renderer(Request(django_request), [FastJSONRenderer()])

    def baseline() -> None:
        django_request = RequestFactory().get("/api/appointments/?limit=10", HTTP_ACCEPT=FRONTEND_ACCEPT)
        django_request.headers.get("X-Request-ID")
        Request(django_request)
        [FastJSONRenderer()]

    once()
    number = 5000
    took = min(timeit.repeat(once, timer=time.process_time, number=number, repeat=5))
    base = min(timeit.repeat(baseline, timer=time.process_time, number=number, repeat=5))
    return max(0.0, took - base) / number * 1e6


def main() -> int:
    ours, django_own = get_resolver(), django_resolver(project_urls.urlpatterns)
    paths = ["/" + filled(route)[0] for route in routes(project_urls.urlpatterns) if route.startswith("api/")]
    timings = {name: [_us(resolver, path) for path in paths] for name, resolver in (("", ours), ("_django", django_own))}
    for suffix, values in timings.items():
        print(f"url_resolve_us_mean{suffix}: {sum(values) / len(values):.1f}")
        print(f"url_resolve_us_worst{suffix}: {max(values):.1f}")
    print(f"url_resolve_worst_speedup: {max(timings['_django']) / max(timings['']):.1f}")
    print(f"url_resolve_api_routes: {len(paths)}")
    for name, path in NAMED.items():
        print(f"url_resolve_us_{name}: {_us(ours, path, 2000):.1f}")
        print(f"url_resolve_us_{name}_django: {_us(django_own, path, 2000):.1f}")
    print(f"negotiation_us: {_negotiation_us(KeptContentNegotiation()):.1f}")
    print(f"negotiation_us_drf: {_negotiation_us(DefaultContentNegotiation()):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
