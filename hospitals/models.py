"""Hospitals, their departments, staff, and patients' registrations with them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from phb.jsonfield import JSONField


class HospitalType(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE = "private", "Private"
    SPECIALIST = "specialist", "Specialist"
    TEACHING = "teaching", "Teaching"
    CLINIC = "clinic", "Clinic"
    RESEARCH = "research", "Research"


class Hospital(models.Model):
    name = models.CharField(max_length=200)
    hospital_type = models.CharField(max_length=16, choices=HospitalType.choices, default=HospitalType.PUBLIC)
    code = models.CharField(max_length=32, unique=True, help_text="Used by hospital admins to sign in")
    address = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=64, blank=True, db_index=True)
    state = models.CharField(max_length=64, blank=True, db_index=True)
    country = models.CharField(max_length=64, blank=True)
    region = models.CharField(max_length=64, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    time_zone = models.CharField(max_length=64, default=settings.DEFAULT_HOSPITAL_TIME_ZONE)
    auto_approve_registrations = models.BooleanField(default=False)
    available = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # The organisation profile (kept by operators in the Django admin). The hospital's own lines
    # are shown to every signed-in caller; its contact persons only to its own admins.
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    emergency_contact = models.CharField(max_length=32, blank=True)
    postal_code = models.CharField(max_length=16, blank=True)
    primary_contact_name = models.CharField(max_length=120, blank=True)
    primary_contact_title = models.CharField(max_length=120, blank=True)
    primary_contact_phone = models.CharField(max_length=32, blank=True)
    primary_contact_email = models.EmailField(blank=True)
    administrative_contact_name = models.CharField(max_length=120, blank=True)
    administrative_contact_title = models.CharField(max_length=120, blank=True)
    administrative_contact_phone = models.CharField(max_length=32, blank=True)
    administrative_contact_email = models.EmailField(blank=True)
    medical_director_name = models.CharField(max_length=120, blank=True)
    medical_director_license = models.CharField(max_length=64, blank=True)
    medical_director_specialization = models.CharField(max_length=120, blank=True)
    medical_director_years_experience = models.PositiveSmallIntegerField(default=0)
    is_verified = models.BooleanField(default=False, help_text="Checked by the operators")
    verification_date = models.DateField(null=True, blank=True)
    accredited = models.BooleanField(default=False)
    accreditation_expiry = models.DateField(null=True, blank=True,
                                            help_text="Shown as accredited until this day (none: no expiry)")
    has_hospital_information_system = models.BooleanField(default=False)
    has_electronic_medical_records = models.BooleanField(default=False)
    has_telemedicine_capabilities = models.BooleanField(default=False)
    has_api_integration = models.BooleanField(default=False)
    has_online_appointment_booking = models.BooleanField(default=False)
    has_patient_portal = models.BooleanField(default=False)
    has_mobile_application = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        # The hospital list (``pagination.HOSPITALS``), in its order.
        indexes = [models.Index(fields=["name", "id"], name="hospital_name")]

    def __str__(self) -> str:
        return self.name


# The organisation profile's columns, by how the profile shows them: the hospital's own lines; its
# contact persons (to its own admins only); its digital infrastructure. All of them are read by the
# hospital list (H3) only and left out of the caller's primary hospital that authentication loads
# on every request (``HOSPITAL_PROFILE_FIELDS``).
HOSPITAL_PROFILE_LINES = ("phone", "email", "website", "emergency_contact", "postal_code")
HOSPITAL_CONTACT_PERSONS = (
    "primary_contact_name", "primary_contact_title", "primary_contact_phone", "primary_contact_email",
    "administrative_contact_name", "administrative_contact_title", "administrative_contact_phone",
    "administrative_contact_email", "medical_director_name", "medical_director_license",
    "medical_director_specialization", "medical_director_years_experience",
)
HOSPITAL_DIGITAL_FLAGS = (
    "has_hospital_information_system", "has_electronic_medical_records", "has_telemedicine_capabilities",
    "has_api_integration", "has_online_appointment_booking", "has_patient_portal", "has_mobile_application",
)
HOSPITAL_VERIFICATION = ("is_verified", "verification_date", "accredited", "accreditation_expiry")
HOSPITAL_PROFILE_FIELDS = HOSPITAL_PROFILE_LINES + HOSPITAL_CONTACT_PERSONS + HOSPITAL_VERIFICATION + \
    HOSPITAL_DIGITAL_FLAGS


class Department(models.Model):
    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="departments")
    name = models.CharField(max_length=120)
    code = models.CharField(max_length=32, blank=True)
    description = models.TextField(blank=True)
    department_type = models.CharField(max_length=64, blank=True, default="clinical")
    is_active = models.BooleanField(default=True)
    # Where it is and how to reach it (the hospital-admin department pages).
    floor_number = models.CharField(max_length=16, blank=True)
    wing = models.CharField(max_length=16, blank=True)
    extension_number = models.CharField(max_length=16, blank=True)
    emergency_contact = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    is_24_hours = models.BooleanField(default=False)
    operating_hours = JSONField(default=dict, blank=True)
    minimum_staff_required = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["hospital", "name"], name="department_unique_name")]
        # A hospital's departments (``pagination.DEPARTMENTS``), in their order.
        indexes = [models.Index(fields=["hospital", "name", "id"], name="department_hospital_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.hospital.name})"


class RegistrationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class HospitalRegistration(models.Model):
    """A patient's registration at a hospital. At most one is primary per patient."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hospital_registrations")
    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="registrations")
    is_primary = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=RegistrationStatus.choices, default=RegistrationStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "hospital"], name="registration_unique_user_hospital"),
            models.UniqueConstraint(fields=["user"], condition=Q(is_primary=True), name="registration_one_primary"),
        ]
        indexes = [
            # A hospital admin's registrations (``pagination.HOSPITAL_REGISTRATIONS``), of one status and whole,
            # in the list's order.
            models.Index(fields=["hospital", "status", "created_at", "id"], name="registration_hospital_status"),
            models.Index(fields=["hospital", "created_at", "id"], name="registration_hospital"),
        ]

    def __str__(self) -> str:
        return f"registration {self.pk}"


class StaffMember(models.Model):
    """A doctor's or hospital admin's place in a hospital (and, for doctors, a department)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="staff")
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="staff")
    position = models.CharField(max_length=64, blank=True)
    license_number = models.CharField(max_length=64, blank=True)
    license_expiry_date = models.DateField(null=True, blank=True)
    specialization = models.CharField(max_length=120, blank=True)
    years_of_experience = models.PositiveSmallIntegerField(null=True, blank=True)
    verified = models.BooleanField(default=False)

    class Meta:
        # A hospital's admins (``pagination.HOSPITAL_ADMINS``), in the list's order.
        indexes = [models.Index(fields=["hospital", "id"], name="staff_hospital")]

    def __str__(self) -> str:
        return f"staff {self.user_id}"
