"""Request body parsers with limits: JSON nested deeper than ``JSON_MAX_DEPTH`` is a 400.

Python's ``json`` recurses once per level, so a body of ``[[[[...`` 100,000 deep would raise
``RecursionError`` (and values only a few hundred deep can still exhaust the stack later, in
validation or when stored in a JSON column). Such bodies are refused while parsing, before the
view sees them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists/objects more than ``limit`` levels deep (iterative, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class JSONParser(parsers.JSONParser):
    """DRF's strict JSON parser, refusing bodies nested too deeply with a 400."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        limit = settings.JSON_MAX_DEPTH
        message = f"The JSON body is nested too deeply (at most {limit} levels)."
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(message, code="json_too_deep") from exc
        if json_depth_exceeds(data, limit):
            raise ParseError(message, code="json_too_deep")
        return data
