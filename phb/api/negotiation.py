"""DRF's content negotiation, its answer kept per ``Accept`` header.

DRF parses the request's ``Accept`` header, and reads its query string for ``?format=``, on every
request, though a client sends the same few headers over and over (the frontend always sends
``application/json, text/plain, */*``): about 30 µs of CPU a request. The choice depends only
on the header, the format asked for and the view's renderers, so :class:`KeptContentNegotiation`
works it out with DRF's own ``DefaultContentNegotiation`` the first time a worker sees that
combination and keeps which renderer it chose (or that none could serve it: the 406) in a
bounded table. A request whose query string may name a format goes DRF's way every time.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation

from phb.lru import BoundedLRU

KEPT_ANSWERS = 512
# Longer headers are negotiated afresh (and DRF itself refuses very long ones).
KEPT_ACCEPT_LENGTH = 512
_NOT_ACCEPTABLE = -1

_kept: BoundedLRU[tuple[Any, ...], tuple[int, str]] = BoundedLRU(size=lambda: KEPT_ANSWERS)


def _may_name_a_format(query_string: str, param: str | None) -> bool:
    # A key may be percent-encoded (``%66ormat=``), so any ``%`` is read the long way.
    return bool(param) and (param in query_string or "%" in query_string)


class KeptContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Any, renderers: list[Any], format_suffix: str | None = None) -> tuple[Any, str]:
        meta = request.META
        accept = meta.get("HTTP_ACCEPT", "*/*")
        if (format_suffix or len(accept) > KEPT_ACCEPT_LENGTH
                or _may_name_a_format(meta.get("QUERY_STRING", ""), self.settings.URL_FORMAT_OVERRIDE)):
            return super().select_renderer(request, renderers, format_suffix)
        key = (accept, *((type(r), r.media_type, r.format) for r in renderers))
        found = _kept.get(key)
        if found is None:
            try:
                renderer, media_type = super().select_renderer(request, renderers, format_suffix)
            except exceptions.NotAcceptable:
                _kept.put(key, (_NOT_ACCEPTABLE, ""))
                raise
            found = (next(i for i, r in enumerate(renderers) if r is renderer), media_type)
            _kept.put(key, found)
        index, media_type = found
        if index == _NOT_ACCEPTABLE:
            raise exceptions.NotAcceptable(available_renderers=renderers)
        return renderers[index], media_type
