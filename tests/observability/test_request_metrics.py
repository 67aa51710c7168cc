"""Request metrics per route template, read back from the moto server with get_metric_statistics."""

from __future__ import annotations

import httpx
import pytest
from django.conf import settings

from accounts.cookies import issue_tokens
from tests.factories import PASSWORD, HospitalFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

DEPARTMENTS = "/api/departments/<dbint:hospital_id>/"


def _signed_in(http, user) -> None:
    http.cookies.set(settings.AUTH_COOKIE_ACCESS, str(issue_tokens(user=user).access_token))


def test_latency_count_and_errors_per_route_template_and_service(cloudwatch, observability_urls, http):
    first, second = HospitalFactory(), HospitalFactory()
    patient = UserFactory(otp_required_for_login=False)
    _signed_in(http, patient)
    assert http.get(f"/api/departments/{first.pk}/").status_code == 200
    assert http.get(f"/api/departments/{second.pk}/").status_code == 200
    anonymous = httpx.get(f"{str(http.base_url).rstrip('/')}/api/departments/{first.pk}/")
    assert anonymous.status_code == 401
    assert http.post("/api/login/", json={"email": patient.email, "password": "wrong-password"}).status_code == 401
    assert http.get("/api/test-observability/boom/").status_code == 500
    assert http.get("/api/no-such-endpoint/12345/").status_code == 404
    cloudwatch.flush()

    route = {"Route": DEPARTMENTS, "Method": "GET"}
    count = cloudwatch.stats("API", "RequestCount", route)
    assert count["Sum"] == 3
    latency = cloudwatch.stats("API", "Latency", route)
    assert latency["SampleCount"] == 3
    assert 0 < latency["Minimum"] <= latency["Maximum"] < 60_000
    errors_4xx = cloudwatch.stats("API", "4XXError", route)
    assert (errors_4xx["Sum"], errors_4xx["SampleCount"]) == (1, 3)  # Average = the 4xx rate
    assert cloudwatch.stats("API", "5XXError", route)["Sum"] == 0

    login = {"Route": "/api/login/", "Method": "POST"}
    assert cloudwatch.stats("API", "4XXError", login)["Sum"] == 1
    assert cloudwatch.stats("API", "RequestCount", {"Service": "hospitals"})["Sum"] == 3
    assert cloudwatch.stats("API", "RequestCount", {"Service": "accounts"})["Sum"] == 1
    boom = cloudwatch.stats("API", "5XXError", {"Route": "/api/test-observability/boom/", "Method": "GET"})
    assert boom["Sum"] == 1
    assert cloudwatch.stats("API", "5XXError", {"Service": "other"})["Sum"] == 1
    assert cloudwatch.stats("API", "4XXError", {"Route": "unmatched", "Method": "GET"})["Sum"] == 1

    # Raw paths never become dimension values; the whole-API series exists without dimensions.
    series = cloudwatch.series("API")
    routes = {d["Value"] for m in series for d in m["Dimensions"] if d["Name"] == "Route"}
    assert DEPARTMENTS in routes
    assert not [r for r in routes if any(ch.isdigit() for ch in r.replace("<dbint:hospital_id>", ""))]
    assert any(m["MetricName"] == "RequestCount" and not m["Dimensions"] for m in series)


def test_health_probes_are_not_counted(cloudwatch, http):
    for _ in range(3):
        assert http.get("/healthz").status_code == 200
    assert http.get("/api/no-such-endpoint/").status_code == 404
    cloudwatch.flush()
    routes = {d["Value"] for m in cloudwatch.series("API") for d in m["Dimensions"] if d["Name"] == "Route"}
    assert routes == {"unmatched"}


def test_code_failures_and_record_access_are_published_by_purpose(cloudwatch, http):
    """Business events driven over HTTP: wrong login codes, wrong medical-records code, record access."""
    user = UserFactory()
    assert http.post("/api/login/", json={"email": user.email, "password": PASSWORD}).status_code == 200
    for _ in range(2):
        refused = http.post("/api/verify-login-otp/", json={"email": user.email, "otp": "00000x"})
        assert refused.status_code == 400

    _signed_in(http, user)
    assert http.post("/api/patient/medical-record/request-otp/").status_code == 200
    assert http.post("/api/patient/medical-record/verify-otp/", json={"otp": "12345"}).status_code == 400
    no_token = http.get("/api/patient/medical-record/")
    assert no_token.status_code == 403
    cloudwatch.flush()

    assert cloudwatch.stats("Auth", "OTPVerificationFailure", {"Purpose": "login"})["Sum"] == 2
    assert cloudwatch.stats("MedicalRecords", "OTPVerificationFailure", {"Purpose": "medical_records"})["Sum"] == 1
    assert cloudwatch.rollup("MedicalRecords", "MedicalRecordAccessError") >= 1
    # The alarms watch the series without dimensions: it exists for every published metric.
    auth = cloudwatch.series("Auth")
    assert {(m["MetricName"], tuple(d["Name"] for d in m["Dimensions"])) for m in auth} == {
        ("OTPVerificationFailure", ("Purpose",)), ("OTPVerificationFailure", ()),
    }
