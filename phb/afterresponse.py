"""Work that runs after the response has been sent.

:func:`defer` queues a job for the end of the current request: the WSGI server sends the whole
response first and then closes it, which fires ``request_finished`` in the same thread; the
jobs run there, in order, each on its own (a failing job is logged and the rest still run).
Outside a request (a management command, a shell) the job runs at once.

Used where the answer must not depend on what the work finds: a password-reset request costs
the caller the same whether or not the account exists, because the lookup and everything after
it happen once the response is already on its way.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("phb.afterresponse")
_local = threading.local()


def defer(job: Callable[[], object], *, name: str) -> None:
    """Run ``job`` after the response is sent (now, outside a request). ``name`` is for logs."""
    jobs = getattr(_local, "jobs", None)
    if jobs is None:
        _run(job, name)
        return
    jobs.append((job, name))


def pending() -> int:
    """How many jobs the current request has queued (for tests and metrics)."""
    return len(getattr(_local, "jobs", None) or [])


def _run(job: Callable[[], object], name: str) -> None:
    try:
        job()
    except Exception:
        logger.exception("after-response job failed", extra={"event": "after_response_failed", "job": name})


def run_pending(**_: object) -> None:
    jobs, _local.jobs = getattr(_local, "jobs", None), None
    for job, name in jobs or []:
        _run(job, name)


class AfterResponseMiddleware:
    """Opens the request's job list; ``request_finished`` runs it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _local.jobs = []
        return self.get_response(request)


request_finished.connect(run_pending, dispatch_uid="phb.afterresponse.run_pending")
