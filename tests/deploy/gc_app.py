"""A WSGI application that answers with its worker's garbage-collector state (test_worker_gc)."""

import gc
import json


def application(environ, start_response):
    body = json.dumps({
        "frozen": gc.get_freeze_count(),
        "threshold": gc.get_threshold(),
        "collections": [generation["collections"] for generation in gc.get_stats()],
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
