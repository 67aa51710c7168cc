"""Liveness (``/healthz``) and readiness (``/readyz``, the ALB target group's health check).

``/readyz`` answers within ``READYZ_DEADLINE_SECONDS`` whatever hangs: the checks run
concurrently in a small thread pool, each with short timeouts of its own; a check still running
at the deadline counts as failed for this answer, and is not started again while it runs; a
finished check's result is reused for ``READYZ_CACHE_SECONDS``.

Which failures make an instance unready (503), and why (docs/observability.md):

- **database**: ``SELECT 1`` fails or does not answer in time. Every endpoint needs it, and the
  failure can be this instance's own (its local PostgreSQL in the one-instance phase, its
  connections or network path).
- **AWS credentials**: AWS answers that this instance's credentials are missing, invalid or
  expired. That is the instance's own (its role or profile); a replacement fixes it.

AWS not answering (a hang, a refused connection, a 5xx) is reported (``"aws": false``,
``status: "degraded"``) but the instance stays ready: every instance shares AWS, so taking them
all out of service (and the Auto Scaling group replacing them on the ELB health check) would
turn a partial outage into a total one, while tracking writes are queued meanwhile
(``tracking.outbox``) and the rest of the API works.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError
from django.conf import settings
from django.db import connections
from django.http import JsonResponse

from phb.aws.clients import probe_client

logger = logging.getLogger("phb.health")

# AWS error codes that mean "these credentials are not good", not "AWS is unwell".
_CREDENTIAL_ERRORS = {
    "InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException",
    "SignatureDoesNotMatch", "AccessDenied", "AccessDeniedException", "InvalidAccessKeyId",
}


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    blocking: bool  # a failure that makes this instance unready
    reason: str = ""


def _check_database() -> CheckResult:
    conn = connections["default"]  # this pool thread's own connection
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            ok = cursor.fetchone() == (1,)
        return CheckResult(ok=ok, blocking=not ok, reason="" if ok else "unexpected answer")
    except Exception as exc:
        logger.warning("readiness: database unreachable", extra={"event": "readyz_db_down",
                                                                  "error_type": type(exc).__name__})
        return CheckResult(ok=False, blocking=True, reason="unreachable")
    finally:
        conn.close()


def _check_aws() -> CheckResult:
    try:
        probe_client("sts").get_caller_identity()
        return CheckResult(ok=True, blocking=False)
    except (NoCredentialsError, PartialCredentialsError):
        reason, blocking = "no credentials", True
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        blocking = code in _CREDENTIAL_ERRORS
        reason = "credentials refused" if blocking else "error"
    except Exception:
        reason, blocking = "unreachable", False
    logger.warning("readiness: AWS check failed", extra={"event": "readyz_aws_down", "reason": reason,
                                                          "blocking": blocking})
    return CheckResult(ok=False, blocking=blocking, reason=reason)


CHECKS = {"database": _check_database, "aws": _check_aws}


class _Probe:
    """One check's latest result, the time it finished, and its run in progress."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.result: CheckResult | None = None
        self.finished_at = 0.0
        self.running: Future | None = None


_lock = threading.RLock()  # a check that is already done runs its callback in the submitting thread
_state: dict[str, object] = {"pid": None, "pool": None, "probes": {}}


def _pool_and_probes() -> tuple[ThreadPoolExecutor, dict[str, _Probe]]:
    if _state["pid"] != os.getpid():  # after a fork: a fresh pool (threads do not cross a fork)
        _state.update(pid=os.getpid(), pool=ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz"),
                      probes={name: _Probe(name) for name in CHECKS})
    return _state["pool"], _state["probes"]  # type: ignore[return-value]


def _finish(probe: _Probe, future: Future) -> None:
    try:
        result = future.result()
    except Exception:
        result = CheckResult(ok=False, blocking=True, reason="check failed")
    with _lock:
        probe.result, probe.finished_at, probe.running = result, time.monotonic(), None


def clear_cache() -> None:
    with _lock:
        for probe in _pool_and_probes()[1].values():
            probe.result, probe.finished_at = None, 0.0


def run_checks() -> dict[str, CheckResult]:
    """Every check's result within the deadline (fresh, cached, or a timeout)."""
    deadline = time.monotonic() + settings.READYZ_DEADLINE_SECONDS
    waiting: dict[str, Future] = {}
    results: dict[str, CheckResult] = {}
    with _lock:
        pool, probes = _pool_and_probes()
        now = time.monotonic()
        for name, probe in probes.items():
            if probe.result is not None and now - probe.finished_at < settings.READYZ_CACHE_SECONDS:
                results[name] = probe.result
                continue
            future = probe.running
            if future is None:
                # a check that finishes at once runs _finish here and clears probe.running:
                # wait on the local future, never on the attribute
                future = probe.running = pool.submit(CHECKS[name])
                future.add_done_callback(lambda done, probe=probe: _finish(probe, done))
            waiting[name] = future
    if waiting:
        wait(list(waiting.values()), timeout=max(0.0, deadline - time.monotonic()))
    for name, future in waiting.items():
        if future.done():
            try:
                results[name] = future.result()
            except Exception:
                results[name] = CheckResult(ok=False, blocking=True, reason="check failed")
        else:  # still running: failed for this answer; a hang of AWS alone does not block
            results[name] = CheckResult(ok=False, blocking=name == "database", reason="timeout")
    return results


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    results = run_checks()
    checks = {name: result.ok for name, result in results.items()}
    blocking = [name for name, result in results.items() if not result.ok and result.blocking]
    failing = [name for name, result in results.items() if not result.ok]
    status = "unavailable" if blocking else "degraded" if failing else "ok"
    body: dict[str, object] = {"status": status, "checks": checks}
    if failing:
        body["reasons"] = {name: results[name].reason for name in failing}
    if blocking:
        body.update({"message": f"Not ready: {', '.join(blocking)} failing.", "code": "not_ready"})
    return JsonResponse(body, status=503 if blocking else 200)
