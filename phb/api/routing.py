"""URL resolution that tries only the routes a path's first segment can match.

Django's ``URLResolver.resolve`` tries its patterns in order and descends into every include on
the way. The API's 186 routes are eleven ``include()``s, so a request to a route near the end
(the pharmacies, the prescriptions) tried most of them first: up to 0.15 ms of CPU, in every
request, before any view ran (``bench/bench_dispatch.py``).

:class:`SegmentIndexedResolver` answers exactly as Django's resolver does, from fewer patterns:
each route whose text starts with a whole literal segment (``appointments/...``) can match only
paths that start with that segment, so a path is tried against the routes of its own first
segment and the routes that could match any path (a converter or a regular expression first),
in their declared order. It hands the matching itself to a plain ``URLResolver`` over those
patterns, with its own route, arguments and names, so the match it returns is Django's.

An include with an empty prefix and no names or arguments of its own (``path("",
include("appointments.urls"))``) adds nothing to a match but a level of resolving: its patterns
take its place, in order. Other includes are indexed the same way inside. Only the ``tried``
list differs (the patterns of other segments are not in it), which nothing but Django's debug
page reads. Reversing URLs is unchanged: it reads the declared patterns.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RoutePattern

# A pattern that may match paths of any first segment.
_ANY = None


def _first_segments(pattern: URLPattern | URLResolver) -> frozenset[str] | None:
    """The first path segments ``pattern`` can match, or None where it could match any."""
    route_pattern = pattern.pattern
    if not isinstance(route_pattern, RoutePattern):
        return _ANY
    route = str(route_pattern)
    literal = route.split("<", 1)[0]
    if "/" in literal:
        return frozenset({literal.split("/", 1)[0]})
    if "<" in route:
        return _ANY
    if isinstance(pattern, URLPattern):  # an endpoint matches its whole remaining path
        return frozenset({route})
    if route:  # an include's prefix matches the start of a longer segment too
        return _ANY
    segments: set[str] = set()
    for child in pattern.url_patterns:  # an include with no prefix: its patterns see the same path
        found = _first_segments(child)
        if found is _ANY:
            return _ANY
        segments |= found
    return frozenset(segments)


def _plain_include(pattern: Any) -> bool:
    return (isinstance(pattern, URLResolver) and isinstance(pattern.pattern, RoutePattern)
            and str(pattern.pattern) == "" and not pattern.app_name and not pattern.namespace
            and not pattern.default_kwargs)


def _flattened(patterns: list[Any]) -> list[Any]:
    """``patterns`` with each plain include replaced by its own patterns, in order."""
    flat: list[Any] = []
    for pattern in patterns:
        flat.extend(_flattened(list(pattern.url_patterns)) if _plain_include(pattern) else [pattern])
    return flat


def _indexed(pattern: Any) -> Any:
    if isinstance(pattern, URLResolver) and not isinstance(pattern, SegmentIndexedResolver):
        return SegmentIndexedResolver.of(pattern)
    return pattern


class SegmentIndexedResolver(URLResolver):
    @classmethod
    def of(cls, resolver: URLResolver) -> SegmentIndexedResolver:
        """``resolver`` (what ``path(route, include(...))`` returns), resolving by segment."""
        return cls(resolver.pattern, resolver.urlconf_name, resolver.default_kwargs,
                   app_name=resolver.app_name, namespace=resolver.namespace)

    def _delegate(self, patterns: list[Any]) -> URLResolver:
        return URLResolver(self.pattern, [_indexed(p) for p in patterns], self.default_kwargs,
                           app_name=self.app_name, namespace=self.namespace)

    def _delegates(self) -> tuple[dict[str, URLResolver], URLResolver]:
        found = self.__dict__.get("_segment_delegates")
        if found is None:
            patterns = _flattened(list(self.url_patterns))
            firsts = [_first_segments(p) for p in patterns]
            segments = sorted({s for f in firsts if f is not _ANY for s in f})
            by_segment = {
                segment: self._delegate([p for p, f in zip(patterns, firsts, strict=True) if f is _ANY or segment in f])
                for segment in segments
            }
            found = by_segment, self._delegate([p for p, f in zip(patterns, firsts, strict=True) if f is _ANY])
            self.__dict__["_segment_delegates"] = found
        return found

    def resolve(self, path: Any) -> Any:
        path = str(path)
        match = self.pattern.match(path)
        if not match:
            return super().resolve(path)  # raises Django's own Resolver404
        by_segment, any_segment = self._delegates()
        return by_segment.get(match[0].split("/", 1)[0], any_segment).resolve(path)
