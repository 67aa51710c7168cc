"""S3 hanging: a file stored through django-storages (patient documents, guideline files,
prescription documents) fails within the AWS client timeouts of the settings, well inside
gunicorn's 30 s worker timeout, so the view answers its JSON error instead of the worker being
killed mid-request (the load balancer's 502)."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from tests.faults.conftest import hanging_endpoint

GUNICORN_TIMEOUT = 30

pytestmark = pytest.mark.faults


def test_a_hanging_s3_fails_a_stored_file_within_the_client_timeouts():
    config = settings.STORAGES["medical_records"]
    outcome: dict[str, object] = {}
    with hanging_endpoint() as url:
        storage = storages.create_storage({**config, "OPTIONS": {**config["OPTIONS"], "endpoint_url": url}})

        def store() -> None:
            started = time.monotonic()
            try:
                storage.save("probe/hanging.txt", ContentFile(b"x"))
            except Exception as exc:  # noqa: BLE001 - which error is not the point; when is
                outcome["error"] = exc
            outcome["seconds"] = time.monotonic() - started

        thread = threading.Thread(target=store, daemon=True)
        thread.start()
        thread.join(timeout=GUNICORN_TIMEOUT - 2)
        assert not thread.is_alive(), "storing a file still waits on S3 past the request's budget"
    # Each attempt waits AWS_READ_TIMEOUT (5 s) for an answer; standard retries back off between them.
    assert "error" in outcome and outcome["seconds"] < GUNICORN_TIMEOUT - 2, outcome
