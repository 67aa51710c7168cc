"""W1–W3 over HTTP: the area's own one-time code, purpose-bound, and the gate on its data."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.codes import code_issue
from accounts.models import CodePurpose
from tests.helpers import client_for
from tests.tracking.conftest import WH


def _code() -> str:
    match = re.search(r"\b(\d{6})\b", mail.outbox[-1].body)
    assert match
    return match.group(1)


def test_verification_flow_opens_the_area(patient, django_capture_on_commit_callbacks):
    api = client_for(patient)
    status = api.get(f"{WH}/verification/")
    assert status.status_code == 200
    body = status.json()
    assert body["success"] is True
    assert body["status"] == {"verified": False, "verification_date": None, "expires_at": None,
                              "has_pending_otp": False, "otp_expires_at": None}

    # the data is closed until verified
    closed = api.get(f"{WH}/profile/")
    assert closed.status_code == 403
    assert closed.json()["code"] == "womens_health_verification_required"
    assert closed.json()["message"]

    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"{WH}/verification/")
    assert sent.status_code == 200 and sent.json()["success"] is True
    assert "otp" not in sent.json(), "the code only travels by email"
    assert "women's health" in mail.outbox[-1].subject
    pending = api.get(f"{WH}/verification/").json()["status"]
    assert pending["has_pending_otp"] is True and pending["otp_expires_at"]

    wrong = api.post(f"{WH}/verification/verify/", {"otp": "000000" if _code() != "000000" else "111111"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["success"] is False and wrong.json()["verified"] is False
    assert "attempt" in wrong.json()["message"]

    good = api.post(f"{WH}/verification/verify/", {"otp": _code()}, format="json")
    assert good.status_code == 200, good.json()
    assert good.json()["success"] is True and good.json()["verified"] is True

    again = api.post(f"{WH}/verification/verify/", {"otp": _code()}, format="json")
    assert again.status_code == 400, "single use"

    status = api.get(f"{WH}/verification/").json()["status"]
    assert status["verified"] is True and status["verification_date"]
    assert api.get(f"{WH}/profile/").status_code == 200


def test_a_login_code_cannot_verify_womens_health(patient):
    code = code_issue(user=patient, purpose=CodePurpose.LOGIN)
    response = client_for(patient).post(f"{WH}/verification/verify/", {"otp": code}, format="json")
    assert response.status_code == 400
    assert response.json()["verified"] is False


def test_full_width_digits_are_refused(patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(patient).post(f"{WH}/verification/")
    code = _code()
    wide = "".join(chr(ord(c) + 0xFEE0) for c in code)
    response = client_for(patient).post(f"{WH}/verification/verify/", {"otp": wide}, format="json")
    assert response.status_code == 400


def test_verification_expires(patient, settings):
    from datetime import timedelta

    from django.utils import timezone

    from tracking.models import WomensHealthProfile

    WomensHealthProfile.objects.create(user=patient, verified_at=timezone.now() - timedelta(days=31))
    settings.WOMENS_HEALTH_VERIFICATION_DAYS = 30
    api = client_for(patient)
    assert api.get(f"{WH}/verification/").json()["status"]["verified"] is False
    assert api.get(f"{WH}/dashboard/").status_code == 403


@pytest.mark.parametrize("method,path", [("get", "/verification/"), ("post", "/verification/"),
                                         ("post", "/verification/verify/")])
def test_anonymous_callers_get_401(db, method, path):
    response = getattr(client_for(None), method)(f"{WH}{path}")
    assert response.status_code == 401
    assert "message" in response.json()
