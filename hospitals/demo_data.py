"""Demo people for local use (``seed_demo``): a doctor in every department of the demo hospital,
approved demo patients, and registrations waiting for the hospital admin. Idempotent.

The booking page routes symptoms to specialist departments by name (Neurology, ENT, Cardiology,
Gastroenterology, Orthopedics, with the first department as its fallback), so every department
gets its own doctor: a booking always lands where a doctor will see it. Departments other seed
steps add are covered too, as long as this runs after them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import transaction

from accounts.models import Role, User
from hospitals.models import Department, Hospital, HospitalRegistration, RegistrationStatus, StaffMember

# Department code -> the demo doctor's name. General Medicine keeps doctor@phb.test.
DOCTOR_NAMES = {
    "CARD": "Dr Ada Okafor",
    "NEURO": "Dr Bayo Adekunle",
    "ORTHO": "Dr Funke Ojo",
    "GASTRO": "Dr Emeka Nwosu",
    "ENT": "Dr Halima Sani",
    "OBGYN": "Dr Grace Udoh",
}
APPROVED_PATIENTS = [
    ("amina.bello@phb.test", "Amina Bello", "female", "1990-04-12"),
    ("tunde.adeyemi@phb.test", "Tunde Adeyemi", "male", "1985-09-30"),
    ("ngozi.eze@phb.test", "Ngozi Eze", "female", "1996-01-22"),
    ("ibrahim.musa@phb.test", "Ibrahim Musa", "male", "1978-06-05"),
]
PENDING_PATIENTS = [
    ("kemi.adebayo@phb.test", "Kemi Adebayo", "female", "1993-11-03"),
    ("chidi.okeke@phb.test", "Chidi Okeke", "male", "1988-02-17"),
]


@dataclass(frozen=True)
class DemoPeople:
    doctors: dict[int, User]  # department id -> its demo doctor
    patients: list[User]  # approved demo patients (not the main patient@phb.test)
    pending: list[User]  # registrations waiting for the admin


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "department"


def doctor_email(department: Department) -> str:
    return f"doctor.{_slug(department.code or department.name)}@phb.test"


def demo_user(*, email: str, name: str, role: str, password: str, **profile) -> User:
    """Create the account once; later runs keep it (and its password) as the demo expects."""
    user = User.objects.filter(email=email).first()
    if user is None:
        return User.objects.create_user(email=email, password=password, full_name=name, role=role,
                                        email_verified=True, has_completed_onboarding=True, **profile)
    if user.role != role or not user.check_password(password):
        user.role = role
        user.set_password(password)
        user.save()
    return user


def primary_unless_chosen(*, patient: User, hospital: Hospital) -> bool:
    """Whether the demo registration of ``patient`` at ``hospital`` is her primary one: yes,
    unless she has since made another hospital her primary (seeding runs at every ``make run``)."""
    return not HospitalRegistration.objects.filter(user=patient, is_primary=True).exclude(hospital=hospital).exists()


def seed_people(*, hospital: Hospital, password: str) -> DemoPeople:
    with transaction.atomic():
        doctors: dict[int, User] = {}
        for department in Department.objects.filter(hospital=hospital, is_active=True).order_by("name"):
            existing = (StaffMember.objects.select_related("user")
                        .filter(hospital=hospital, department=department, user__role=Role.DOCTOR)
                        .order_by("user__date_joined").first())
            if existing is not None:
                doctors[department.pk] = existing.user
                continue
            name = DOCTOR_NAMES.get(department.code, f"Dr {department.name} Demo")
            doctor = demo_user(email=doctor_email(department), name=name, role=Role.DOCTOR, password=password)
            StaffMember.objects.update_or_create(
                user=doctor,
                defaults={"hospital": hospital, "department": department, "position": "Consultant",
                          "license_number": f"MDCN-DEMO-{department.pk:04d}", "specialization": department.name,
                          "verified": True},
            )
            doctors[department.pk] = doctor
        patients = []
        for email, name, gender, born in APPROVED_PATIENTS:
            patient = demo_user(email=email, name=name, role=Role.PATIENT, password=password, gender=gender,
                                date_of_birth=born, city="Ikeja", state="lagos", country="nigeria")
            HospitalRegistration.objects.get_or_create(
                user=patient, hospital=hospital,
                defaults={"is_primary": primary_unless_chosen(patient=patient, hospital=hospital),
                          "status": RegistrationStatus.APPROVED},
            )
            patients.append(patient)
        pending = []
        for email, name, gender, born in PENDING_PATIENTS:
            patient = demo_user(email=email, name=name, role=Role.PATIENT, password=password, gender=gender,
                                date_of_birth=born, city="Yaba", state="lagos", country="nigeria")
            # Created pending once; an admin's decision in the demo is kept on later runs.
            HospitalRegistration.objects.get_or_create(
                user=patient, hospital=hospital,
                defaults={"is_primary": primary_unless_chosen(patient=patient, hospital=hospital),
                          "status": RegistrationStatus.PENDING},
            )
            pending.append(patient)
    return DemoPeople(doctors=doctors, patients=patients, pending=pending)


def seed_demo_data(*, hospital: Hospital, password: str) -> str:
    """Everything beyond the three main accounts; returns a one-line summary."""
    from appointments.demo import seed_appointments

    people = seed_people(hospital=hospital, password=password)
    created = seed_appointments(hospital=hospital, doctors=people.doctors, patients=people.patients)
    return (f"{len(people.doctors)} department doctors, {len(people.patients)} more patients, "
            f"{len(people.pending)} pending registrations, {created} new demo appointments")
