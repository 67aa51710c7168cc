"""The admission state machine, the race for the last bed (PostgreSQL), the database constraint
behind the lock, the dashboard's constant query count, the occupancy metric and alarm, the demo."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from admissions import services, state
from admissions.models import Admission, AdmissionStatus, Bed, BedAssignment, BedStatus
from phb import metrics
from phb.api.errors import Conflict
from phb.aws.clients import aws_client
from tests.admissions.helpers import admit, ward
from tests.concurrency import race
from tests.factories import DepartmentFactory, HospitalFactory, make_hospital_admin, make_patient
from tests.helpers import client_for

S = AdmissionStatus


# --- The state machine ------------------------------------------------------------------------
@pytest.mark.parametrize("current, target, allowed", [
    (S.PENDING, S.ADMITTED, True), (S.PENDING, S.CANCELLED, True), (S.PENDING, S.DISCHARGED, False),
    (S.ADMITTED, S.DISCHARGED, True), (S.ADMITTED, S.TRANSFERRED, True), (S.ADMITTED, S.CANCELLED, False),
    (S.ADMITTED, S.ADMITTED, False), (S.DISCHARGED, S.ADMITTED, False), (S.DISCHARGED, S.DISCHARGED, False),
    (S.CANCELLED, S.ADMITTED, False), (S.TRANSFERRED, S.DISCHARGED, False),
])
def test_transitions(current, target, allowed):
    assert state.can_transition(current, target) is allowed
    if allowed:
        state.ensure_transition(current, target)
    else:
        with pytest.raises(Conflict) as refused:
            state.ensure_transition(current, target)
        assert refused.value.status_code == 409 and str(refused.value.detail)


def test_terminal_states_have_no_way_out():
    assert state.TERMINAL == {S.DISCHARGED, S.TRANSFERRED, S.CANCELLED}


@pytest.mark.django_db
def test_discharge_to_another_facility_is_transferred_and_frees_the_bed(hospital_admin, patient, department,
                                                                         general_ward):
    stay = admit(actor=hospital_admin, patient=patient, department=department)
    done = services.admission_discharge(actor=hospital_admin, admission=stay, discharge_summary="Needs surgery",
                                        discharge_destination="Lagos University Teaching Hospital")
    assert done.status == S.TRANSFERRED and done.discharge_type == "transfer"
    assert Bed.objects.get(pk=stay.bed_id).status == BedStatus.AVAILABLE


@pytest.mark.django_db
def test_the_database_refuses_a_second_holder_of_a_bed(hospital_admin, department, general_ward):
    """Code that skipped the lock still cannot put two admissions in one bed."""
    first = admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department)
    second = admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department,
                   assign_bed=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        BedAssignment.objects.create(admission=second, bed_id=first.bed_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        BedAssignment.objects.create(admission=first, bed=Bed.objects.filter(status=BedStatus.AVAILABLE).first())


@pytest.mark.django_db
def test_the_database_refuses_a_discharge_before_admission(hospital_admin, patient, department, general_ward):
    stay = admit(actor=hospital_admin, patient=patient, department=department)
    with pytest.raises(IntegrityError), transaction.atomic():
        Admission.objects.filter(pk=stay.pk).update(discharged_at=stay.admitted_at.replace(year=2000))


# --- The race for the last bed (PostgreSQL) ---------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="SQLite has no row locks; its IMMEDIATE transactions serialize every writer instead")
def test_twenty_parallel_admissions_for_the_last_bed():
    hospital = HospitalFactory()
    department = DepartmentFactory(hospital=hospital)
    ward(department, code="LAST", beds=3)
    admin = make_hospital_admin(hospital=hospital)
    for _ in range(2):  # two of three beds taken
        admit(actor=admin, patient=make_patient(hospital=hospital), department=department)
    racers = [make_patient(hospital=hospital) for _ in range(20)]

    def attempt(patient):
        try:
            admit(actor=admin, patient=patient, department=department)
        except Conflict as exc:
            return "full" if exc.code in ("no_bed_available", "bed_unavailable") else f"conflict: {exc.code}"
        return "won"

    outcomes = race(attempt, racers)
    assert sorted(set(outcomes)) == ["full", "won"], outcomes
    assert outcomes.count("won") == 1
    assert Admission.objects.filter(patient__in=racers).count() == 1  # the losers left nothing behind
    assert Bed.objects.filter(ward__department=department, status=BedStatus.OCCUPIED).count() == 3
    assert BedAssignment.objects.filter(bed__ward__department=department, released_at__isnull=True).count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs row locks")
def test_a_bed_is_released_exactly_once_under_parallel_discharges():
    hospital = HospitalFactory()
    department = DepartmentFactory(hospital=hospital)
    ward(department, code="ONCE", beds=1)
    admin = make_hospital_admin(hospital=hospital)
    stay = admit(actor=admin, patient=make_patient(hospital=hospital), department=department)

    def attempt(_):
        try:
            services.admission_discharge(actor=admin, admission=stay, discharge_summary="ok")
        except Conflict:
            return "refused"
        return "done"

    outcomes = race(attempt, range(8))
    assert sorted(outcomes) == ["done"] + ["refused"] * 7
    assert BedAssignment.objects.get(admission=stay).released_at is not None


# --- Figures in a constant number of queries -------------------------------------------------
def _queries(client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    return len(ctx.captured_queries)


@pytest.mark.django_db
def test_dashboard_and_lists_cost_the_same_for_ten_and_forty_admissions(hospital_admin, department, doctor):
    ward(department, code="BIG", beds=45)
    ward(department, code="BIGICU", beds=5, ward_type="icu")
    client = client_for(hospital_admin)
    counts = {}
    for n in (10, 40):
        while Admission.objects.filter(hospital=department.hospital).count() < n:
            admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department,
                  attending_doctor_id=doctor.staff.pk)
        counts[n] = (_queries(client, "/api/admissions/dashboard/"), _queries(client, "/api/admissions/"),
                     _queries(client, "/api/hospitals/departments/"))
    assert counts[10] == counts[40], counts
    body = client.get("/api/admissions/dashboard/").json()
    assert body["admissions_today"] == 40 and body["currently_admitted"] == 40
    assert body["beds"]["occupied"] == 40 and body["beds"]["total"] == 50 and body["beds"]["icu_total"] == 5
    assert body["occupancy_by_department"][0]["utilization_rate"] == 80.0
    assert {w["ward_code"] for w in body["occupancy_by_ward"]} == {"BIG", "BIGICU"}
    assert body["pending_discharges"] == 0 and body["average_length_of_stay_days"] is None


@pytest.mark.django_db
def test_dashboard_figures(hospital_admin, department, general_ward):
    from datetime import timedelta

    from django.utils import timezone

    from phb.zones import today_at

    stay = admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department)
    Admission.objects.filter(pk=stay.pk).update(admitted_at=timezone.now() - timedelta(days=3))
    stay.refresh_from_db()
    services.admission_discharge(actor=hospital_admin, admission=stay, discharge_summary="ok")
    admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department,
          expected_discharge_date=today_at(department.hospital))
    admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department,
          assign_bed=False)
    body = client_for(hospital_admin).get("/api/admissions/dashboard/").json()
    assert body["average_length_of_stay_days"] == pytest.approx(3.0, abs=0.1)
    assert (body["discharged_today"], body["currently_admitted"], body["pending_admissions"],
            body["pending_discharges"]) == (1, 1, 1, 1)
    outsider = make_hospital_admin(hospital=HospitalFactory())
    assert client_for(outsider).get("/api/admissions/dashboard/").json()["currently_admitted"] == 0
    assert client_for(make_patient()).get("/api/admissions/dashboard/").status_code == 404
    assert client_for(None).get("/api/admissions/dashboard/").status_code == 401


@pytest.mark.django_db
def test_a_cancelled_admission_is_no_emergency_or_readmission_of_the_dashboard(hospital_admin, department,
                                                                               general_ward):
    """An admission created in error and cancelled leaves today's admissions, emergencies and
    readmissions alike: the figures never say more emergencies than admissions."""
    client = client_for(hospital_admin)
    door = {"department_id": department.pk, "reason_for_admission": "Collapsed", "assign_bed": False,
            "temp_patient_details": {"first_name": "Ada"}}
    kept = client.post("/api/admissions/emergency_admission/", door, format="json").json()
    wrong = client.post("/api/admissions/emergency_admission/", door, format="json").json()
    patient = make_patient(hospital=department.hospital)
    first = admit(actor=hospital_admin, patient=patient, department=department)
    services.admission_discharge(actor=hospital_admin, admission=first, discharge_summary="ok")
    again = admit(actor=hospital_admin, patient=patient, department=department, assign_bed=False)
    assert again.is_readmission
    before = client.get("/api/admissions/dashboard/").json()
    assert (before["admissions_today"], before["emergency_today"], before["readmissions_30_days"]) == (4, 2, 1)

    for ref in (wrong["admission_id"], again.admission_id):
        assert client.post(f"/api/admissions/{ref}/cancel/", {}, format="json").status_code == 200
    body = client.get("/api/admissions/dashboard/").json()
    assert (body["admissions_today"], body["emergency_today"], body["readmissions_30_days"]) == (2, 1, 0)
    assert kept["status"] == "pending" and body["pending_admissions"] == 1


# --- Occupancy metric, alarm and dashboard ------------------------------------------------------
@pytest.mark.django_db
def test_occupancy_is_published_per_department_with_a_rollup(hospital_admin, department, general_ward):
    admit(actor=hospital_admin, patient=make_patient(hospital=department.hospital), department=department)
    with metrics.capture() as sent:
        out = io.StringIO()
        call_command("publish_bed_occupancy", stdout=out)
    values = [d for d in sent if d.name == "BedOccupancy"]
    assert values and values[0].namespace == "PHB/Admissions" and values[0].unit == "Percent"
    mine = [d for d in values if d.dimensions.get("Department") == str(department.pk)]
    assert mine[0].value == pytest.approx(33.3) and mine[0].dimensions["Hospital"] == str(department.hospital_id)
    assert "departments" in out.getvalue()


@pytest.mark.django_db
def test_occupancy_alarm_and_dashboard_are_provisioned():
    from django.conf import settings

    prefix = settings.AWS_NAME_PREFIX
    cloudwatch = aws_client("cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=[f"{prefix}-BedOccupancyHigh"])["MetricAlarms"][0]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == ("PHB/Admissions", "BedOccupancy",
                                                                             "Maximum")
    assert alarm["Threshold"] == 95.0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 1800 and alarm["DatapointsToAlarm"] == 6
    assert alarm["AlarmActions"] and alarm["AlarmActions"][0].endswith(f":{settings.CLOUDWATCH_ALERT_TOPIC_NAME}")
    body = json.loads(cloudwatch.get_dashboard(DashboardName=f"{prefix}-inpatient-care")["DashboardBody"])
    text = json.dumps(body)
    assert "BedOccupancy" in text and alarm["AlarmArn"] in text


# --- The demo ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_seed_demo_adds_wards_beds_and_admissions_once():
    from hospitals.models import Hospital

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    hospital = Hospital.objects.get(code="PHBDEMO")
    assert Bed.objects.filter(ward__hospital=hospital).count() >= 40
    assert Admission.objects.filter(hospital=hospital, status=S.ADMITTED).count() == 3
    assert Admission.objects.filter(hospital=hospital, status=S.PENDING).count() == 1
    past = Admission.objects.get(hospital=hospital, patient__email="patient@phb.test")
    assert past.status == S.DISCHARGED and past.discharged_at > past.admitted_at
