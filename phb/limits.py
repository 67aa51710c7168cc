"""Request size limits, enforced before any view runs.

A body is refused with 413 and the usual JSON envelope when its ``Content-Length`` is above the
limit for its kind: ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB) for JSON and everything else,
``MULTIPART_BODY_MAX_BYTES`` for ``multipart/form-data`` uploads (the largest upload any endpoint
takes; each endpoint then applies its own, smaller, limit). Django refuses a body without a
length the same way when it is read (``RequestDataTooBig``, answered 413 by
``phb.api.errors``), and form bodies with too many fields or files (400).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from phb.api.errors import json_error_response


def body_limit_for(request: HttpRequest) -> int | None:
    if request.content_type == "multipart/form-data":
        return settings.MULTIPART_BODY_MAX_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return json_error_response(400, "Invalid Content-Length header.", "bad_request")
        if length < 0:
            return json_error_response(400, "Invalid Content-Length header.", "bad_request")
        limit = body_limit_for(request)
        if limit is not None and length > limit:
            response = json_error_response(
                413, f"The request body is too large (at most {limit // 1024} KB).", "request_too_large"
            )
            response["Connection"] = "close"
            return response
        return self.get_response(request)
