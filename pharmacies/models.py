"""Community pharmacies, the pharmacists who work at them, and patients' nominations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from phb.jsonfield import JSONField


class Pharmacy(models.Model):
    """A pharmacy of the directory. ``code`` is the PHB pharmacy code printed on its premises."""

    code = models.CharField("PHB pharmacy code", max_length=32, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    address_line_1 = models.CharField(max_length=255)
    address_line_2 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=64, blank=True, db_index=True)
    postcode = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=64, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    electronic_prescriptions_enabled = models.BooleanField(default=True)
    # {"monday": {"open": "08:00", "close": "18:00"}, "sunday": {"closed": true}, ...}, local time
    opening_hours = JSONField(default=dict, blank=True)
    services_offered = JSONField(default=list, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default=settings.DEFAULT_HOSPITAL_TIME_ZONE)
    hospital = models.ForeignKey("hospitals.Hospital", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="pharmacies")
    is_active = models.BooleanField(default=True)
    verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "pharmacies"
        indexes = [
            models.Index(fields=["latitude", "longitude"], name="pharmacy_lat_lon"),
            # The directory by name (``pagination.PHARMACIES``), in the list's order.
            models.Index(fields=["name", "id"], name="pharmacy_name"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                                   name="pharmacy_latitude_range"),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="pharmacy_longitude_range"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Pharmacist(models.Model):
    """A user with the pharmacist role works at exactly one pharmacy: its staff record."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pharmacist")
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="pharmacists")
    registration_number = models.CharField(max_length=64, blank=True, help_text="Pharmacy council licence")
    verified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:  # ids only: admin lists never show names
        return f"pharmacist {self.pk}"


class NominationType(models.TextChoices):
    REPEAT = "repeat", "Repeat prescriptions"
    ACUTE = "acute", "Acute prescriptions"


class Nomination(models.Model):
    """A patient's choice of pharmacy for electronic prescriptions; at most one current."""

    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="pharmacy_nominations")
    pharmacy = models.ForeignKey(Pharmacy, on_delete=models.PROTECT, related_name="nominations")
    nomination_type = models.CharField(max_length=8, choices=NominationType.choices, default=NominationType.REPEAT)
    notes = models.CharField(max_length=500, blank=True)
    is_current = models.BooleanField(default=True)
    nominated_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-nominated_at"]
        # The patient's nomination history (``pagination.NOMINATIONS``), in the list's order.
        indexes = [models.Index(fields=["patient", "-nominated_at", "-id"], name="nomination_patient_history")]
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=Q(is_current=True),
                                    name="pharmacy_one_current_nomination"),
        ]

    def __str__(self) -> str:
        return f"nomination {self.pk}"
