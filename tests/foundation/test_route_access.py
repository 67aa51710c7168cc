"""Every route is classified (public, the caller's own data, staff-scoped) and checked across users.

The test walks the URL configuration. A route whose view declares no ``access``
(``phb.api.access``) fails. Then, for every route and every method its view answers:

- anonymous callers: ``PUBLIC`` routes answer without a server error; every other route is a 401
  with the JSON envelope;
- routes naming an object in their path are called with an object that belongs to patient A
  (``OWNED`` below, one sample per path parameter): another patient, a doctor and a hospital admin
  of another hospital get a 404 (a 403 where their role may never use the route), never the data;
- routes without a path parameter are read (GET) by the same three strangers, and nothing of
  A's (ids, email, health number, her objects' ids) may appear in what they get.

A new route joins by declaring ``access`` on its view (or inheriting it from its base class); a
new path parameter name needs a sample in ``owned_samples``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal

import pytest
from django.urls import get_resolver
from django.utils import timezone

from appointments.models import Prescription, RosterException, RosterExceptionKind, RosterSession
from hospitals.models import HospitalRegistration, StaffMember
from payments.models import Payment
from pharmacies.models import Pharmacy
from phb.api.access import Access, access_of
from prescriptions.models import PrescriptionRequest
from records.models import AccessConsent, PatientDocument
from storage.models import ClinicalGuideline, ImagingStudy, StudyStatus
from tests.admissions.helpers import admit, ward
from tests.appointments.helpers import book, future_slot
from tests.factories import DepartmentFactory, HospitalFactory, make_doctor, make_hospital_admin, make_patient
from tests.helpers import call, client_for
from tests.routes import walk
from tests.tracking.conftest import WH, mark_verified
from tracking.models import HealthGoal, MenstrualCycle

METHODS = ("get", "post", "put", "patch", "delete")
# Path parameters that name reference data every signed-in user may read, not A's objects.
SHARED = {"hospital_id", "day", "pharmacy_id"}


@dataclass(frozen=True)
class Route:
    template: str
    name: str
    view: object
    access: Access | None
    params: tuple[str, ...]
    converters: dict

    @property
    def methods(self) -> list[str]:
        view_class = getattr(self.view, "view_class", None) or getattr(self.view, "cls", None)
        if view_class is None:
            return ["get"]
        return [m for m in METHODS if hasattr(view_class, m)]


def routes() -> list[Route]:
    found = []
    for template, pattern, converters in walk(get_resolver().url_patterns):
        if template.startswith("admin/"):  # Django's admin: staff sessions, its own permission system
            continue
        params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", template))
        found.append(Route(template, pattern.name or template, pattern.callback, access_of(pattern.callback), params,
                           converters))
    return found


ROUTES = routes()


def test_every_route_is_classified():
    missing = [r.template for r in ROUTES if r.access is None]
    assert not missing, f"routes without a declared access (phb.api.access): {missing}"


def _url(route: Route, values: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        return str(values[match.group(1)])

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", replace, route.template)


# Values for objects that do not exist; the first one a parameter's converter accepts is used.
CANDIDATES = ("00000000-0000-4000-8000-000000000000", "999999", "2025-01-02", "01J9Z0000000000000000000AB")


def _placeholder(route: Route, param: str) -> str:
    converter = route.converters.get(param)
    for candidate in CANDIDATES:
        if converter is None or re.fullmatch(converter.regex, candidate):
            return candidate
    raise AssertionError(f"no placeholder matches the converter of {param} in {route.template}")


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[r.template for r in ROUTES])
def test_anonymous_callers(route):
    values = {p: _placeholder(route, p) for p in route.params}
    for method in route.methods:
        response = call(client_for(None), method, _url(route, values), {} if method != "get" else None)
        if route.access == Access.PUBLIC:
            assert response.status_code < 500, (method, route.template, response.status_code)
        else:
            assert response.status_code == 401, (method, route.template, response.status_code)
            assert response.json()["message"]


# --- A's world and the strangers ------------------------------------------------------------------
@dataclass
class World:
    owner: object
    strangers: dict[str, object]
    samples: dict[str, str]
    markers: list[str]


def owned_samples(*, owner, doctor, hospital, department) -> dict[str, str]:
    """One object of A's for every path parameter (her appointment, documents, ...)."""
    now = timezone.now()
    appointment = book(owner, department, future_slot(hospital, days=2))
    appointment.doctor = doctor
    appointment.save(update_fields=["doctor"])
    prescription = Prescription.objects.create(
        appointment=appointment, patient=owner, prescriber=doctor, issued_at=now, expires_at=now + timedelta(days=30),
        medications=[{"name": "Paracetamol", "dosage": "500mg", "frequency": "twice daily", "duration": "5 days"}],
    )
    consent = AccessConsent.objects.create(patient=owner, clinician=doctor, hospital=hospital, duration_seconds=3600,
                                           request_expires_at=now + timedelta(hours=1))
    document = PatientDocument.objects.create(patient=owner, file=f"documents/{owner.pk}/probe.pdf",
                                              display_name="probe.pdf", extension="pdf",
                                              content_type="application/pdf", size=10, sha256="0" * 64)
    study = ImagingStudy.objects.create(patient=owner, uploaded_by=doctor, hospital=hospital,
                                        status=StudyStatus.AVAILABLE, key=f"imaging/{owner.pk}/probe.dcm",
                                        expected_size=10, sha256="0" * 64, upload_expires_at=now)
    guideline = ClinicalGuideline.objects.create(organization=hospital, created_by=doctor, title="Hand hygiene",
                                                 description="Wash hands.", category=_a_category())
    payment = Payment.objects.create(patient=owner, amount=Decimal("5000"), amount_minor=500000,
                                     appointment=appointment)
    cycle = MenstrualCycle.objects.create(user=owner, cycle_start_date=now.date() - timedelta(days=10))
    goal = HealthGoal.objects.create(user=owner, title="Walk daily")
    kick = client_for(owner).post(f"{WH}/kick-sessions/", {"date": "2025-05-01T08:00:00Z", "kicks": 10,
                                                           "duration": 300}, format="json")
    assert kick.status_code in (201, 202), kick.content
    registration = HospitalRegistration.objects.filter(user=owner, hospital=hospital).first()
    admission = admit(actor=make_hospital_admin(hospital=hospital), patient=owner, department=department,
                      assign_bed=False)
    bed = ward(department, code="ACC-1", beds=1).beds.get()
    session = RosterSession.objects.create(doctor=doctor, department=department, weekday=0, start_time=time(9),
                                           end_time=time(12))
    leave = RosterException.objects.create(doctor=doctor, kind=RosterExceptionKind.values[0],
                                           date=now.date() + timedelta(days=30))
    admin_staff = StaffMember.objects.get(user=make_hospital_admin(hospital=hospital))
    pharmacy = Pharmacy.objects.create(code="PH-PROBE", name="Probe Pharmacy", address_line_1="1 Probe St", city="X")
    rx_request = PrescriptionRequest.objects.create(patient=owner, hospital=hospital, pharmacy=pharmacy,
                                                    request_type="repeat", medications=[{"medication_name": "X"}])
    return {
        "pharmacy_id": str(pharmacy.pk), "request_id": str(rx_request.pk),
        "ref": appointment.appointment_id, "appointment_id": appointment.appointment_id,
        "patient_id": str(owner.pk), "record_id": str(owner.pk), "registration_id": str(registration.pk),
        "consent_id": str(consent.pk), "file_id": str(document.pk), "study_id": str(study.pk),
        "guideline_id": guideline.guideline_id, "prescription_id": str(prescription.pk),
        "reference": payment.reference, "payment_id": str(payment.pk), "cycle_id": str(cycle.pk),
        "goal_id": str(goal.pk),
        "entry_id": kick.json().get("id") or kick.json()["kick_session"]["id"],
        "hospital_id": str(hospital.pk), "day": "2025-01-02",
        "admission_ref": admission.admission_id, "bed_id": str(bed.pk), "department_id": str(department.pk),
        "session_id": str(session.pk), "exception_id": str(leave.pk), "staff_id": str(admin_staff.pk),
    }


