"""Notification emails survive a mail outage (phb.email_outbox): written with the change they
report, sent after commit, retried with growing waits, sent once even by two senders at once,
and never stored when they carry a code or a reset link."""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts.password_resets import password_reset_request
from phb import email_outbox, metrics
from phb.email_outbox import RETRY_WAITS, deliver_due
from phb.models import EmailStatus, OutgoingEmail
from phb.notify import send_email_after_commit
from tests.concurrency import race

pytestmark = pytest.mark.django_db

TO = "ngozi.okafor@example.org"
BODY = "Dear Ngozi Okafor,\n\nYour prescription is ready."


class SlowLocmemBackend(LocmemBackend):
    """An in-memory mail server that takes its time over each message (senders overlap)."""

    def send_messages(self, messages):
        time.sleep(0.02)
        return super().send_messages(messages)


@pytest.fixture
def mail_server_down(settings):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    return settings


def _notify(kind: str = "prescription_ready") -> None:
    send_email_after_commit(to=TO, subject="Your prescription is ready", body=BODY, kind=kind)


def _wait_passed() -> None:
    OutgoingEmail.objects.filter(status=EmailStatus.PENDING).update(next_attempt_at=timezone.now())


def test_sent_after_commit_and_its_body_erased(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            _notify()
            assert mail.outbox == []  # not before the change commits
    assert [(m.to, m.body) for m in mail.outbox] == [([TO], BODY)]
    row = OutgoingEmail.objects.get()
    assert (row.status, row.attempts, row.body, row.settled_at is not None) == (EmailStatus.SENT, 1, "", True)


def test_a_rolled_back_change_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            _notify()
            raise RuntimeError("the change failed")
    assert mail.outbox == [] and not OutgoingEmail.objects.exists()


def test_an_email_the_server_refused_is_sent_once_it_is_back(django_capture_on_commit_callbacks, mail_server_down,
                                                             caplog):
    with metrics.capture() as seen, django_capture_on_commit_callbacks(execute=True):
        _notify()
    row = OutgoingEmail.objects.get()
    assert (row.status, row.attempts, row.body, row.last_error) == (EmailStatus.PENDING, 1, BODY,
                                                                     "ConnectionRefusedError")
    assert timedelta(seconds=50) < row.next_attempt_at - timezone.now() <= RETRY_WAITS[0]
    assert [(d.namespace, d.dimensions) for d in seen if d.name == "EmailDeliveryFailure"] == [
        ("PHB/Notifications", {"Kind": "prescription_ready"})]

    assert deliver_due().sent == 0, "not before its wait has passed"
    mail_server_down.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the server is back
    _wait_passed()
    report = deliver_due()
    assert (report.sent, report.retrying) == (1, 0)
    assert [(m.to, m.body) for m in mail.outbox] == [([TO], BODY)]
    row.refresh_from_db()
    assert (row.status, row.attempts, row.body) == (EmailStatus.SENT, 2, "")
    for record in caplog.records:  # the row and its kind, never the address, subject or body
        line = record.getMessage() + json.dumps({k: str(v) for k, v in vars(record).items()})
        assert "ngozi" not in line.lower() and "prescription is ready" not in line


def test_given_up_after_the_last_wait(mail_server_down, caplog):
    OutgoingEmail.objects.create(to=TO, subject="s", body=BODY, kind="appointment_booked")
    waits = []
    for _ in RETRY_WAITS:
        assert deliver_due().retrying == 1
        row = OutgoingEmail.objects.get()
        waits.append(row.next_attempt_at - timezone.now())
        _wait_passed()
    assert all(a < b for a, b in zip(waits, waits[1:], strict=False)), "each wait is longer"
    assert deliver_due().given_up == 1
    row = OutgoingEmail.objects.get()
    assert (row.status, row.attempts, row.body) == (EmailStatus.FAILED, len(RETRY_WAITS) + 1, "")
    assert any(getattr(r, "event", None) == "email_abandoned" for r in caplog.records)
    assert deliver_due().given_up == 0, "a given-up email is not tried again"


def test_a_claimed_email_waits_for_its_claim_to_lapse():
    row = OutgoingEmail.objects.create(to=TO, subject="s", body=BODY, kind="appointment_booked",
                                       claimed_until=timezone.now() + timedelta(minutes=4))
    assert deliver_due().sent == 0 and mail.outbox == []  # another sender has it
    OutgoingEmail.objects.filter(pk=row.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert deliver_due().sent == 1 and len(mail.outbox) == 1  # that sender died: sent again


def test_codes_and_reset_links_are_never_stored(django_capture_on_commit_callbacks, patient):
    with django_capture_on_commit_callbacks(execute=True):
        password_reset_request(email=patient.email)
        send_email_after_commit(to=TO, subject="Your PHB code", body="Your PHB code is 123456.", kind="code_login",
                                holds_secret=True)
    assert len(mail.outbox) == 2
    assert not OutgoingEmail.objects.exists()


def test_settled_rows_are_deleted_after_their_keep():
    now = timezone.now()
    old = OutgoingEmail.objects.create(to=TO, subject="s", kind="k", status=EmailStatus.SENT,
                                       settled_at=now - timedelta(days=settings.EMAIL_OUTBOX_KEEP_DAYS + 1))
    recent = OutgoingEmail.objects.create(to=TO, subject="s", kind="k", status=EmailStatus.FAILED,
                                          settled_at=now - timedelta(days=1))
    waiting = OutgoingEmail.objects.create(to=TO, subject="s", body=BODY, kind="k",
                                           next_attempt_at=now + timedelta(hours=1))
    assert deliver_due().purged == 1
    assert set(OutgoingEmail.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}, old.pk


def test_the_command_sends_and_reports():
    OutgoingEmail.objects.create(to=TO, subject="s", body=BODY, kind="appointment_booked")
    out = StringIO()
    call_command("send_queued_emails", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"sent": 1, "retrying": 0, "given_up": 0, "purged": 0}
    assert len(mail.outbox) == 1


def test_the_admin_lists_the_outbox_without_bodies(staff_client):
    row = OutgoingEmail.objects.create(to=TO, subject="Your appointment", body=BODY, kind="appointment_booked")
    listing = staff_client.get("/admin/phb/outgoingemail/")
    assert listing.status_code == 200 and b"appointment_booked" in listing.content
    page = staff_client.get(f"/admin/phb/outgoingemail/{row.pk}/change/")
    assert page.status_code == 200 and b"Your prescription is ready" not in page.content
    OutgoingEmail.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() + timedelta(hours=3))
    staff_client.post("/admin/phb/outgoingemail/", {"action": "send_now", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.next_attempt_at <= timezone.now()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_senders_at_once_send_each_email_exactly_once(settings):
    settings.EMAIL_BACKEND = "tests.foundation.test_email_outbox.SlowLocmemBackend"
    OutgoingEmail.objects.bulk_create(
        [OutgoingEmail(to=f"patient{i}@example.org", subject="s", body=f"email {i}", kind="appointment_booked")
         for i in range(30)])
    outcomes = race(lambda _: email_outbox.deliver_due().sent, range(4))
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert sum(outcomes) == 30, outcomes
    assert sorted(m.body for m in mail.outbox) == sorted(f"email {i}" for i in range(30))
    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {EmailStatus.SENT}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite has no concurrent writers")
def test_the_commit_and_the_timer_send_a_new_email_once(settings):
    """The request's own attempt after commit and the timer's round meet on one row."""
    settings.EMAIL_BACKEND = "tests.foundation.test_email_outbox.SlowLocmemBackend"
    row = OutgoingEmail.objects.create(to=TO, subject="s", body=BODY, kind="appointment_booked")
    outcomes = race(lambda who: (email_outbox.deliver(email_id=row.pk).sent if who == "commit"
                                 else email_outbox.deliver_due().sent), ["commit", "timer", "timer"])
    assert sorted(outcomes) == [0, 0, 1], outcomes
    assert len(mail.outbox) == 1


def test_an_operator_who_may_only_view_the_outbox_cannot_move_a_retry_forward(client):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_outgoingemail"))
    client.force_login(viewer)
    row = OutgoingEmail.objects.create(to=TO, subject="Your appointment", body=BODY, kind="appointment_booked",
                                       next_attempt_at=timezone.now() + timedelta(hours=3))
    listing = client.get("/admin/phb/outgoingemail/")
    assert listing.status_code == 200 and b"send_now" not in listing.content
    client.post("/admin/phb/outgoingemail/", {"action": "send_now", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.next_attempt_at > timezone.now() + timedelta(hours=2)
