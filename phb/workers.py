"""gunicorn workers whose own answers are JSON, like the application's.

gunicorn refuses some requests before Django sees them: a request line longer than
``limit_request_line`` (414), headers over the header limits (431), bytes that are not HTTP
(400). Its stock workers answer those with an HTML page and log the raw request line, which
carries the query string and so can carry personal data. These workers answer in the API's error
envelope (``phb.api.errors``: ``message``, ``error``, ``detail``, ``code``) and log only the
status and the kind of error. ``deploy/gunicorn.conf.py`` selects them.

Where the config has given a worker a garbage-collection schedule (``phb.collector``), the
worker runs its collection after each request, once the request's objects are released.
"""

from __future__ import annotations

import json
from datetime import datetime
from ssl import SSLError
from typing import Any

from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.http.wsgi import Response, default_environ
from gunicorn.workers import gthread, sync

from phb.api.errors import envelope
from phb.collector import Schedule

_SERVER_ERROR = (500, "Internal Server Error", "server_error", "Something went wrong on our side.")
# (exception, status, reason, code, message); the first match wins, so subclasses come first.
_REFUSALS: tuple[tuple[type[BaseException], int, str, str, str], ...] = (
    # A header the application tried to send is the application's fault, not the client's.
    (http_errors.InvalidResponseHeader, *_SERVER_ERROR),
    (http_errors.InvalidResponseHeaderName, *_SERVER_ERROR),
    (http_errors.ConfigurationProblem, *_SERVER_ERROR),
    (http_errors.LimitRequestLine, 414, "URI Too Long", "uri_too_long",
     "The request line (path and query string) is too long."),
    (http_errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "headers_too_large",
     "The request headers are too large."),
    (http_errors.ForbiddenProxyRequest, 403, "Forbidden", "forbidden", "Request forbidden."),
    (SSLError, 403, "Forbidden", "forbidden", "Request forbidden."),
    (http_errors.UnsupportedTransferCoding, 501, "Not Implemented", "not_implemented",
     "This transfer coding is not supported."),
    (http_errors.ExpectationFailed, 417, "Expectation Failed", "expectation_failed",
     "This expectation is not supported."),
    (http_errors.ParseException, 400, "Bad Request", "bad_request", "The request is not valid HTTP."),
)


def refusal_of(exc: BaseException) -> tuple[int, str, str, str]:
    """(status, reason, code, message) of the answer to a request that failed with ``exc``."""
    for kind, status, reason, code, message in _REFUSALS:
        if isinstance(exc, kind):
            return status, reason, code, message
    return _SERVER_ERROR


def json_error_response(*, status: int, reason: str, code: str, message: str) -> bytes:
    body = json.dumps(envelope(message, code=code)).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


class JsonErrors:
    """Replaces ``gunicorn.workers.base.Worker.handle_error``: same statuses, a JSON body, and a
    log line with the status and the error's class only."""

    log: Any
    cfg: Any

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        started = datetime.now()
        status, reason, code, message = refusal_of(exc)
        if status >= 500:
            self.log.error("Error handling a request: %s", type(exc).__name__, exc_info=exc)
        else:
            self.log.warning("Request refused before the application: %s %s", status, type(exc).__name__)
        if req is None and isinstance(exc, (http_errors.InvalidHeader, http_errors.InvalidHeaderName)):
            req = getattr(exc, "req", None)
        if req is not None:
            addr = addr or ("", -1)  # a unix socket
            environ = default_environ(req, client, self.cfg)
            environ["REMOTE_ADDR"] = addr[0]
            environ["REMOTE_PORT"] = str(addr[1])
            response = Response(req, client, self.cfg)
            response.status = f"{status} {reason}"
            response.response_length = len(message)
            self.log.access(response, req, environ, datetime.now() - started)
        try:
            util.write_nonblock(client, json_error_response(status=status, reason=reason, code=code, message=message))
        except Exception:  # noqa: BLE001 - the client may be gone; nothing more to tell it
            self.log.debug("Failed to send an error answer.")


class CollectsBetweenRequests:
    """A ``handle`` call serves one HTTP/1 request (the sync worker closes every connection; gthread
    hands each request of a kept-alive connection to ``handle``, or hands back one with no request
    yet). The collection runs once it has returned: the response is sent, and the request, its view
    and its data are no longer referenced from the worker's frames, so the young generation holds
    little but their reference cycles."""

    collector: Schedule | None = None

    def handle(self, *args: Any) -> Any:
        try:
            return super().handle(*args)  # type: ignore[misc]
        finally:
            if self.collector is not None:
                self.collector.after_request()


class SyncWorker(CollectsBetweenRequests, JsonErrors, sync.SyncWorker):
    """gunicorn's sync worker (one request at a time per process)."""


class ThreadWorker(CollectsBetweenRequests, JsonErrors, gthread.ThreadWorker):
    """gunicorn's gthread worker (``GUNICORN_THREADS`` > 1)."""