def _a_category() -> str:
    from storage.models import GuidelineCategory

    return GuidelineCategory.values[0]


@pytest.fixture
def world(db) -> World:
    home, elsewhere = HospitalFactory(), HospitalFactory()
    department, other_department = DepartmentFactory(hospital=home), DepartmentFactory(hospital=elsewhere)
    owner = mark_verified(make_patient(hospital=home))
    doctor = make_doctor(department=department)
    samples = owned_samples(owner=owner, doctor=doctor, hospital=home, department=department)
    strangers = {
        "patient": mark_verified(make_patient(hospital=home)),
        "doctor elsewhere": make_doctor(department=other_department),
        "admin elsewhere": make_hospital_admin(hospital=elsewhere),
    }
    shared = {samples[name] for name in SHARED}
    markers = [str(owner.pk), owner.email, owner.hpn] + [v for k, v in samples.items()
                                                         if v not in shared and not str(v).isdigit()]
    return World(owner=owner, strangers=strangers, samples=samples, markers=markers)


def _nonexistent(route: Route, samples: dict[str, str]) -> dict[str, str]:
    values = dict(samples)
    for param in route.params:
        if param not in SHARED:
            values[param] = _placeholder(route, param)
    return values


def _code(response) -> str:
    try:
        return response.json().get("code", "")
    except ValueError:
        return ""


