"""Following a paged list's ``Link`` headers in tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

LINK = re.compile(r'<(?P<url>[^>]+)>; rel="next"')


def next_url(response) -> str | None:  # noqa: ANN001 (a test client response)
    """The path of the next page (``Link`` rel=next), None on the last page."""
    link = response.headers.get("Link")
    if not link:
        assert "X-Next-Cursor" not in response.headers
        return None
    assert response.headers["X-Next-Cursor"] in link
    return LINK.match(link).group("url").removeprefix("http://testserver")


def pages(client, url: str, *, max_pages: int = 50) -> list:  # noqa: ANN001
    """Each page's response, following ``Link`` from ``url``; every page must answer 200."""
    responses = []
    for _ in range(max_pages):
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        responses.append(response)
        url = next_url(response)
        if url is None:
            return responses
    raise AssertionError("too many pages")


def walk(client, url: str, key: str | Callable[[Any], list] | None = None, *,  # noqa: ANN001
         max_pages: int = 50) -> tuple[list, list]:
    """Every item reached by following ``Link`` from ``url`` (the body, its ``key``, or ``key(body)``),
    and each page's response."""
    responses = pages(client, url, max_pages=max_pages)
    items: list = []
    for response in responses:
        body = response.json()
        items.extend(body if key is None else body[key] if isinstance(key, str) else key(body))
    return items, responses
