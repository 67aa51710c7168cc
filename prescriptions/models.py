"""Patients' prescription requests and the signed, dispense-once items of issued prescriptions."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from phb.jsonfield import JSONField


def new_reference() -> str:
    return "REQ-" + "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


class RequestStatus(models.TextChoices):
    REQUESTED = "REQUESTED", "Requested"
    APPROVED = "APPROVED", "Approved"
    REJECTED = "REJECTED", "Rejected"
    DISPENSED = "DISPENSED", "Dispensed"
    CANCELLED = "CANCELLED", "Cancelled"


# A request still on its way to the patient: awaiting a decision, or issued and not yet dispensed.
OPEN_REQUEST_STATUSES = (RequestStatus.REQUESTED, RequestStatus.APPROVED)


class RequestType(models.TextChoices):
    REPEAT = "repeat", "Repeat"
    NEW = "new", "New medication"
    DOSAGE_CHANGE = "dosage_change", "Dosage change"


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"


class PharmacistAction(models.TextChoices):
    NONE = "", "Not reviewed"
    APPROVED = "approved", "Approved (ready for collection)"
    ESCALATED = "escalated", "Escalated to the prescriber"
    REJECTED = "rejected", "Rejected"


class PrescriptionRequest(models.Model):
    """A patient asks their primary hospital's prescribers for medication.

    ``medications`` keeps what the patient asked for; ``approved_medications`` what the
    prescriber issued. A request with a controlled drug needs two different prescribers:
    the first approval is recorded in ``first_approved_by``/``first_approved_at``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=16, unique=True, default=new_reference)
    patient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="prescription_requests")
    hospital = models.ForeignKey("hospitals.Hospital", on_delete=models.PROTECT, related_name="prescription_requests")
    pharmacy = models.ForeignKey("pharmacies.Pharmacy", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="prescription_requests")
    request_type = models.CharField(max_length=16, choices=RequestType.choices)
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.ROUTINE)
    status = models.CharField(max_length=10, choices=RequestStatus.choices, default=RequestStatus.REQUESTED,
                              db_index=True)
    medications = JSONField(default=list)
    additional_notes = models.TextField(blank=True)
    controlled_count = models.PositiveSmallIntegerField(default=0)
    # triage, computed by ``prescriptions.rules`` when the request is made and again when approved
    triage_category = models.CharField(max_length=24, blank=True, db_index=True)
    triage_score = models.PositiveSmallIntegerField(default=0)
    triage_flags = JSONField(default=list, blank=True)
    triage_assigned_at = models.DateTimeField(null=True, blank=True)
    # prescriber decisions
    first_approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="+")
    first_approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_medications = JSONField(default=list, blank=True)
    clinical_notes = models.TextField(blank=True)
    rejected_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    requires_follow_up = models.BooleanField(default=False)
    prescription = models.OneToOneField("appointments.Prescription", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="request")
    # pharmacist triage at the pharmacy the prescription was routed to
    pharmacist_action = models.CharField(max_length=10, choices=PharmacistAction.choices, blank=True, default="")
    pharmacist_reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                               on_delete=models.SET_NULL, related_name="+")
    pharmacist_reviewed_at = models.DateTimeField(null=True, blank=True)
    pharmacist_notes = models.TextField(blank=True)
    pharmacist_intervention = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # A prescriber's list of the hospital's requests (``pagination.PRESCRIPTION_REQUESTS``) of one
            # status, in the list's order; its pending counts.
            models.Index(fields=["hospital", "status", "-created_at", "-id"], name="rx_request_hospital_queue"),
            # The same list of every status.
            models.Index(fields=["hospital", "-created_at", "-id"], name="rx_request_hospital"),
            models.Index(fields=["pharmacy", "status", "-created_at"], name="rx_request_pharmacy_queue"),
            # The pharmacy's triage queue (``prescriptions.triage.TRIAGE_ORDER``), of one status and of
            # every one, and the requests it reviewed today (built concurrently: prescriptions/0004).
            models.Index(fields=["pharmacy", "status", "-triage_score", "created_at", "id"],
                         name="rx_request_triage_status"),
            models.Index(fields=["pharmacy", "-triage_score", "created_at", "id"], name="rx_request_triage"),
            models.Index(fields=["pharmacy", "pharmacist_reviewed_at"], name="rx_request_reviewed"),
            # The patient's requests (``PRESCRIPTION_REQUESTS``), in the list's order.
            models.Index(fields=["patient", "-created_at", "-id"], name="rx_request_patient"),
            # The admin's changelist, newest first (built concurrently: prescriptions/0003).
            models.Index(fields=["-created_at", "-id"], name="rx_request_recent"),
        ]

    @property
    def is_on_hold(self) -> bool:
        """Approved, and a pharmacist escalated it to the prescriber: nothing is dispensed (``ON_HOLD``)."""
        return self.status == RequestStatus.APPROVED and self.pharmacist_action == PharmacistAction.ESCALATED

    def __str__(self) -> str:
        return self.reference


# The requests ``PrescriptionRequest.is_on_hold`` describes, as a query.
ON_HOLD = Q(status=RequestStatus.APPROVED, pharmacist_action=PharmacistAction.ESCALATED)


class ItemState(models.TextChoices):
    PENDING = "pending", "Awaiting signature"
    ISSUED = "issued", "Signed and issued"
    DISPENSED = "dispensed", "Dispensed"
    CANCELLED = "cancelled", "Cancelled"


class SignedItem(models.Model):
    """One medication of an issued prescription, as a signed token a pharmacy verifies and
    dispenses exactly once. ``nonce`` is in the signed payload; dispensing flips ``state`` from
    ``issued`` to ``dispensed`` in one conditional UPDATE."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    prescription = models.ForeignKey("appointments.Prescription", on_delete=models.CASCADE,
                                     related_name="signed_items")
    medication_id = models.CharField(max_length=64, db_index=True)
    nonce = models.CharField(max_length=64, unique=True, default=new_nonce)
    pharmacy = models.ForeignKey("pharmacies.Pharmacy", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="routed_items")
    controlled = models.BooleanField(default=False)
    payload = JSONField(default=dict)
    signature = models.TextField(blank=True)
    key_id = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=10, choices=ItemState.choices, default=ItemState.PENDING, db_index=True)
    expires_at = models.DateTimeField()
    signing_claimed_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    dispensed_at = models.DateTimeField(null=True, blank=True)
    dispensed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    dispensed_at_pharmacy = models.ForeignKey("pharmacies.Pharmacy", null=True, blank=True,
                                              on_delete=models.PROTECT, related_name="dispensed_items")
    pharmacist_name = models.CharField(max_length=200, blank=True)
    verification_notes = models.CharField(max_length=500, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        # the admin's changelist, newest first (built concurrently: prescriptions/0003)
        indexes = [models.Index(fields=["-created_at", "-id"], name="rx_item_recent")]
        constraints = [
            # a corrected medication cancels its item and gets a new one: one live item per medication
            models.UniqueConstraint(fields=["prescription", "medication_id"], condition=~Q(state="cancelled"),
                                    name="rx_item_once_per_medication"),
        ]

    def __str__(self) -> str:
        return f"signed item {self.pk}"
