"""Digits outside ASCII are text, never numbers.

``str.isdigit()`` is true for "³" (which ``int()`` refuses: a 500 where it was trusted) and for
"١٢" (which ``int()`` reads as 12: another object than the one named). Every place that turns
caller or gateway text into a number takes ASCII digits only.
"""

from __future__ import annotations

import time

import pytest
from rest_framework import serializers

from payments.paystack import PaystackGateway
from phb.numbers import whole_number
from tests.factories import make_doctor
from tests.helpers import client_for
from tracking.fields import ChoiceOrScaleField
from tracking.kinds import MOODS

NON_ASCII_DIGITS = ["³", "١٢", "１"]


@pytest.mark.django_db
@pytest.mark.parametrize("ref", NON_ASCII_DIGITS)
def test_an_admission_named_with_non_ascii_digits_is_not_found(hospital_admin, patient, ref):
    for caller in (hospital_admin, patient):
        client = client_for(caller)
        for method, path in (("post", f"/api/admissions/{ref}/admit/"), ("get", f"/api/admissions/{ref}/")):
            answer = getattr(client, method)(path, {}, format="json") if method == "post" else client.get(path)
            assert answer.status_code == 404, (caller.role, path, answer.status_code)
            assert answer.json()["message"]


@pytest.mark.django_db
@pytest.mark.parametrize("doctor_id", NON_ASCII_DIGITS)
def test_a_roster_session_for_a_doctor_named_with_non_ascii_digits_is_refused(department, hospital_admin,
                                                                               doctor_id):
    make_doctor(department=department)
    answer = client_for(hospital_admin).post("/api/staff/roster/sessions/", {
        "doctor_id": doctor_id, "department_id": department.pk, "weekday": 0, "start_time": "09:00",
        "end_time": "12:00"}, format="json")
    assert answer.status_code == 404 and answer.json()["message"] == "Doctor not found in your hospital."


@pytest.mark.parametrize("value", NON_ASCII_DIGITS)
def test_a_scale_value_in_non_ascii_digits_is_refused(value):
    field = ChoiceOrScaleField(choices=MOODS, scale=(1, 10))
    assert field.run_validation("7") == 7
    with pytest.raises(serializers.ValidationError):
        field.run_validation(value)


def test_a_gateway_retry_after_in_non_ascii_digits_is_ignored():
    gateway = PaystackGateway(base_url="http://127.0.0.1:9", secret_key="sk_test_x", backoff=0.001)
    started = time.monotonic()
    gateway._sleep(1, "³")
    gateway._sleep(1, "١")
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(("text", "number"), [
    ("12", 12), ("0", 0), ("9" * 18, int("9" * 18)),
    ("9" * 19, None), ("5" * 5000, None),  # int() itself refuses more than 4,300 digits
    ("", None), (" 12", None), ("12 ", None), ("-1", None), ("+1", None), ("1_000", None), ("1.0", None),
    ("³", None), ("١٢", None), ("１", None), (None, None), (12, None),
])
def test_whole_number_takes_ascii_digits_only(text, number):
    assert whole_number(text) == number


@pytest.mark.django_db
def test_an_admission_ref_longer_than_int_reads_is_not_found(hospital_admin):
    answer = client_for(hospital_admin).post(f"/api/admissions/{'7' * 4000}/admit/", {}, format="json")
    assert answer.status_code in (404, 414) and answer.json()["message"]
