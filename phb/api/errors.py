"""One JSON error envelope for every error the API returns.

``{"message": str, "error": str, "detail": ..., "code": str}`` plus, for validation errors,
``errors`` (field -> list of messages) and the same field arrays at the top level, which the
frontend reads (``new_password[0]``). ``message`` is always present; ``error`` repeats it for the
screens that read that key.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger("phb.errors")


class ApiError(exceptions.APIException):
    """An error with a chosen status, message and machine-readable code (plus extra keys)."""

    def __init__(self, message: str, *, status_code: int = 400, code: str = "error", **extra: Any) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.code = code
        self.extra = extra


class Conflict(ApiError):
    def __init__(self, message: str, *, code: str = "conflict", **extra: Any) -> None:
        super().__init__(message, status_code=409, code=code, **extra)


class ServiceUnavailable(ApiError):
    def __init__(self, message: str, *, code: str = "service_unavailable", **extra: Any) -> None:
        super().__init__(message, status_code=503, code=code, **extra)


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            text = _first_message(value)
            if text:
                return text if key in ("non_field_errors", "detail") else f"{key}: {text}"
        return ""
    if isinstance(detail, (list, tuple)):
        return _first_message(detail[0]) if detail else ""
    return str(detail)


def envelope(message: str, *, code: str, detail: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "error": message, "detail": detail if detail is not None else message, "code": code}
    body.update(extra)
    return body


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
        return Response(envelope(f"The request body is too large (at most {limit} KB).", code="request_too_large"),
                        status=413)
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        what = "form fields" if isinstance(exc, TooManyFieldsSent) else "files"
        return Response(envelope(f"Too many {what} in one request.", code="too_many_fields"), status=400)
    if isinstance(exc, RecursionError):
        return Response(envelope("The request is nested too deeply.", code="json_too_deep"), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        # A value the model layer refused (a malformed id given to a query): the input was
        # invalid, answered as the 400 of a serializer's, naming the field when Django did.
        logger.warning("input refused by the model layer", extra={"error_type": type(exc).__name__})
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    if isinstance(exc, ApiError):
        body = envelope(str(exc.detail), code=exc.code, **exc.extra)
        return Response(body, status=exc.status_code, headers=_headers(exc))

    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = _first_message(detail) or "Invalid input."
        body = envelope(message, code="invalid", detail=message, errors=fields)
        for key, value in fields.items():
            if key not in body:
                body[key] = value
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        message = _first_message(exc.detail) or "Request failed."
        response = Response(envelope(message, code=code), status=exc.status_code, headers=_headers(exc))
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            response.data["retry_after"] = int(exc.wait)
        return response

    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database connection broke (a failover, a restart, a killed backend) or the database
        # is busy: the statement that failed did not commit. Django drops a broken connection at
        # the end of the request and the next request opens a new one.
        logger.warning("database unavailable", extra={"error_type": type(exc.__cause__ or exc).__name__})
        return Response(envelope("The service is briefly unavailable; please try again.", code="database_unavailable"),
                        status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "1"})

    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        # The shared cache (Redis: the throttles' counters) is down or not answering: nothing was
        # counted, so the request cannot go on, and the caller may retry in a moment.
        logger.warning("cache unavailable", extra={"error_type": type(exc).__name__})
        return Response(envelope("The service is briefly unavailable; please try again.", code="cache_unavailable"),
                        status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})

    if isinstance(exc, DataError):
        # The database refused a value the request carried (a NUL character, a number out of its
        # column's range): the input was invalid, not the service. Logged without the value.
        logger.warning("input refused by the database", extra={"error_type": type(exc.__cause__ or exc).__name__})
        message = "A value in the request cannot be stored or searched for."
        return Response(envelope(message, code="invalid_value"), status=status.HTTP_400_BAD_REQUEST)

    logger.exception("unhandled error in view", extra={"error_type": type(exc).__name__})
    return Response(envelope("Internal server error.", code="server_error"), status=500)


def _headers(exc: exceptions.APIException) -> dict[str, str]:
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait)))
    return headers


# --- Django-level handlers (URLs outside DRF views) ------------------------------------------
def json_error_response(status_code: int, message: str, code: str) -> JsonResponse:
    return JsonResponse(envelope(message, code=code), status=status_code)


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return json_error_response(413, "The request body is too large.", "request_too_large")
    return json_error_response(400, "Bad request.", "bad_request")


def handler403(request, exception=None):
    return json_error_response(403, "You do not have permission to perform this action.", "permission_denied")


def handler404(request, exception=None):
    return json_error_response(404, "Not found.", "not_found")


def handler500(request):
    return json_error_response(500, "Internal server error.", "server_error")
