"""gunicorn settings for every environment (local `make run`, benchmarks and EC2 behind the ALB).

Everything can be overridden from the environment (the systemd unit sets the EC2 values):

- ``GUNICORN_BIND`` (127.0.0.1:8000; 0.0.0.0:8000 on EC2, the ALB target port)
- ``WEB_CONCURRENCY`` workers (default 2 x CPUs + 1, at least 2)
- ``GUNICORN_THREADS`` threads per worker (1 = sync workers, the default, chosen by measurement:
  see deploy/README.md; more = gthread, which also keeps connections alive: set
  ``GUNICORN_KEEPALIVE`` above the ALB idle timeout of 60 s)
- ``GUNICORN_MAX_REQUESTS`` (100,000) and ``GUNICORN_MAX_REQUESTS_JITTER`` (10,000): worker recycling
- ``GUNICORN_TIMEOUT`` (30 s), ``GUNICORN_GRACEFUL_TIMEOUT`` (30 s; keep it below systemd's
  TimeoutStopSec and at or below the target group's deregistration delay)
- ``GUNICORN_ACCESS_LOG`` ("-" writes one JSON line per request to stdout, or a file path; unset: off, the
  application already logs one structured line per request); ``GUNICORN_ERROR_LOG`` ("-" = stderr)
- ``GUNICORN_GC_BETWEEN_REQUESTS`` (1): the garbage collector runs after each request, not inside it
  (``phb.collector``); 0 keeps Python's own schedule
- ``FORWARDED_ALLOW_IPS`` addresses or networks whose X-Forwarded-* headers are trusted: the VPC
  CIDR on EC2, since ALB nodes take addresses from the subnets.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
import time

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count() * 2 + 1))
threads = _int("GUNICORN_THREADS", 1)
# gunicorn's sync and gthread workers, answering the requests gunicorn itself refuses (a request
# line over limit_request_line, headers over their limits, bytes that are not HTTP) in the API's
# JSON error envelope, and logging no request line (phb/workers.py).
worker_class = "phb.workers.ThreadWorker" if threads > 1 else "phb.workers.SyncWorker"
# gunicorn's defaults, stated: a longer request line is a 414, a longer header line or more
# headers a 431 (both documented on every operation of the API description).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycling is a safety net against a slow leak, not a routine: each recycle loads Django afresh
# in the new worker (about a second of CPU), so at 2,000 requests the workers of a busy instance
# restarted every few seconds and halved throughput. Measured worker RSS settles after warm-up
# (bench/bench_load.py, bench/bench_soak.py), so a worker lives for about 100,000 requests; the
# jitter keeps the workers from restarting together. 0 turns recycling off. See deploy/README.md.
max_requests = _int("GUNICORN_MAX_REQUESTS", 100_000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 10_000)
# Django (and its boto3 clients and watchtower handlers, whose sender threads must not cross a
# fork) loads in each worker after fork; with recycling rare, preloading would save little.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proxy_allow_ips = forwarded_allow_ips
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or None  # /dev/shm on EC2


class JsonAccessLogger(Logger):
    """One JSON object per request. No query string, no client address, no headers: those can
    carry personal data; the request id joins the line to the application's own log line.
    gunicorn's own error log (worker tracebacks included) goes through the application's scrubbing
    filter: gunicorn does not propagate it to the loggers that Django configures."""

    def setup(self, cfg):
        super().setup(cfg)
        from phb.logs import ScrubFilter

        if not any(isinstance(f, ScrubFilter) for f in self.error_log.filters):
            self.error_log.addFilter(ScrubFilter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        request_id = ""
        for name, value in getattr(resp, "headers", []):
            if name.lower() == "x-request-id":
                request_id = value
        try:
            from phb.logs import scrub_text

            path = scrub_text(environ.get("PATH_INFO", ""))
        except Exception:
            path = "[unavailable]"
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "level": "INFO",
            "logger": "gunicorn.access",
            "method": environ.get("REQUEST_METHOD"),
            "path": path,
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "request_id": request_id or None,
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(line))
        except Exception:
            self.exception("access log line failed")


logger_class = JsonAccessLogger


def post_fork(server, worker):
    """A boto3 client must not cross a fork: drop any the master built (only with preload)."""
    clients = sys.modules.get("phb.aws.clients")
    if clients is not None:
        clients.reset_clients()


def post_worker_init(worker):
    """The application is loaded (and, for Django, its URLs with every view module): move all that
    startup built into the permanent generation. Full garbage collections then walk only what
    requests create, not the ~220,000 objects of the loaded service (in process, a full collection
    went from about 150 ms to about 12 ms, and the collector's total time fell by a quarter).
    Then, unless ``GUNICORN_GC_BETWEEN_REQUESTS`` is 0, the worker collects between requests rather
    than inside them (``phb.collector``; measured in deploy/README.md)."""
    urls = sys.modules.get("django.urls")
    if urls is not None:
        from django.conf import settings

        if settings.configured:
            worker.log.info("URL configuration loaded (%d top-level patterns)", len(urls.get_resolver().url_patterns))
    from phb.collector import Schedule, freeze_startup

    if _int("GUNICORN_GC_BETWEEN_REQUESTS", 1):
        worker.collector = Schedule()
        worker.collector.start()
    else:
        freeze_startup()


def _flush_telemetry() -> None:
    """Send buffered CloudWatch metrics and log lines (watchtower queues) before the worker goes."""
    metrics = sys.modules.get("phb.metrics")
    if metrics is not None and hasattr(metrics, "shutdown"):
        try:
            metrics.shutdown()
        except Exception:  # exiting: never raise from a hook
            logging.getLogger("gunicorn.error").warning("metrics flush failed at worker exit", exc_info=True)
    logging.shutdown()  # flushes and closes every handler, watchtower's included


def worker_abort(worker):
    """A worker past ``timeout`` (the master's SIGABRT): log where each of its threads was, so the
    request that hung names its cause (code locations only: no values, no request data)."""
    import threading
    import traceback

    names = {thread.ident: thread.name for thread in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        stack = "".join(traceback.format_stack(frame)[-12:])
        worker.log.error("worker timeout: thread %s was at\n%s", names.get(ident, ident), stack)


def worker_exit(server, worker):
    """Runs in the worker on every exit (max_requests recycle, SIGTERM, timeout abort). The master
    also calls it for a worker that already vanished: nothing of the worker's is left to send then."""
    if worker.pid == os.getpid():
        _flush_telemetry()
