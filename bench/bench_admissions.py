"""Admissions benchmarks.

last_bed_race_winners: 20 admissions for the last free bed of a department at the same moment,
over HTTP (``POST /api/admissions/`` with ``assign_bed``, as the new-admission modal sends it),
against gunicorn with 2 workers. Target 1; the others answer 409 and leave nothing behind.
admissions_dashboard_sql_queries_10 / _500: SQL queries of ``GET /api/admissions/dashboard/`` for
a hospital with 10 and with 500 current admissions (in as many beds). Target: equal.
admissions_list_sql_queries_10 / _500, departments_sql_queries_10 / _500: the same for the
admissions list and the department list the admissions page reads. Target: equal.
"""

from __future__ import annotations

import json
import os
import sys

from common import bench_env, count_queries, gunicorn_server, local_aws, prepare_database, setup_django
from race import race_posts, status_line, successes

RACERS = 20
BEDS = 3


def setup_race() -> dict:
    """A department with three beds, two taken, and 20 registered patients waiting."""
    from accounts.cookies import issue_tokens
    from tests.admissions.helpers import admit, ward
    from tests.factories import DepartmentFactory, HospitalFactory, make_hospital_admin, make_patient

    hospital = HospitalFactory()
    department = DepartmentFactory(hospital=hospital, name="General Medicine Race")
    ward(department, code="RACE", beds=BEDS)
    admin = make_hospital_admin(hospital=hospital)
    for _ in range(BEDS - 1):
        admit(actor=admin, patient=make_patient(hospital=hospital), department=department)
    racers = [make_patient(hospital=hospital) for _ in range(RACERS)]
    return {"hospital_id": hospital.pk, "department_id": department.pk,
            "token": str(issue_tokens(user=admin).access_token), "racer_ids": [str(p.pk) for p in racers]}


def race(url: str, race_data: dict) -> tuple[int, dict[int, int]]:
    attempts = [(race_data["token"], json.dumps({
        "patient": patient_id, "hospital": race_data["hospital_id"], "department": race_data["department_id"],
        "attending_doctor": None, "reason_for_admission": "Pneumonia", "diagnosis": "", "priority": "urgent",
        "admission_type": "inpatient", "assign_bed": True})) for patient_id in race_data["racer_ids"]]
    statuses = race_posts(url, "/api/admissions/", attempts)
    return successes(statuses), statuses


def hospital_with(n: int) -> str:
    """A hospital with ``n`` patients admitted in ``n`` beds (bulk-written), and its admin's token."""
    from django.utils import timezone

    from accounts.cookies import issue_tokens
    from admissions.models import Admission, AdmissionStatus, Bed, BedAssignment, BedStatus
    from tests.admissions.helpers import ward
    from tests.factories import DepartmentFactory, HospitalFactory, make_hospital_admin

    hospital = HospitalFactory()
    departments = [DepartmentFactory(hospital=hospital) for _ in range(4)]
    now = timezone.now()
    beds = []
    for i, department in enumerate(departments):
        beds += list(Bed.objects.filter(ward=ward(department, code=f"W{n}-{i}", beds=n // 4 + 5)))
        ward(department, code=f"I{n}-{i}", beds=2, ward_type="icu")
    chosen = beds[:n]
    admissions = Admission.objects.bulk_create(
        Admission(hospital=hospital, department=bed.ward.department, bed=bed, status=AdmissionStatus.ADMITTED,
                  temp_patient_details={"first_name": "Bench", "last_name": str(i)}, is_emergency=True,
                  reason_for_admission="Observation", created_at=now, admitted_at=now)
        for i, bed in enumerate(chosen))
    BedAssignment.objects.bulk_create(BedAssignment(admission=a, bed=a.bed, assigned_at=now) for a in admissions)
    Bed.objects.filter(pk__in=[b.pk for b in chosen]).update(status=BedStatus.OCCUPIED)
    return str(issue_tokens(user=make_hospital_admin(hospital=hospital)).access_token)


def query_figures() -> dict[str, int]:
    out = {}
    for n in (10, 500):
        token = hospital_with(n)
        out[f"admissions_dashboard_sql_queries_{n}"] = count_queries(token, "/api/admissions/dashboard/")
        out[f"admissions_list_sql_queries_{n}"] = count_queries(token, "/api/admissions/")
        out[f"departments_sql_queries_{n}"] = count_queries(token, "/api/hospitals/departments/")
    return out


def main() -> None:
    env = bench_env(LOG_LEVEL="WARNING")
    with local_aws(env):
        prepare_database(env)
        setup_django(env)
        race_data = setup_race()
        with gunicorn_server(env, workers=2) as (url, _):
            winners, statuses = race(url, race_data)
        from admissions.models import Admission, Bed, BedStatus

        admitted = Admission.objects.filter(patient_id__in=race_data["racer_ids"]).count()
        occupied = Bed.objects.filter(ward__department_id=race_data["department_id"], status=BedStatus.OCCUPIED).count()
        print(f"last_bed_race_winners: {winners}")
        print(f"last_bed_race_admissions_created: {admitted}")
        print(f"last_bed_race_beds_occupied: {occupied}/{BEDS}")
        print(f"last_bed_race_statuses: {status_line(statuses)}")
        for name, value in query_figures().items():
            print(f"{name}: {value}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
