"""The API's segment-indexed URL resolution answers every path exactly as Django's own resolver."""

from __future__ import annotations

import pytest
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from phb import urls as project_urls
from phb.api.routing import SegmentIndexedResolver
from tests.routes import django_resolver, plain, sample_paths

PATHS = sample_paths(project_urls.urlpatterns)


def _outcome(resolver: URLResolver, path: str):
    try:
        match = resolver.resolve(path)
    except Resolver404:
        return None
    return (match.func, match.args, match.kwargs, match.url_name, match.route, match.app_names, match.namespaces,
            match.view_name, match.captured_kwargs, match.extra_kwargs)


def test_the_api_resolves_by_segment():
    api = [p for p in get_resolver().url_patterns if isinstance(p, SegmentIndexedResolver)]
    assert len(api) == 1 and str(api[0].pattern) == "api/"


@pytest.mark.parametrize("chunk", range(8))
def test_every_route_resolves_as_djangos_resolver_does(chunk):
    ours, django_own = get_resolver(), django_resolver(project_urls.urlpatterns)
    paths = PATHS[chunk::8]
    assert len(PATHS) > 3000  # every route of the project, filled in and bent
    matched = 0
    for path in paths:
        expected = _outcome(django_own, path)
        assert _outcome(ours, path) == expected, path
        matched += expected is not None
    assert matched > len(paths) // 4


def test_an_include_with_its_own_names_or_arguments_keeps_them():
    def view(request, **kwargs):
        return None

    inner = [URLPattern(RoutePattern("things/<int:pk>/", name="thing", is_endpoint=True), view)]
    named = URLResolver(RoutePattern("", is_endpoint=False), inner, {"flag": 1}, app_name="app", namespace="ns")
    catch_all = URLPattern(RoutePattern("<str:anything>/", name="catch-all", is_endpoint=True), view)
    api = SegmentIndexedResolver(RoutePattern("api/", is_endpoint=False), [catch_all, named])
    indexed = URLResolver(RegexPattern(r"^/"), [api])
    django_own = URLResolver(RegexPattern(r"^/"), [plain(api)])
    for path in ("/api/things/5/", "/api/things/", "/api/other/", "/api/things/x/", "/api/"):
        assert _outcome(indexed, path) == _outcome(django_own, path), path
    match = indexed.resolve("/api/things/5/")
    assert (match.url_name, match.namespace, match.kwargs) == ("thing", "ns", {"flag": 1, "pk": 5})
    assert indexed.resolve("/api/things/").url_name == "catch-all"  # declared first, matches any segment
