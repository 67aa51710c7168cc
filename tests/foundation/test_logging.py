"""Structured logs: no PHI in any line, CloudWatch never blocks start-up, lines reach CloudWatch."""

from __future__ import annotations

import json
import logging
import logging.config
import random
import time
import uuid

import pytest
from django.conf import settings
from django.test import override_settings

from phb.aws.clients import aws_client, reset_clients
from phb.logs import EMAIL, JWT, build_logging, scrub_emails, scrub_jwts, scrub_text
from tests.factories import PASSWORD, UserFactory
from tests.helpers import client_for


@pytest.mark.django_db
def test_no_phi_in_log_lines_over_a_request_that_carries_phi(captured_lines, django_capture_on_commit_callbacks):
    user = UserFactory(email="amaka.obi@example.test", full_name="Amaka Obi", phone="+2348031234567")
    client = client_for(None)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/api/login/", {"email": user.email, "password": PASSWORD}, format="json")
    from django.core import mail

    code = mail.outbox[-1].body.split("code is ")[1][:6]
    bad = client.post("/api/verify-login-otp/", {"email": user.email, "otp": "000000" if code != "000000" else "111111"}, format="json")
    assert bad.status_code == 400
    ok = client.post("/api/verify-login-otp/", {"email": user.email, "otp": code}, format="json")
    assert ok.status_code == 200
    token = ok.cookies["access_token"].value
    client.patch("/api/profile/", {"phone": "+2348099999999", "city": "enugu"}, format="json",
                 HTTP_AUTHORIZATION=f"Bearer {token}")
    logging.getLogger("accounts").info("careless line %s %s %s", user.email, code, token, extra={"email": user.email})
    logging.getLogger("accounts").warning("Authorization: Bearer %s cookie access_token=%s", token, token)

    text = captured_lines.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(line.get("route") == "/api/verify-login-otp/" for line in lines)
    assert all("request_id" in line for line in lines if line.get("event") == "http_request")
    for secret in (user.email, "Amaka", "Obi", "+2348031234567", "2348099999999", code, token, token[:40]):
        assert secret not in text, f"PHI leaked into logs: {secret[:12]}..."


def test_scrub_text_examples():
    assert scrub_text("mail a.b+c@x.org now") == "mail [email] now"
    assert scrub_text("code 123456 ok") == "code [code] ok"
    assert scrub_text("call +234 803 123 4567") == "call [phone]"
    assert "eyJ" not in scrub_text("t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc")
    kept = "0f8c2b1e-1234-4a5b-8c9d-123456abcdef"
    assert scrub_text(f"id {kept}") == f"id {kept}"


@pytest.mark.parametrize(("scrub", "pattern", "replacement", "alphabet"), [
    (scrub_emails, EMAIL, "[email]", "ab1_.+-@ :é"),
    (scrub_jwts, JWT, "[token]", ["eyJ", "e", "y", "J", "a", "1", "_", "-", ".", " ", "@"]),
])
def test_emails_and_jwts_are_replaced_as_their_patterns_replace_them(scrub, pattern, replacement, alphabet):
    rng = random.Random(5)
    for _ in range(20000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 40)))
        assert scrub(text) == pattern.sub(replacement, text), text


def test_cloudwatch_handlers_never_block_or_fail_start_up():
    """CloudWatch unreachable: configuring logging neither raises nor waits on the network."""
    with override_settings(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_MAX_ATTEMPTS=1):
        reset_clients()
        started = time.monotonic()
        try:
            logging.config.dictConfig(build_logging(level="INFO", cloudwatch=True, log_group_prefix="/phb"))
            logging.getLogger("payments").info("line while CloudWatch is down", extra={"event": "probe"})
            assert time.monotonic() - started < 1.0
        finally:
            logging.config.dictConfig(settings.LOGGING)
            reset_clients()


@pytest.mark.django_db
def test_lines_reach_their_area_log_group_with_one_stream_per_process():
    reset_clients()
    logging.config.dictConfig(build_logging(level="INFO", cloudwatch=True, log_group_prefix="/phb"))
    marker = f"probe {uuid.uuid4()}"
    try:
        logging.getLogger("payments").info(marker, extra={"event": "probe"})
        logging.getLogger("hospitals").info(marker, extra={"event": "probe"})
        for handler in logging.getLogger("payments").handlers + logging.getLogger().handlers:
            handler.flush()
    finally:
        logging.config.dictConfig(settings.LOGGING)
    logs = aws_client("logs")

    def messages(group: str) -> list[dict]:
        events = logs.filter_log_events(logGroupName=group)["events"]
        return [json.loads(e["message"]) for e in events if marker in e["message"]]

    payments = messages("/phb/payments")
    assert payments and payments[0]["logger"] == "payments"
    assert messages("/phb/app")
    import os
    import platform

    streams = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/phb/payments")["logStreams"]]
    assert f"{platform.node()}-{os.getpid()}" in streams
