"""Liveness and readiness probes (the ALB target group checks /readyz)."""

from __future__ import annotations

import logging
import time

from django.db import connection
from django.http import JsonResponse

from phb.aws.clients import aws_client

logger = logging.getLogger("phb.health")
_READY_CACHE: dict[str, tuple[float, bool]] = {}
_READY_CACHE_SECONDS = 5.0


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.warning("readiness: database unreachable", extra={"event": "readyz_db_down"})
        return False


def _check_aws() -> bool:
    cached = _READY_CACHE.get("aws")
    if cached and time.monotonic() - cached[0] < _READY_CACHE_SECONDS:
        return cached[1]
    try:
        aws_client("sts").get_caller_identity()
        ok = True
    except Exception:
        logger.warning("readiness: AWS unreachable", extra={"event": "readyz_aws_down"})
        ok = False
    _READY_CACHE["aws"] = (time.monotonic(), ok)
    return ok


def readyz(request):
    checks = {"database": _check_database(), "aws": _check_aws()}
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if not ready:
        failing = ", ".join(k for k, v in checks.items() if not v)
        body.update({"message": f"Not ready: {failing} unreachable.", "code": "not_ready"})
    return JsonResponse(body, status=200 if ready else 503)
