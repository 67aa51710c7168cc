"""Wards, beds and inpatient admissions.

A bed is held by at most one admission at a time. Two things guarantee it: every change of a bed
happens under a row lock on that bed (``services``), and the database refuses a second open
:class:`BedAssignment` for a bed (or for an admission), whatever code path writes it.
"""

from __future__ import annotations

import secrets
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hospitals.models import Department, Hospital, StaffMember
from phb.jsonfield import JSONField


class WardType(models.TextChoices):
    GENERAL = "general", "General"
    ICU = "icu", "Intensive care (ICU)"
    HDU = "hdu", "High dependency (HDU)"
    MATERNITY = "maternity", "Maternity"
    PAEDIATRIC = "paediatric", "Paediatric"
    SURGICAL = "surgical", "Surgical"
    ISOLATION = "isolation", "Isolation"
    EMERGENCY = "emergency", "Emergency observation"


# Ward types whose beds count as ICU beds (department ``icu_beds``, ``is_icu_bed``).
ICU_WARD_TYPES = frozenset({WardType.ICU, WardType.HDU})


class Ward(models.Model):
    hospital = models.ForeignKey(Hospital, on_delete=models.CASCADE, related_name="wards")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="wards")
    name = models.CharField(max_length=120)
    code = models.CharField(max_length=16, help_text="Short code, unique in the hospital; prefixes bed identifiers")
    ward_type = models.CharField(max_length=16, choices=WardType.choices, default=WardType.GENERAL)
    floor = models.CharField(max_length=16, blank=True)
    wing = models.CharField(max_length=16, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["department_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["hospital", "code"], name="ward_unique_code"),
            models.UniqueConstraint(fields=["department", "name"], name="ward_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_icu(self) -> bool:
        return self.ward_type in ICU_WARD_TYPES


class BedStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    OCCUPIED = "occupied", "Occupied"
    RESERVED = "reserved", "Reserved"
    CLEANING = "cleaning", "Cleaning"
    OUT_OF_SERVICE = "out_of_service", "Out of service"


class BedFeature(models.TextChoices):
    OXYGEN = "oxygen", "Oxygen"
    MONITOR = "monitor", "Cardiac monitor"
    VENTILATOR = "ventilator", "Ventilator"
    SUCTION = "suction", "Suction"
    ISOLATION = "isolation", "Isolation room"
    BARIATRIC = "bariatric", "Bariatric"
    COT = "cot", "Cot"


# The most beds one ward holds (its beds, in any status). ``admissions.capacity`` and
# :meth:`Bed.clean` (the admin site) refuse a bed beyond it; the wards list carries a ward's beds
# whole because of it.
WARD_MAX_BEDS = 2500


class Bed(models.Model):
    ward = models.ForeignKey(Ward, on_delete=models.CASCADE, related_name="beds")
    number = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=BedStatus.choices, default=BedStatus.AVAILABLE, db_index=True)
    features = JSONField(default=list, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ward_id", "number"]
        constraints = [models.UniqueConstraint(fields=["ward", "number"], name="bed_unique_number")]

    def __str__(self) -> str:
        return self.identifier

    def clean(self) -> None:
        """A new bed in a ward that already holds :data:`WARD_MAX_BEDS` is refused."""
        if not self._state.adding or self.ward_id is None:
            return
        if Bed.objects.filter(ward_id=self.ward_id).count() >= WARD_MAX_BEDS:
            raise ValidationError(f"A ward holds at most {WARD_MAX_BEDS} beds.")

    @property
    def identifier(self) -> str:
        """What staff read and type: ``<ward code>-<bed number>`` (unique in the hospital)."""
        return f"{self.ward.code}-{self.number}"


class AdmissionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ADMITTED = "admitted", "Admitted"
    TRANSFERRED = "transferred", "Transferred out"
    DISCHARGED = "discharged", "Discharged"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (AdmissionStatus.PENDING, AdmissionStatus.ADMITTED)


class AdmissionPriority(models.TextChoices):
    ELECTIVE = "elective", "Elective"
    URGENT = "urgent", "Urgent"
    EMERGENCY = "emergency", "Emergency"


class AdmissionType(models.TextChoices):
    INPATIENT = "inpatient", "Inpatient"
    OBSERVATION = "observation", "Observation"
    DAY_CASE = "day_case", "Day case"
    RESPITE = "respite", "Respite care"
    EMERGENCY = "emergency", "Emergency"


class DischargeType(models.TextChoices):
    HOME = "home", "Home"
    TRANSFER = "transfer", "Transfer to another facility"
    LEFT_AMA = "left_ama", "Left against medical advice"
    DECEASED = "deceased", "Deceased"
    OTHER = "other", "Other"


def new_admission_id(day: date | None = None) -> str:
    """``ADM-YYYYMMDD-XXXXXX``; ``day`` is the date on the admitting hospital's clock (the services
    pass it; the server's UTC date is only this field's default)."""
    return f"ADM-{day or timezone.now().date():%Y%m%d}-{secrets.token_hex(3).upper()}"


class Admission(models.Model):
    admission_id = models.CharField(max_length=24, unique=True, default=new_admission_id, editable=False)
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="admissions")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="admissions")
    # A registered patient, or (emergency) nobody yet: then ``temp_patient_details`` holds the
    # minimum identity taken at the door, until the person is linked to a patient account.
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="admissions")
    temp_patient_details = JSONField(default=dict, blank=True)
    is_emergency = models.BooleanField(default=False)
    attending_doctor = models.ForeignKey(StaffMember, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="admissions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    bed = models.ForeignKey(Bed, null=True, blank=True, on_delete=models.PROTECT, related_name="admissions",
                            help_text="The bed held now (kept after discharge as the last bed)")
    status = models.CharField(max_length=16, choices=AdmissionStatus.choices, default=AdmissionStatus.PENDING)
    admission_type = models.CharField(max_length=16, choices=AdmissionType.choices, default=AdmissionType.INPATIENT)
    priority = models.CharField(max_length=16, choices=AdmissionPriority.choices, default=AdmissionPriority.ELECTIVE)
    requires_icu = models.BooleanField(default=False)
    reason_for_admission = models.TextField()
    diagnosis = models.TextField(blank=True)
    staff_notes = models.TextField(blank=True, help_text="Never shown to the patient")
    expected_discharge_date = models.DateField(null=True, blank=True)
    discharge_summary = models.TextField(blank=True)
    followup_instructions = models.TextField(blank=True)
    discharge_destination = models.CharField(max_length=120, blank=True)
    discharge_type = models.CharField(max_length=16, choices=DischargeType.choices, blank=True)
    cancel_reason = models.CharField(max_length=255, blank=True)
    is_readmission = models.BooleanField(default=False)
    previous_admission = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="readmissions")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    discharged_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The admissions list (staff), one part per status: a status of the hospital (pending,
            # admitted: either index), and the discharged, transferred or cancelled ones since a day,
            # by the time they closed, without walking the hospital's past.
            models.Index(fields=["hospital", "status", "discharged_at"], name="admission_hosp_discharged"),
            models.Index(fields=["hospital", "status", "cancelled_at"], name="admission_hosp_cancelled"),
            models.Index(fields=["hospital", "-created_at"], name="admission_hospital_created"),
            models.Index(fields=["patient", "-created_at"], name="admission_patient_created"),
        ]
        constraints = [
            # One open admission per patient, whatever hospital.
            models.UniqueConstraint(fields=["patient"], condition=Q(status__in=["pending", "admitted"]),
                                    name="admission_one_open_per_patient"),
            models.CheckConstraint(condition=Q(patient__isnull=False) | ~Q(temp_patient_details={}),
                                   name="admission_has_identity"),
            models.CheckConstraint(condition=Q(discharged_at__isnull=True) | Q(admitted_at__isnull=False)
                                   & Q(discharged_at__gte=models.F("admitted_at")),
                                   name="admission_discharge_after_admission"),
        ]

    def __str__(self) -> str:
        return self.admission_id

    @property
    def is_registered_patient(self) -> bool:
        return self.patient_id is not None


class BedAssignment(models.Model):
    """One stay of an admission in one bed. Open (``released_at`` empty) while the bed is held."""

    admission = models.ForeignKey(Admission, on_delete=models.CASCADE, related_name="bed_assignments")
    bed = models.ForeignKey(Bed, on_delete=models.PROTECT, related_name="assignments")
    assigned_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=16, blank=True)  # transfer, discharge
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["assigned_at"]
        constraints = [
            models.UniqueConstraint(fields=["bed"], condition=Q(released_at__isnull=True),
                                    name="bed_assignment_one_open_per_bed"),
            models.UniqueConstraint(fields=["admission"], condition=Q(released_at__isnull=True),
                                    name="bed_assignment_one_open_per_admission"),
        ]

    def __str__(self) -> str:
        return f"bed assignment {self.pk}"
