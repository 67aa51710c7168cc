"""The JSON renderer of every API response: orjson, with exactly DRF's output.

Same bytes as ``rest_framework.renderers.JSONRenderer`` with the project's settings (compact,
UTF-8 rather than ``\\u`` escapes, U+2028/U+2029 escaped for JavaScript), several times faster on
large lists. Types orjson does not know (dates and times, ``Decimal``, lazy strings, querysets...)
go through DRF's own encoder rules; anything orjson refuses outright (integers beyond 64 bits)
falls back to DRF's renderer, so nothing that rendered before fails now. One spelling differs:
floats that need an exponent (``1e-7`` rather than Python's ``1e-07``), the same number to any
JSON parser; NaN and infinities become ``null`` rather than an error.
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
# Keys that are not strings (numbers, UUIDs) need OPT_NON_STR_KEYS, which doubles orjson's time on
# every dict; few answers have them, so that option is asked for only when orjson refuses a key.
_NON_STR_KEY_OPTIONS = _OPTIONS | orjson.OPT_NON_STR_KEYS
_drf_default = JSONEncoder().default
_LS, _PS = "\u2028".encode(), "\u2029".encode()
_LS_PS_LEAD = _LS[:1]  # both encode as E2 80 xx: a body without that byte (most) needs no search for them


def _default(obj: Any) -> Any:
    return _drf_default(obj)


def dumps(data: Any) -> bytes:
    """``data`` as the API's JSON bytes."""
    try:
        body = orjson.dumps(data, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError as exc:
        if "key must be str" not in str(exc):
            raise
        body = orjson.dumps(data, default=_default, option=_NON_STR_KEY_OPTIONS)
    if _LS_PS_LEAD in body and (_LS in body or _PS in body):
        body = body.replace(_LS, b"\\u2028").replace(_PS, b"\\u2029")
    return body


def _without_fragments(data: Any) -> Any:
    """``data`` with each ``orjson.Fragment`` (JSON kept as text) parsed, for DRF's own renderer."""
    if isinstance(data, list) and any(isinstance(item, orjson.Fragment) for item in data):
        return [orjson.loads(orjson.dumps(item)) if isinstance(item, orjson.Fragment) else item for item in data]
    return data


class FastJSONRenderer(JSONRenderer):
    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}):
            return super().render(_without_fragments(data), accepted_media_type, renderer_context)
        try:
            return dumps(data)
        except (orjson.JSONEncodeError, TypeError):
            return super().render(_without_fragments(data), accepted_media_type, renderer_context)
