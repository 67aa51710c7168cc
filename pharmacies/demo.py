"""Demo pharmacies around the demo hospital, the demo patient's nomination and a pharmacist
account (``pharmacist@phb.test``). Idempotent; called by ``seed_demo``."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import Role, User
from hospitals.models import Hospital
from pharmacies.models import Nomination, Pharmacist, Pharmacy

WEEKDAYS = {day: {"open": "08:00", "close": "20:00"} for day in
            ("monday", "tuesday", "wednesday", "thursday", "friday")}
HOURS = {**WEEKDAYS, "saturday": {"open": "09:00", "close": "17:00"}, "sunday": {"closed": True}}

# (code, name, street, latitude, longitude, electronic prescriptions)
DEMO_PHARMACIES = [
    ("PHB-PH-0001", "PHB Demo Pharmacy Ikeja", "12 Allen Avenue", 6.6008, 3.3535, True),
    ("PHB-PH-0002", "Opebi Community Pharmacy", "40 Opebi Road", 6.5930, 3.3600, True),
    ("PHB-PH-0003", "Alausa Health Pharmacy", "3 Obafemi Awolowo Way", 6.6140, 3.3580, True),
    ("PHB-PH-0004", "Maryland Chemists", "220 Ikorodu Road", 6.5720, 3.3660, True),
    ("PHB-PH-0005", "Oshodi Corner Pharmacy", "9 Agege Motor Road", 6.5560, 3.3490, False),
]


def seed_pharmacies(*, hospital: Hospital, patient: User, password: str | None = None) -> int:
    password = password or settings.DEMO_PASSWORD
    with transaction.atomic():
        pharmacies = []
        for code, name, street, lat, lon, eps in DEMO_PHARMACIES:
            pharmacy, _ = Pharmacy.objects.update_or_create(code=code, defaults={
                "name": name, "address_line_1": street, "city": hospital.city or "Ikeja", "state": hospital.state,
                "country": hospital.country, "postcode": "100001", "phone": "+234 1 000 0000",
                "electronic_prescriptions_enabled": eps, "opening_hours": HOURS, "latitude": lat, "longitude": lon,
                "services_offered": ["prescriptions", "repeat_prescriptions", "blood_pressure_checks"],
                "hospital": hospital if code == "PHB-PH-0001" else None, "is_active": True, "verified": True,
            })
            pharmacies.append(pharmacy)
        home = pharmacies[0]
        pharmacist = User.objects.filter(email="pharmacist@phb.test").first()
        if pharmacist is None:
            pharmacist = User.objects.create_user(email="pharmacist@phb.test", password=password,
                                                  full_name="Demo Pharmacist", role=Role.PHARMACIST,
                                                  email_verified=True, has_completed_onboarding=True)
        elif pharmacist.role != Role.PHARMACIST or not pharmacist.check_password(password):
            pharmacist.role = Role.PHARMACIST
            pharmacist.set_password(password)
            pharmacist.save()
        Pharmacist.objects.update_or_create(user=pharmacist, defaults={
            "pharmacy": home, "registration_number": "PCN-DEMO-0001", "verified": True})
        if not Nomination.objects.filter(patient=patient, is_current=True).exists():
            Nomination.objects.create(patient=patient, pharmacy=home, nomination_type="repeat")
    return len(pharmacies)
