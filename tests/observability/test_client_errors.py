"""POST /api/client-errors/: the frontend's error-boundary reports into the /phb/frontend log
group: anonymous, rate-limited per IP, body capped, PHI scrubbed, never a 5xx."""

from __future__ import annotations

import json
import logging
import logging.config
import uuid

import pytest
from django.conf import settings

from phb.aws.clients import aws_client, reset_clients
from phb.logs import build_logging
from tests.factories import UserFactory
from tests.helpers import client_for

pytestmark = pytest.mark.django_db
URL = "/api/client-errors/"


@pytest.fixture
def lines(captured_lines):
    """Every formatted line the stdout handler writes, parsed."""
    return lambda: [json.loads(line) for line in captured_lines.getvalue().splitlines() if line.strip()]


def _report(**overrides) -> dict:
    return {"message": "Cannot read properties of undefined (reading 'confirmed')", "name": "TypeError",
            "stack": "TypeError: Cannot read properties\n    at ProfessionalDashboardPage (index.js:1:2)",
            "componentStack": "\n    at ProfessionalDashboardPage\n    at ErrorBoundary",
            "url": "http://localhost:5173/professional/dashboard", **overrides}


def test_an_anonymous_report_is_one_scrubbed_line_in_the_frontend_group(lines):
    response = client_for(None).post(URL, _report(
        message="Failed for ada.obi@example.test with code 482913 and +234 803 123 4567",
        url="http://localhost:5173/account/reset?token=abcdEFGH1234abcdEFGH1234&email=ada.obi@example.test#x",
        unexpected_field="ignored"), format="json")
    assert response.status_code == 202 and response.json()["status"] == "accepted"
    [line] = [entry for entry in lines() if entry.get("event") == "client_error"]
    assert line["logger"] == "phb.frontend" and line["level"] == "ERROR"
    assert line["error_name"] == "TypeError" and "ProfessionalDashboardPage" in line["component_stack"]
    assert line["page"] == "http://localhost:5173/account/reset"
    assert "unexpected_field" not in line
    text = json.dumps(line)
    for secret in ("ada.obi", "482913", "803 123 4567", "abcdEFGH1234"):
        assert secret not in text, secret


def test_the_reports_level_does_not_replace_the_lines(lines):
    """A reporter cannot file its line as INFO, out of sight of the alarms on ERROR lines."""
    assert client_for(None).post(URL, _report(level="INFO"), format="json").status_code == 202
    [line] = [entry for entry in lines() if entry.get("event") == "client_error"]
    assert line["level"] == "ERROR" and line["client_level"] == "INFO"


def test_a_signed_in_reporters_own_name_is_scrubbed_and_their_reference_kept(lines):
    user = UserFactory(full_name="Chiamaka Eze")
    response = client_for(user).post(URL, _report(message="Welcome back Chiamaka Eze: render failed"),
                                     format="json")
    assert response.status_code == 202
    [line] = [entry for entry in lines() if entry.get("event") == "client_error"]
    assert "Chiamaka" not in json.dumps(line) and line["user_ref"].startswith("u_")


def test_text_plain_beacons_are_read_too(lines):
    response = client_for(None).post(URL, json.dumps(_report()), content_type="text/plain")
    assert response.status_code == 202
    assert [e for e in lines() if e.get("event") == "client_error"]


def test_bad_reports_are_clear_4xx_json():
    client = client_for(None)
    big = client.post(URL, _report(stack="x" * (settings.CLIENT_ERRORS_MAX_BYTES + 10)), format="json")
    assert big.status_code == 413 and big.json()["code"] == "too_large"
    for body in ("not json", "[1, 2]", "{}", '{"componentStack": "only"}', '{"message": 0}',
                 '{"message": "boom", "stack": ["at A"]}', '{"name": "TypeError", "error": true}',
                 '{"message": null}'):
        response = client.post(URL, body, content_type="application/json")
        assert response.status_code == 400 and response.json()["message"], body
    assert client.post(URL, '{"stack": ["at A"], "name": "E"}', content_type="application/json").json()[
        "message"].startswith("stack: ")


def test_known_fields_are_text_or_null_and_long_text_is_cut(lines):
    client = client_for(None)
    response = client.post(URL, _report(stack=None, message="m" * 5000), format="json")
    assert response.status_code == 202
    line = [e for e in lines() if e.get("event") == "client_error"][-1]
    assert line["error_message"] == "m" * 1000 and "stack" not in line


def test_rate_limited_per_ip(settings):
    settings.CLIENT_ERRORS_RATE_PER_IP = "3/300"
    client = client_for(None)
    statuses = [client.post(URL, _report(), format="json", REMOTE_ADDR="203.0.113.7").status_code for _ in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    limited = client.post(URL, _report(), format="json", REMOTE_ADDR="203.0.113.7")
    assert limited.json()["message"] and limited.headers["Retry-After"]
    assert client.post(URL, _report(), format="json", REMOTE_ADDR="203.0.113.8").status_code == 202


def test_an_expired_session_cookie_does_not_refuse_the_report():
    client = client_for(None)
    client.cookies[settings.AUTH_COOKIE_ACCESS] = "expired.or.garbage"
    assert client.post(URL, _report(), format="json").status_code == 202


def test_never_a_5xx_when_recording_fails(monkeypatch):
    from phb.observability import client_errors

    def broken(*args, **kwargs):
        raise RuntimeError("cache down")

    monkeypatch.setattr("accounts.throttles.hit", broken)
    response = client_for(None).post(URL, _report(), format="json")
    assert response.status_code == 202
    monkeypatch.undo()
    monkeypatch.setattr(client_errors.logger, "error", broken)
    assert client_for(None).post(URL, _report(), format="json").status_code == 202


def test_reports_reach_the_frontend_log_group_in_cloudwatch():
    from phb.aws_resources import log_group_names

    assert "/phb/frontend" in log_group_names()
    reset_clients()
    logging.config.dictConfig(build_logging(level="INFO", cloudwatch=True, log_group_prefix="/phb"))
    marker = f"probe {uuid.uuid4()}"
    try:
        assert client_for(None).post(URL, _report(message=marker), format="json").status_code == 202
        for handler in logging.getLogger("phb.frontend").handlers:
            handler.flush()
    finally:
        logging.config.dictConfig(settings.LOGGING)
    events = aws_client("logs").filter_log_events(logGroupName="/phb/frontend")["events"]
    assert [json.loads(e["message"])["error_message"] for e in events if marker in e["message"]] == [marker]