def _leaks(response, markers: list[str]) -> list[str]:
    text = response.content.decode(errors="replace")
    return [m for m in markers if m and m in text]


OBJECT_ROUTES = [r for r in ROUTES if r.access not in (None, Access.PUBLIC) and set(r.params) - SHARED]
LIST_ROUTES = [r for r in ROUTES if r.access not in (None, Access.PUBLIC) and not set(r.params) - SHARED
               and "get" in r.methods]  # writes without a path object: the anonymous check and their own tests


def test_every_path_parameter_has_a_sample():
    known = {"ref", "appointment_id", "patient_id", "record_id", "registration_id", "consent_id", "file_id",
             "study_id", "guideline_id", "prescription_id", "reference", "cycle_id", "goal_id", "entry_id",
             "hospital_id", "day", "admission_ref", "bed_id", "department_id", "session_id", "exception_id",
             "pharmacy_id", "request_id", "staff_id", "payment_id"}
    missing = {p for r in ROUTES if r.access not in (None, Access.PUBLIC) for p in r.params} - known
    assert not missing, f"add a sample of A's to owned_samples for: {sorted(missing)}"


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=[r.template for r in OBJECT_ROUTES])
def test_strangers_get_404_for_an_object_of_someone_else(world, route):
    url = _url(route, world.samples)
    for who, stranger in world.strangers.items():
        allowed = {404}
        if who == "patient" and not route.access & Access.OWN:
            allowed.add(403)  # a patient on a staff-only route
        if who != "patient" and not route.access & Access.STAFF:
            allowed.add(403)  # staff on a patient-only route
        for method in route.methods:
            response = call(client_for(stranger), method, url, {} if method != "get" else None)
            assert not _leaks(response, world.markers), (who, method, url)
            if response.status_code in allowed:
                continue
            # Otherwise the answer must be the one for an object that does not exist (a gate that
            # answers before any lookup, e.g. the medical-records code): it tells nothing about A's.
            nowhere = call(client_for(stranger), method, _url(route, _nonexistent(route, world.samples)),
                           {} if method != "get" else None)
            assert (response.status_code, _code(response)) == (nowhere.status_code, _code(nowhere)) \
                and response.status_code < 500, (who, method, url, response.status_code, response.content[:200])


@pytest.mark.parametrize("route", LIST_ROUTES, ids=[r.template for r in LIST_ROUTES])
def test_strangers_never_see_the_owners_data_in_lists(world, route):
    url = _url(route, world.samples)
    for who, stranger in world.strangers.items():
        response = call(client_for(stranger), "get", url)
        assert response.status_code < 500, (who, url, response.status_code)
        assert not _leaks(response, world.markers), (who, url, _leaks(response, world.markers))
