"""POST /api/ml/optimize-appointment, the slots' recommended mark, and the fallback to the heuristic."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments import booking, slot_grid
from appointments.models import SchedulerModelState, SchedulingEvent
from appointments.scheduler import registry
from tests.appointments.helpers import book, future_slot, hold, local_today
from tests.factories import DepartmentFactory, make_patient
from tests.helpers import client_for, repeated_statements
from tests.scheduler.helpers import roster

pytestmark = pytest.mark.django_db
URL = "/api/ml/optimize-appointment"


@pytest.fixture(autouse=True)
def _fresh_registry():
    registry.forget_cached_state()
    yield
    registry.forget_cached_state()


def _ask(patient, department, **extra):
    payload = {"hospital_id": department.hospital_id, "department_id": department.pk,
               "preferred_dates": [(local_today(department.hospital) + timedelta(days=1)).isoformat()],
               "priority": "normal", **extra}
    return client_for(patient).post(URL, payload, format="json")


def test_recommends_an_open_place_with_the_shipped_policy(hospital, department, patient):
    doctors = roster(department, doctors=3)
    response = _ask(patient, department)
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["fallback"] is False and body["policy_version"] == "v1"
    assert 0.0 <= body["confidence"] <= 1.0
    assert body["recommended_doctor"]["id"] in {str(d.pk) for d in doctors}
    assert body["recommended_time"].endswith(":00Z")
    assert body["recommended"]["date"] == (local_today(hospital) + timedelta(days=1)).isoformat()
    assert len(body["alternatives"]) == 3
    assert len({body["recommended_time"], *[a["appointment_date"] for a in body["alternatives"]]}) == 4


def test_never_recommends_a_full_slot(hospital, department, patient):
    roster(department, doctors=1, start="09:00", end="10:00")
    day = local_today(hospital) + timedelta(days=1)
    book(make_patient(hospital=hospital), department, future_slot(hospital, at="09:00"))
    response = _ask(patient, department, preferred_dates=[day.isoformat()], priority="emergency")
    assert response.status_code == 200
    assert response.json()["recommended_time"] == f"{day.isoformat()}T09:30:00Z"
    book(make_patient(hospital=hospital), department, future_slot(hospital, at="09:30"))
    response = _ask(patient, department, preferred_dates=[day.isoformat()])
    assert response.status_code == 200  # the next day that has places
    assert not response.json()["recommended_time"].startswith(day.isoformat())


def test_preferred_times_narrow_the_choice(hospital, department, patient):
    roster(department, doctors=2)
    response = _ask(patient, department, preferred_times=["14:30"])
    assert response.json()["recommended"]["time"] == "14:30"


@pytest.mark.parametrize(("change", "status"), [
    ({"department_id": 999999}, 404),
    ({"preferred_dates": ["2001-01-01"]}, 400),
    ({"preferred_dates": ["soon"]}, 400),
    ({"preferred_times": ["25:99"]}, 400),
    ({"priority": "whenever"}, 400),
    ({"department_id": None}, 400),
])
def test_bad_input_gets_a_clear_error(department, patient, change, status):
    roster(department, doctors=1)
    response = _ask(patient, department, **change)
    assert response.status_code == status and response.json()["message"]


def test_department_without_roster_is_refused(department, patient):
    response = _ask(patient, department)
    assert response.status_code == 400 and "roster" in response.json()["message"]


def test_department_of_another_hospital_is_refused(hospital, patient):
    other = DepartmentFactory()
    roster(other, doctors=1)
    response = _ask(patient, other, hospital_id=hospital.pk)
    assert response.status_code == 400 and response.json()["message"]


def test_only_signed_in_patients_ask(department, doctor):
    roster(department, doctors=1)
    assert _ask(doctor, department).status_code == 403
    assert _ask(None, department).status_code == 401


@pytest.mark.parametrize("how", ["missing", "slow", "failing", "disabled"])
def test_falls_back_to_the_heuristic(settings, monkeypatch, department, patient, how):
    roster(department, doctors=2)
    if how == "missing":
        SchedulerModelState.objects.update_or_create(name=settings.SCHEDULER_MODEL_NAME,
                                                     defaults={"active_version": "v-not-here"})
    elif how == "slow":
        settings.SCHEDULER_INFERENCE_BUDGET_MS = 0.0
    elif how == "failing":
        from appointments.scheduler.policy import OnnxPolicy

        def broken(self, view):
            raise RuntimeError("model exploded")
        monkeypatch.setattr(OnnxPolicy, "probabilities", broken)
    else:
        settings.SCHEDULER_ENABLED = False
    response = _ask(patient, department)
    assert response.status_code == 200
    body = response.json()
    assert body["fallback"] is True and body["confidence"] == 0.5
    assert body["recommended"]["date"] == (local_today(department.hospital) + timedelta(days=1)).isoformat()


def test_slots_mark_the_recommended_slot(hospital, department, patient):
    roster(department, doctors=2)
    day = local_today(hospital) + timedelta(days=1)
    recommended = _ask(patient, department, preferred_dates=[day.isoformat()]).json()["recommended"]["time"]
    slots = client_for(patient).get("/api/appointments/slots/", {"department": department.pk,
                                                                 "date": day.isoformat()}).json()["slots"]
    marked = [s["time"] for s in slots if s["recommended"]]
    assert marked == [recommended]


def test_the_slots_page_and_its_recommendation_share_one_read_of_the_day(hospital, department, patient):
    roster(department, doctors=2)
    day = (local_today(hospital) + timedelta(days=1)).isoformat()
    client = client_for(patient)
    client.get("/api/appointments/slots/", {"department": department.pk, "date": day})  # first-use caches
    with CaptureQueriesContext(connection) as queries:
        slots = client.get("/api/appointments/slots/", {"department": department.pk, "date": day}).json()["slots"]
    assert sum(s["recommended"] for s in slots) == 1
    assert repeated_statements(queries) == []


def test_booking_the_recommended_slot_gets_the_recommended_doctor(hospital, department, patient):
    roster(department, doctors=3)
    body = _ask(patient, department).json()
    start = slot_grid.wall_clock_from_iso(body["recommended_time"])
    appointment = book(patient, department, start)
    assert str(appointment.doctor_id) == body["recommended_doctor"]["id"]
    event = SchedulingEvent.objects.get(appointment=appointment)
    assert event.followed_recommendation is True and event.policy_version == "v1"


def test_booking_another_slot_is_not_counted_as_following(hospital, department, patient):
    roster(department, doctors=2)
    _ask(patient, department)
    appointment = book(patient, department, future_slot(hospital, days=3, at="16:30"))
    assert SchedulingEvent.objects.get(appointment=appointment).followed_recommendation is False
    other = make_patient(hospital=hospital)
    second = booking.hold_confirm(hold_id=hold(other, department, future_slot(hospital, days=3, at="16:00")).id,
                                  payment_reference=None)
    assert SchedulingEvent.objects.get(appointment=second).followed_recommendation is None


def test_serving_imports_neither_torch_nor_gymnasium():
    code = ("import sys; import appointments.scheduler.policy, appointments.scheduler.features, "
            "appointments.scheduler.simulator, appointments.scheduler.evaluate, appointments.scheduler.baselines; "
            "bad = [m for m in ('torch', 'gymnasium', 'stable_baselines3', 'sb3_contrib') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_web_requirements_never_install_training_dependencies():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    text = (root / "requirements.txt").read_text().lower()
    assert "-r " not in text
    names = {line.split("==")[0].strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}
    assert "onnxruntime" in names
    assert not names & {"torch", "gymnasium", "stable-baselines3", "sb3-contrib", "onnx", "scipy", "matplotlib"}


def test_the_demo_recommends_out_of_the_box():
    import io

    from django.core.management import call_command

    from accounts.models import User
    from appointments.models import RosterSession
    from hospitals.models import Department, StaffMember

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    doctors = StaffMember.objects.filter(user__role="doctor", hospital__code="PHBDEMO")
    assert doctors.exists()
    for member in doctors:
        assert RosterSession.objects.filter(doctor=member.user).exists()
    department = Department.objects.get(name="General Medicine", hospital__code="PHBDEMO")
    patient = User.objects.get(email="patient@phb.test")
    body = _ask(patient, department).json()
    assert body["fallback"] is False and body["recommended_doctor"]["id"] in {str(m.user_id) for m in doctors}


@pytest.mark.parametrize("days_ahead", [1, 4, 6])
def test_a_recommendation_reads_the_days_ahead_in_two_batches_at_most(department, patient, days_ahead):
    """A doctor rostered on one weekday only: the recommendation is that day's first slot however far
    ahead it is, found in the same few statements (the days read in two batches, not one by one)."""
    from datetime import datetime, time

    from appointments.models import RosterSession
    from appointments.scheduler.recommend import recommend
    from tests.factories import make_doctor

    doctor = make_doctor(department=department)
    zone = slot_grid.hospital_zone(department.hospital)
    now = datetime(2031, 3, 3, 8, 0, tzinfo=zone)  # a Monday, before the day's slots
    target = (now + timedelta(days=days_ahead)).date()
    RosterSession.objects.create(doctor=doctor, department=department, weekday=target.weekday(),
                                 start_time=time(9), end_time=time(12))
    registry.active_version()  # the model's state, read once a process

    with CaptureQueriesContext(connection) as queries:
        result = recommend(patient=patient, hospital_id=department.hospital_id, department_id=department.pk,
                           now=now)

    assert result.chosen.start_local.date() == target and result.chosen.doctor_id == doctor.pk
    assert len(queries) <= 22, "\n".join(q["sql"][:150] for q in queries.captured_queries)


def test_preferred_times_only_a_fifth_doctor_works_are_recommended_with_her(hospital, department, patient):
    """The policy sees four doctors: those with the most places at the times kept, not before the
    preferred times narrowed them."""
    roster(department, doctors=4, per_slot=5, start="09:00", end="13:00")
    (afternoon,) = roster(department, doctors=1, start="13:00", end="17:00")
    response = _ask(patient, department, preferred_times=["14:00"])
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["recommended"]["time"] == "14:00"
    assert body["recommended_doctor"]["id"] == str(afternoon.pk)


def test_the_days_after_full_preferred_dates_stop_where_booking_does(hospital, department, patient, settings):
    """No recommendation of a day booking would refuse as too far ahead."""
    from datetime import time

    from appointments.models import RosterSession
    from tests.factories import make_doctor

    settings.BOOKING_MAX_DAYS_AHEAD = 3
    # Two days ahead, so the one place is bookable at any time of day the test runs (three days
    # ahead at 09:00 is past the limit once it is after 09:00 at the hospital).
    day = local_today(hospital) + timedelta(days=2)
    doctor = make_doctor(department=department)
    RosterSession.objects.create(doctor=doctor, department=department, weekday=day.weekday(),
                                 start_time=time(9), end_time=time(9, 30))
    book(make_patient(hospital=hospital), department, future_slot(hospital, days=2, at="09:00"))

    response = _ask(patient, department, preferred_dates=[day.isoformat()])

    assert response.status_code == 409, response.json()  # the same weekday a week later is past the limit
    assert response.json()["code"] == "no_availability"


def test_on_the_last_bookable_day_no_time_past_the_booking_limit_is_recommended(department, patient, settings):
    """Booking takes a start at most BOOKING_MAX_DAYS_AHEAD from now, to the minute: on the last day,
    a place later in the day than now is not bookable, so it is not recommended either."""
    from datetime import datetime, time

    from appointments.models import RosterSession
    from appointments.scheduler.recommend import recommend
    from phb.api.errors import ApiError
    from tests.factories import make_doctor

    settings.BOOKING_MAX_DAYS_AHEAD = 3
    zone = slot_grid.hospital_zone(department.hospital)
    now = datetime(2031, 3, 3, 12, 0, tzinfo=zone)
    last = (now + timedelta(days=3)).date()
    doctor = make_doctor(department=department)
    RosterSession.objects.create(doctor=doctor, department=department, weekday=last.weekday(),
                                 start_time=time(11), end_time=time(14))

    result = recommend(patient=patient, hospital_id=department.hospital_id, department_id=department.pk,
                       preferred_dates=[last.isoformat()], now=now)
    assert result.chosen.start_local == datetime.combine(last, time(11))
    assert all(o.start_local <= datetime.combine(last, time(12)) for o in result.alternatives)
    slot_grid.validate_start(start_local=result.chosen.start_local, hospital=department.hospital, now=now)

    later = now + timedelta(hours=-1, minutes=-30)  # 10:30: none of that day's places is bookable yet
    with pytest.raises(ApiError) as refused:
        recommend(patient=patient, hospital_id=department.hospital_id, department_id=department.pk,
                  preferred_dates=[last.isoformat()], now=later)
    assert refused.value.status_code == 409


def test_a_patient_not_registered_at_the_hospital_gets_no_recommendation(hospital, department):
    """Booking refuses a patient who is not an approved patient of the hospital: she is not
    recommended a time (nor shown its doctors' names) that she could not book."""
    from hospitals.models import HospitalRegistration

    roster(department, doctors=2)
    stranger = make_patient(hospital=DepartmentFactory().hospital)
    response = _ask(stranger, department)
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "not_registered" and response.json()["message"]
    assert "recommended_doctor" not in response.json()
    day = (local_today(hospital) + timedelta(days=1)).isoformat()
    slots = client_for(stranger).get("/api/appointments/slots/", {"department": department.pk, "date": day}).json()
    assert not any(s.get("recommended") for s in slots["slots"])

    pending = make_patient(hospital=hospital)
    HospitalRegistration.objects.filter(user=pending).update(status="pending")
    assert _ask(pending, department).status_code == 403
    HospitalRegistration.objects.filter(user=pending).update(status="approved")
    assert _ask(pending, department).status_code == 200
