"""Email delivery (phb.notify): a mail server that never answers costs the request a bounded
wait, not the worker."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from phb.notify import send_email_after_commit
from tests.hanging import hanging_endpoint


@pytest.mark.django_db
def test_a_mail_server_that_never_answers_costs_a_bounded_wait(django_capture_on_commit_callbacks, caplog):
    with hanging_endpoint() as endpoint:
        done = threading.Event()

        def request() -> None:  # an email sent straight after commit (a code: never stored)
            with django_capture_on_commit_callbacks(execute=True):
                send_email_after_commit(to="someone@example.org", subject="s", body="b", kind="test",
                                        holds_secret=True)
            done.set()

        with pytest.MonkeyPatch.context() as patch:
            # The production backend with the default timeout, pointed at a server that never greets.
            patch.setattr(settings, "EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
            patch.setattr(settings, "EMAIL_HOST", "127.0.0.1")
            patch.setattr(settings, "EMAIL_PORT", urlsplit(endpoint.url).port)
            started = time.monotonic()
            threading.Thread(target=request, daemon=True).start()
            finished = done.wait(timeout=25)
            elapsed = time.monotonic() - started
        assert endpoint.accepted.is_set()
    # gunicorn ends a worker after 30 s (deploy/gunicorn.conf.py): the request must answer before.
    assert finished, "the request was still waiting on the mail server after 25 s"
    assert elapsed < 15
    assert any(getattr(r, "event", None) == "email_failed" for r in caplog.records)


@pytest.mark.django_db
def test_a_failed_email_is_counted_for_the_email_alarm(django_capture_on_commit_callbacks, caplog):
    """A mail server that refuses every connection stops every emailed sign-in code: each failure
    is a metric the EmailDeliveryFailures alarm watches, not only a log line."""
    from phb import metrics

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.MonkeyPatch.context() as patch, metrics.capture() as seen:
        patch.setattr(settings, "EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
        patch.setattr(settings, "EMAIL_HOST", "127.0.0.1")
        patch.setattr(settings, "EMAIL_PORT", port)
        with django_capture_on_commit_callbacks(execute=True):
            send_email_after_commit(to="someone@example.org", subject="s", body="b", kind="code_login",
                                    holds_secret=True)
    failures = [(d.namespace, d.dimensions) for d in seen if d.name == "EmailDeliveryFailure"]
    assert failures == [("PHB/Notifications", {"Kind": "code_login"})]
    line = next(r for r in caplog.records if getattr(r, "event", None) == "email_failed")
    assert line.error == "ConnectionRefusedError" and line.kind == "code_login"


@pytest.mark.django_db
def test_a_sent_email_is_not_counted_as_a_failure(django_capture_on_commit_callbacks):
    from phb import metrics

    with metrics.capture() as seen, django_capture_on_commit_callbacks(execute=True):
        send_email_after_commit(to="someone@example.org", subject="s", body="b", kind="code_login", holds_secret=True)
    assert not [d for d in seen if d.name == "EmailDeliveryFailure"]
