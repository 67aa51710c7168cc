"""PHI never reaches CloudWatch: representative flows over HTTP with log shipping and metrics on,
then every event of every log group and every metric dimension is read back from the moto server
and searched for the test users' emails, names, phones, codes, tokens and passwords.

The flows include a view that logs PHI by mistake (names, contacts, the request body, headers
with cookies) and a view that fails with an email in its exception, so the scrubbing layer is
what keeps the data out, not the good manners of the code under test.
"""

from __future__ import annotations

import re

import httpx
import pytest
from django.conf import settings
from django.core import mail

from payments.standin import start_standin_process
from phb.localaws import free_port
from tests.factories import DepartmentFactory, HospitalFactory

pytestmark = pytest.mark.django_db(transaction=True)

FULL_NAME = "Chidinma Ezeanyika"
EMAIL = "chidinma.ezeanyika@example.test"
PHONE = "+2348031234567"
NEW_PHONE = "08129876543"
PASSWORD = "Kola-nut-Passw0rd!"
NIN = "74839201563"
SEARCH_TERM = "ectopic pregnancy warning signs"


def _code(outbox_index: int = -1) -> str:
    match = re.search(r"\b(\d{6})\b", mail.outbox[outbox_index].body)
    assert match, "no code in the email"
    return match.group(1)


def _other_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


