"""Hostile bodies and out-of-range values get a 4xx JSON envelope naming the problem, never a 500."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client, override_settings

from tests.helpers import client_for
from tests.tracking.conftest import WH, mark_verified

BIG = 2_700_000  # over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)


def _envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["message"]
    if code:
        assert body["code"] == code, body
    return body


@pytest.mark.parametrize("url", ["/api/login/", "/api/registration/", "/api/password/reset/",
                                 "/api/payments/webhook/", "/api/profile/", "/api/no-such-endpoint/"])
def test_a_body_over_the_limit_is_413_before_any_view_runs(db, url):
    body = json.dumps({"email": "someone@example.com", "password": "x" * BIG})
    response = Client().post(url, body, content_type="application/json")
    _envelope(response, 413, "request_too_large")
    assert mail.outbox == []


def test_a_multipart_body_over_the_upload_ceiling_is_413(patient):
    client = client_for(patient)
    with override_settings(MULTIPART_BODY_MAX_BYTES=4096):
        response = client.post("/api/secure/upload/", {"note": "a" * 8192}, format="multipart")
    _envelope(response, 413, "request_too_large")


def test_a_multipart_body_with_too_many_fields_is_400(doctor):
    fields = {f"f{i}": "x" for i in range(1001)}
    response = client_for(doctor).post("/api/clinical-guidelines/upload/", fields, format="multipart")
    _envelope(response, 400, "too_many_fields")


@pytest.mark.parametrize("depth", [100_000, 1_000, 33])
def test_json_nested_too_deeply_is_400(db, depth):
    body = "[" * depth + "]" * depth
    response = Client().post("/api/login/", body, content_type="application/json")
    _envelope(response, 400, "json_too_deep")


def test_json_within_the_depth_limit_is_parsed(db):
    nested: object = "a"
    for _ in range(31):
        nested = {"k": nested}
    response = Client().post("/api/login/", json.dumps({"email": nested, "password": "x"}),
                             content_type="application/json")
    body = _envelope(response, 400)
    assert body["code"] != "json_too_deep" and "email" in body["errors"]


def test_a_profile_patch_with_a_list_body_is_400(patient):
    response = client_for(patient).patch("/api/profile/", [None, None], format="json")
    _envelope(response, 400)


def test_a_guideline_from_a_list_body_is_400(doctor):
    response = client_for(doctor).post("/api/clinical-guidelines/", [None, None], format="json")
    _envelope(response, 400)


def test_a_department_id_beyond_bigint_is_404(patient):
    response = client_for(patient).get("/api/departments/9223372036854775808/")
    _envelope(response, 404)
    # the largest bigint still reaches the view (and finds nothing)
    assert client_for(patient).get("/api/departments/9223372036854775807/").status_code != 500


def test_check_conflict_at_the_end_of_time_names_the_date(patient):
    response = client_for(patient).get("/api/appointments/check-conflict/", {"date": "9999-12-31", "time": "23:59"})
    body = _envelope(response, 400)
    assert "date" in body["errors"]


def test_payment_initialize_at_the_end_of_time_names_the_date(patient, department):
    response = client_for(patient).post("/api/payments/initialize/", {
        "hospital_id": department.hospital_id, "department_id": department.pk,
        "appointment_date": "9999-12-31T23:30:00Z", "chief_complaint": "Headache",
    }, format="json")
    body = _envelope(response, 400)
    assert "appointment_date" in body["errors"]


@pytest.mark.parametrize(("path", "method", "body", "field"), [
    ("profile/", "put", {"height_cm": 1e30}, "height_cm"),
    ("cycle-days/", "post", {"date": "2025-01-02", "temperature": 1e30}, "temperature"),
    ("kick-sessions/", "post", {"date": "2025-05-01T08:00:00Z", "kicks": 1e308, "duration": 300}, "kicks"),
])
def test_huge_womens_health_numbers_name_the_field(patient, path, method, body, field):
    api = client_for(mark_verified(patient))
    response = getattr(api, method)(f"{WH}/{path}", body, format="json")
    payload = _envelope(response, 400)
    assert field in json.dumps(payload.get("errors", payload))
