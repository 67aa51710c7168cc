"""The project's routes as concrete paths, and Django's own resolver over the same patterns: what
``tests/api/test_routing.py`` and ``bench/bench_routing.py`` compare ``phb.api.routing`` with."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RegexPattern

# Values for each converter: one that matches, and where one exists, one the converter refuses.
SAMPLES = {
    "str": ["abc", "APT-1234"],
    "int": ["7", "0"],
    "dbint": ["7", "99999999999999999999"],  # past a database key: no match
    "uuid": [str(uuid.UUID(int=1)), "not-a-uuid"],
    "slug": ["a-b"],
    "path": ["a/b"],
}
_CONVERTER = re.compile(r"<(?:(\w+):)?\w+>")


def plain(pattern: Any) -> Any:
    """``pattern`` with Django's own resolution all the way down."""
    if isinstance(pattern, URLResolver):
        return URLResolver(pattern.pattern, [plain(p) for p in pattern.url_patterns], pattern.default_kwargs,
                           app_name=pattern.app_name, namespace=pattern.namespace)
    return pattern


def django_resolver(urlpatterns: list[Any]) -> URLResolver:
    """The root resolver Django would build for ``urlpatterns``, resolving as Django does."""
    return URLResolver(RegexPattern(r"^/"), [plain(p) for p in urlpatterns])


def walk(patterns: list[Any], prefix: str = "", converters: dict | None = None) -> Iterator[tuple[str, URLPattern, dict]]:
    """Every endpoint, in declared order: its whole route (``api/appointments/<str:ref>/``), its
    pattern, and the converters of its parameters."""
    for pattern in patterns:
        found = {**(converters or {}), **getattr(pattern.pattern, "converters", {})}
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), found)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern, found


def routes(patterns: list[Any]) -> Iterator[str]:
    """Every endpoint's whole route, in declared order."""
    for route, _pattern, _converters in walk(patterns):
        yield route


def filled(route: str) -> list[str]:
    """``route`` with each converter given each of its sample values."""
    paths = [route]
    for match in _CONVERTER.finditer(route):
        kind = match.group(1) or "str"
        paths = [p.replace(match.group(0), value, 1) for p in paths for value in SAMPLES.get(kind, ["x"])]
    return paths


def sample_paths(urlpatterns: list[Any]) -> list[str]:
    """Each route filled in, and bent: without and with a trailing slash, one segment more, a
    changed first segment, a joined segment; plus a few paths no route names."""
    found: set[str] = set()
    for route in routes(urlpatterns):
        for path in filled(route):
            found.update({
                f"/{path}", f"/{path.rstrip('/')}", f"/{path}extra/", f"/{path}/", f"/x{path}",
                "/" + path.replace("/", "x/", 1), "/" + path.replace("/", "", 1),
            })
    found.update({"/", "/api/", "/api", "/api//", "/api/unknown/", "/apix/profile/", "/api/profile/../profile/"})
    return sorted(found)
