"""Demo data for local use: one hospital, its departments and three accounts. Idempotent.

Refuses to run under production settings.
"""

from __future__ import annotations

import os
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Role, User
from admissions.demo import seed_admissions
from appointments.scheduler.demo import seed_rosters
from hospitals.demo_data import primary_unless_chosen, seed_demo_data
from hospitals.models import Department, Hospital, HospitalRegistration, RegistrationStatus, StaffMember
from pharmacies.demo import seed_pharmacies
from storage.demo import seed_guidelines

DEMO_HOSPITAL = "PHB Demo General Hospital"
DEMO_DEPARTMENTS = [
    ("General Medicine", "GEN"),
    ("Cardiology", "CARD"),
    ("Neurology", "NEURO"),
    ("Orthopedics", "ORTHO"),
    ("Gastroenterology", "GASTRO"),
    ("ENT", "ENT"),
    ("Obstetrics & Gynaecology", "OBGYN"),
]
# Staff pages show it beside her name (the pharmacist's triage: "DOB ... (Age ...)").
DEMO_PATIENT_BIRTH_DATE = date(1990, 4, 12)


class Command(BaseCommand):
    help = ("Create the demo hospital, departments and accounts (patient, doctor, admin @phb.test), "
            "with their demo data and clinical guidelines.")

    def handle(self, *args, **options):
        module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
        if module.endswith("production") or settings.PHB_ENVIRONMENT.lower() == "production":
            raise CommandError("seed_demo refuses to run under production settings")
        password = settings.DEMO_PASSWORD
        with transaction.atomic():
            hospital, _ = Hospital.objects.update_or_create(
                code="PHBDEMO",
                defaults={
                    "name": DEMO_HOSPITAL,
                    "address": "1 Demo Way",
                    "city": "Ikeja",
                    "state": "lagos",
                    "country": "nigeria",
                    "region": "South West",
                    "latitude": "6.601800",
                    "longitude": "3.351500",
                    "auto_approve_registrations": True,
                    "phone": "+234 1 000 0000",
                    "email": "info@demo-hospital.phb.test",
                    "website": "https://demo-hospital.phb.test",
                    "emergency_contact": "112",
                    "postal_code": "100001",
                    "primary_contact_name": "Demo Hospital Admin",
                    "primary_contact_title": "Hospital administrator",
                    "is_verified": True,
                    "has_electronic_medical_records": True,
                    "has_online_appointment_booking": True,
                    "has_patient_portal": True,
                },
            )
            departments = {}
            for name, code in DEMO_DEPARTMENTS:
                departments[name], _ = Department.objects.update_or_create(
                    hospital=hospital, name=name, defaults={"code": code, "is_active": True}
                )
            patient = self._user("patient@phb.test", "Demo Patient", Role.PATIENT, password)
            if patient.date_of_birth is None:  # kept once she has set her own
                patient.date_of_birth = DEMO_PATIENT_BIRTH_DATE
                patient.save(update_fields=["date_of_birth"])
            doctor = self._user("doctor@phb.test", "Dr Demo Doctor", Role.DOCTOR, password)
            admin = self._user("admin@phb.test", "Demo Hospital Admin", Role.HOSPITAL_ADMIN, password)
            HospitalRegistration.objects.update_or_create(
                user=patient, hospital=hospital,
                defaults={"is_primary": primary_unless_chosen(patient=patient, hospital=hospital),
                          "status": RegistrationStatus.APPROVED},
            )
            StaffMember.objects.update_or_create(
                user=doctor,
                defaults={"hospital": hospital, "department": departments["General Medicine"],
                          "position": "Consultant", "license_number": "MDCN-DEMO-0001",
                          "specialization": "General Medicine", "verified": True},
            )
            StaffMember.objects.update_or_create(
                user=admin, defaults={"hospital": hospital, "position": "Hospital administrator", "verified": True}
            )
            seed_pharmacies(hospital=hospital, patient=patient, password=password)
        seed_admissions(hospital=hospital, departments=departments, patient=patient, admin=admin)
        self.stdout.write(f"seed_demo: {DEMO_HOSPITAL} with {len(departments)} departments and 3 demo accounts")
        self.stdout.write(f"seed_demo: {seed_demo_data(hospital=hospital, password=password)}")
        seed_rosters(hospital=hospital)
        guidelines = seed_guidelines(hospital=hospital, author=doctor, reviewer=admin)
        self.stdout.write(f"seed_demo: {guidelines} clinical guidelines added")

    @staticmethod
    def _user(email: str, name: str, role: str, password: str) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=password, full_name=name, role=role,
                                            email_verified=True, has_completed_onboarding=True)
        else:
            changed = user.role != role or not user.check_password(password)
            user.role = role
            user.full_name = name
            if not user.check_password(password):
                user.set_password(password)
            if changed:
                user.save()
        return user
