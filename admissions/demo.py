"""Demo wards, beds and admissions for ``seed_demo``. Idempotent: adds nothing to a hospital that
already has wards, or admissions."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from admissions import services
from admissions.models import Admission, Bed, BedAssignment, BedFeature, Ward, WardType
from hospitals.models import Department, Hospital, StaffMember
from phb.zones import today_at

# department name -> [(ward name, code, type, floor, beds)]
DEMO_WARDS = {
    "General Medicine": [("Medical Ward A", "MED-A", WardType.GENERAL, "1", 12),
                         ("Medical HDU", "MED-HDU", WardType.HDU, "1", 4)],
    "Cardiology": [("Cardiac Ward", "CARD-W", WardType.GENERAL, "2", 8),
                   ("Coronary Care Unit", "CCU", WardType.ICU, "2", 4)],
    "Neurology": [("Neuro Ward", "NEU-W", WardType.GENERAL, "3", 6)],
    "Orthopedics": [("Orthopaedic Ward", "ORT-W", WardType.SURGICAL, "3", 8)],
    "Obstetrics & Gynaecology": [("Maternity Ward", "MAT-W", WardType.MATERNITY, "4", 10)],
}

_EMERGENCY_PEOPLE = [
    ({"first_name": "Chidi", "last_name": "Okeke", "age": 46, "gender": "male", "city": "Ikeja",
      "chief_complaint": "Chest pain radiating to the left arm"}, "Cardiology", "Suspected acute coronary syndrome",
     True),
    ({"first_name": "Aisha", "last_name": "Bello", "age": 29, "gender": "female", "city": "Yaba",
      "chief_complaint": "High fever and vomiting"}, "General Medicine", "Severe malaria, dehydration", False),
    ({"first_name": "Tunde", "last_name": "Adeyemi", "age": 61, "gender": "male", "city": "Surulere",
      "chief_complaint": "Sudden weakness of the right side"}, "Neurology", "Suspected stroke", False),
]


# The department pages' types (types/department.ts) for the demo departments still on the old
# catch-all "clinical", and where the ones with wards are.
DEMO_DEPARTMENT_TYPES = {"General Medicine": "medical", "Cardiology": "cardiology", "Neurology": "neurology",
                         "Orthopedics": "orthopedics", "Gastroenterology": "medical", "ENT": "ent",
                         "Obstetrics & Gynaecology": "obstetrics"}


def _department_details(departments: dict[str, Department]) -> None:
    for name, department in departments.items():
        changes = {}
        if department.department_type in ("", "clinical") and name in DEMO_DEPARTMENT_TYPES:
            changes["department_type"] = DEMO_DEPARTMENT_TYPES[name]
        if not department.floor_number and name in DEMO_WARDS:
            changes.update(floor_number=DEMO_WARDS[name][0][3], wing="central")
        if changes:
            Department.objects.filter(pk=department.pk).update(**changes)


def _wards(hospital: Hospital, departments: dict[str, Department]) -> None:
    for dept_name, wards in DEMO_WARDS.items():
        department = departments.get(dept_name)
        if department is None:
            continue
        for name, code, kind, floor, count in wards:
            ward, created = Ward.objects.get_or_create(
                hospital=hospital, code=code,
                defaults={"department": department, "name": name, "ward_type": kind, "floor": floor, "wing": "central"},
            )
            if created:
                features = [BedFeature.OXYGEN, BedFeature.MONITOR] if kind in (WardType.ICU, WardType.HDU) else [
                    BedFeature.OXYGEN]
                Bed.objects.bulk_create(Bed(ward=ward, number=str(n), features=features) for n in range(1, count + 1))


def seed_admissions(*, hospital: Hospital, departments: dict[str, Department], patient: User, admin: User) -> int:
    """Wards and beds in the demo departments, three people admitted through the emergency door,
    one pending admission and, for the demo patient, a past stay in her record."""
    _department_details(departments)
    _wards(hospital, departments)
    if Admission.objects.filter(hospital=hospital).exists():
        return 0
    made = 0
    with transaction.atomic():
        for person, dept_name, reason, icu in _EMERGENCY_PEOPLE:
            if dept_name not in departments:
                continue
            doctor = StaffMember.objects.filter(department=departments[dept_name], user__role=Role.DOCTOR,
                                                user__is_active=True).first()
            services.admission_create(actor=admin, hospital=hospital, new=services.NewAdmission(
                temp_patient_details=person, department_id=departments[dept_name].pk, reason_for_admission=reason,
                priority="emergency", requires_icu=icu, assign_bed=True,
                attending_doctor_id=doctor.pk if doctor else None))
            made += 1
        if "Orthopedics" in departments:
            services.admission_create(actor=admin, hospital=hospital, new=services.NewAdmission(
                temp_patient_details={"first_name": "Ngozi", "last_name": "Eze", "age": 54, "gender": "female",
                                      "chief_complaint": "Hip pain"},
                department_id=departments["Orthopedics"].pk, reason_for_admission="Elective hip replacement",
                priority="elective", expected_discharge_date=today_at(hospital) + timedelta(days=5)))
            made += 1
        if "General Medicine" in departments and not Admission.objects.filter(patient=patient).exists():
            past = services.admission_create(actor=admin, hospital=hospital, new=services.NewAdmission(
                patient_ref=str(patient.pk), department_id=departments["General Medicine"].pk,
                reason_for_admission="Community-acquired pneumonia", diagnosis="Pneumonia, right lower lobe",
                priority="urgent", assign_bed=True))
            sixty_days_ago = timezone.now() - timedelta(days=60)
            Admission.objects.filter(pk=past.pk).update(created_at=sixty_days_ago, admitted_at=sixty_days_ago)
            BedAssignment.objects.filter(admission=past).update(assigned_at=sixty_days_ago)  # the bed since then
            past.refresh_from_db()
            services.admission_discharge(actor=admin, admission=past,
                                         discharge_summary="Treated with IV antibiotics; recovered well.",
                                         followup_instructions="Review in the GP clinic in two weeks.",
                                         discharge_destination="Home",
                                         discharged_at=timezone.now() - timedelta(days=55))
            made += 1
    return made
