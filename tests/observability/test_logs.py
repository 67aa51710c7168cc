"""Log lines reach their area's log group with the request id of the request that wrote them."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from accounts.cookies import issue_tokens
from phb.aws.clients import aws_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

CARELESS = {
    "payments": ("payments", "paying for"),
    "appointments": ("appointments.careless", "headers"),
    "medical-records": ("records.careless", "cookie header was"),
    "tracking": ("tracking", "note for"),
}


def test_request_id_from_header_is_returned_and_on_every_line_in_every_area_group(cloudwatch, observability_urls,
                                                                                    http):
    user = UserFactory()
    http.cookies.set(settings.AUTH_COOKIE_ACCESS, str(issue_tokens(user=user).access_token))
    request_id = f"trace-{uuid.uuid4().hex}"
    response = http.post("/api/test-observability/careless/", json={"note": "hello"},
                         headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == request_id
    cloudwatch.flush()

    for group, (logger, message) in CARELESS.items():
        lines = [line for line in cloudwatch.lines(group) if line.get("request_id") == request_id]
        assert lines, f"nothing with the request id in /phb/{group}"
        assert {line["logger"] for line in lines} == {logger}
        assert any(line["message"].startswith(message) for line in lines)
    access = [line for line in cloudwatch.lines("app") if line.get("request_id") == request_id]
    assert [line["event"] for line in access] == ["http_request"]
    assert access[0]["route"] == "/api/test-observability/careless/" and access[0]["status"] == 200
    assert access[0]["user_ref"].startswith("u_") and str(user.pk) not in str(access[0])


def test_created_request_id_is_returned_and_found_in_the_logs(cloudwatch, http):
    user = UserFactory()
    refused = http.post("/api/login/", json={"email": user.email, "password": "not-the-password"})
    assert refused.status_code == 401
    request_id = refused.headers["X-Request-ID"]
    uuid.UUID(request_id)
    # An invalid incoming id is replaced, not trusted.
    replaced = http.get("/api/profile/", headers={"X-Request-ID": "bad id with spaces"})
    assert replaced.headers["X-Request-ID"] != "bad id with spaces"
    cloudwatch.flush()
    lines = [line for line in cloudwatch.lines("app") if line.get("request_id") == request_id]
    assert lines and lines[0]["route"] == "/api/login/" and lines[0]["status"] == 401
    assert any(line.get("request_id") == replaced.headers["X-Request-ID"] for line in cloudwatch.lines("app"))


def test_medical_record_access_is_audited_on_the_audit_group(cloudwatch, http):
    import re

    from django.core import mail

    user = UserFactory()
    http.cookies.set(settings.AUTH_COOKIE_ACCESS, str(issue_tokens(user=user).access_token))
    assert http.post("/api/patient/medical-record/request-otp/").status_code == 200
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    granted = http.post("/api/patient/medical-record/verify-otp/", json={"otp": code})
    assert granted.status_code == 200
    read = http.get("/api/patient/medical-record/", headers={"X-Med-Access-Token": granted.json()["med_access_token"]})
    assert read.status_code == 200
    cloudwatch.flush()
    audit = [line for line in cloudwatch.lines("audit") if line.get("request_id") == read.headers["X-Request-ID"]]
    assert audit and all(line["logger"] == "phb.audit" for line in audit)
    records = [line for line in cloudwatch.lines("medical-records")
               if line.get("request_id") == granted.headers["X-Request-ID"]]
    assert records, "the records area logs to /phb/medical-records"


def test_log_groups_have_their_retention():
    logs = aws_client("logs")
    found = {
        g["logGroupName"]: g.get("retentionInDays")
        for g in logs.describe_log_groups(logGroupNamePrefix=settings.CLOUDWATCH_LOG_GROUP_PREFIX + "/")["logGroups"]
    }
    prefix = settings.CLOUDWATCH_LOG_GROUP_PREFIX
    for group in ("app", "medical-records", "payments", "appointments", "tracking"):
        assert found[f"{prefix}/{group}"] == settings.CLOUDWATCH_LOG_RETENTION_DAYS == 90
    assert found[f"{prefix}/audit"] == settings.CLOUDWATCH_AUDIT_RETENTION_DAYS == 2557
