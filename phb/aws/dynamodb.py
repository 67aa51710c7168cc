"""Reading DynamoDB page by page: one ``Query`` followed through ``LastEvaluatedKey``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def query_pages(query: Callable[..., dict[str, Any]], *, max_pages: int | None = None,
                **arguments: Any) -> Iterator[dict[str, Any]]:
    """The responses of ``query(**arguments)`` (a table's ``query``, or a wrapper that guards it),
    page by page: each next page starts after the last one's ``LastEvaluatedKey``. ``max_pages``
    bounds a read whose size nothing else bounds."""
    arguments = dict(arguments)
    pages = 0
    while max_pages is None or pages < max_pages:
        response = query(**arguments)
        pages += 1
        yield response
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        arguments["ExclusiveStartKey"] = last