@pytest.fixture(scope="module")
def paystack_standin():
    process, url = start_standin_process(port=free_port(), secret_key=settings.PAYSTACK_SECRET_KEY, webhook_url="")
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_nothing_shipped_to_cloudwatch_contains_phi(cloudwatch, observability_urls, live_server, settings,
                                                     paystack_standin):
    settings.PAYSTACK_BASE_URL = paystack_standin
    settings.PAYMENTS_ENABLED = True
    hospital = HospitalFactory(auto_approve_registrations=True)
    department = DepartmentFactory(hospital=hospital, name="General Medicine")
    secrets: list[str] = [FULL_NAME, *FULL_NAME.split(), EMAIL, PHONE, PHONE.lstrip("+"), NEW_PHONE,
                          NEW_PHONE[1:], PASSWORD, NIN, SEARCH_TERM]
    codes: list[str] = []
    routes_seen: set[str] = set()

    http = httpx.Client(base_url=live_server.url, headers={"Accept": "application/json"}, timeout=60)
    with http:
        def call(method: str, url: str, expected: int | tuple[int, ...], **kwargs) -> httpx.Response:
            response = http.request(method, url, **kwargs)
            allowed = expected if isinstance(expected, tuple) else (expected,)
            assert response.status_code in allowed, (url, response.status_code, response.text[:300])
            routes_seen.add(response.headers["X-Request-ID"])
            return response

        # Registration with every personal field the form sends.
        call("POST", "/api/registration/", 201, json={
            "full_name": FULL_NAME, "email": EMAIL, "password": PASSWORD, "gender": "female",
            "date_of_birth": "1990-04-12", "phone": PHONE, "country": "nigeria", "state": "lagos",
            "city": "Ikeja", "preferred_language": "english", "secondary_languages": ["igbo"], "nin": NIN,
            "consent_terms": True, "consent_hipaa": True, "consent_data_processing": True,
        })
        # Login with a code: one wrong code, then the right one.
        call("POST", "/api/login/", 200, json={"email": EMAIL, "password": PASSWORD})
        login_code = _code()
        codes.append(login_code)
        call("POST", "/api/verify-login-otp/", 400, json={"email": EMAIL, "otp": _other_code(login_code)})
        call("POST", "/api/verify-login-otp/", 200, json={"email": EMAIL, "otp": login_code})
        access, refresh = http.cookies.get("access_token"), http.cookies.get("refresh_token")
        assert access and refresh
        secrets += [access, access.rsplit(".", 1)[-1], refresh, refresh.rsplit(".", 1)[-1]]
        # Profile read and update, a bearer header too.
        call("GET", "/api/profile/", 200, headers={"Authorization": f"Bearer {access}"})
        call("PATCH", "/api/profile/", 200, json={"phone": NEW_PHONE, "city": "Enugu"})
        call("POST", "/api/token/refresh/", 200)
        secrets += [http.cookies.get("access_token"), http.cookies.get("refresh_token")]
        # Hospital registration.
        call("POST", "/api/hospitals/register/", 201, json={"hospital": hospital.pk, "is_primary": True})
        # Medical records: code by email, a wrong code, the right one, the record with the token.
        call("POST", "/api/patient/medical-record/request-otp/", 200)
        records_code = _code()
        codes.append(records_code)
        call("POST", "/api/patient/medical-record/verify-otp/", 400, json={"otp": _other_code(records_code)})
        granted = call("POST", "/api/patient/medical-record/verify-otp/", 200, json={"otp": records_code}).json()
        med_token = granted["med_access_token"]
        secrets.append(med_token)
        call("GET", "/api/patient/medical-record/", 200, headers={"X-Med-Access-Token": med_token})
        call("GET", "/api/patient/medical-record/", 403, headers={"X-Med-Access-Token": med_token[:-4] + "abcd"})
        call("GET", "/api/secure/files/", 200)
        # Booking, paid through the Paystack stand-in.
        started = call("POST", "/api/payments/initialize/", (200, 201), json={
            "amount": 2000, "payment_method": "card", "payment_provider": "paystack",
            "department_id": department.pk, "hospital_id": hospital.pk,
            "appointment_date": _slot(), "appointment_type": "consultation", "priority": "normal",
            "chief_complaint": f"Headache, call {PHONE}", "symptoms_data": [], "duration": 30,
            "is_insurance_based": False, "insurance_details": {},
        }).json()
        paid = httpx.post(started["payment_url"], data={"outcome": "success", "webhook": "none"},
                          headers={"Accept": "application/json"}, timeout=30)
        assert paid.status_code == 200, paid.text
        call("GET", f"/api/payments/verify/{started['provider_reference']}/", 200)
        call("GET", "/api/appointments/", 200)
        # Women's health: the area's own code, a wrong one first, then data and a search term.
        call("POST", "/api/womens-health/verification/", (200, 201))
        womens_code = _code()
        codes.append(womens_code)
        call("POST", "/api/womens-health/verification/verify/", 400, json={"otp": _other_code(womens_code)})
        call("POST", "/api/womens-health/verification/verify/", 200, json={"otp": womens_code})
        call("POST", "/api/womens-health/kick-sessions/", (200, 201, 202),
             json={"date": "2026-01-05T10:00:00Z", "kicks": 12, "duration": 900})
        call("POST", "/api/search-history/", (200, 201, 202), json={"term": SEARCH_TERM})
        call("GET", "/api/search-history/", 200)
        # A developer's mistakes: PHI in messages, the body, the headers; an exception with an email.
        call("POST", "/api/test-observability/careless/", 200, json={
            "full_name": FULL_NAME, "email": EMAIL, "note": f"reach me on {PHONE} or {EMAIL}",
            "otp": login_code, "password": PASSWORD,
        }, headers={"Authorization": f"Bearer {access}"})
        call("GET", "/api/test-observability/boom/", 500)
        call("POST", "/api/logout/", 200)

    cloudwatch.flush()
    events = {group: cloudwatch.raw_events(group) for group in
              ("app", "medical-records", "payments", "appointments", "tracking", "audit")}
    shipped = "\n".join(m for messages in events.values() for m in messages)

    # The flows did ship lines: every request, the careless lines (scrubbed) and the traceback.
    assert all(request_id in shipped for request_id in routes_seen)
    assert any("paying for [redacted]" in m for m in events["payments"]), events["payments"][:5]
    assert any("cookie header was" in m for m in events["medical-records"])
    assert any(re.search(r"could not load the profile of \[(redacted|email)\]", m) for m in events["app"])
    assert events["audit"], "medical record access is audited on /phb/audit"

    lowered = shipped.lower()
    for secret in secrets:
        assert secret and secret.lower() not in lowered, f"PHI reached CloudWatch: {secret[:6]}..."
    for code in codes:
        assert not re.search(rf"(?<!\d){code}(?!\d)", shipped), "a one-time code reached CloudWatch"

    # Metric dimensions carry no PHI either, and the flows produced business metrics.
    dimension_values = " ".join(d["Value"] for m in cloudwatch.series() for d in m["Dimensions"]).lower()
    for secret in [*secrets, *codes]:
        assert secret.lower() not in dimension_values
    assert cloudwatch.rollup("Payments", "PaymentSuccess") == 1
    assert cloudwatch.rollup("Appointments", "BookingCompleted") == 1
    assert cloudwatch.rollup("MedicalRecords", "MedicalRecordAccess") >= 1
    assert cloudwatch.stats("Auth", "OTPVerificationFailure", {"Purpose": "login"})["Sum"] == 1
    assert cloudwatch.stats("MedicalRecords", "OTPVerificationFailure", {"Purpose": "medical_records"})["Sum"] == 1
    assert cloudwatch.stats("Tracking", "OTPVerificationFailure", {"Purpose": "womens_health"})["Sum"] == 1


def _slot() -> str:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    day = (timezone.now().astimezone(ZoneInfo("Africa/Lagos")) + timedelta(days=3)).date()
    return f"{day.isoformat()}T10:00:00Z"
