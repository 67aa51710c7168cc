"""Pharmacists' triage of the requests routed to their pharmacy, and their statistics.

A pharmacist reviews a request once per stage:
- ``REQUESTED`` (before the prescriber): approve = clinically screened, passed on; escalate =
  flagged to the prescriber with concerns; reject = the request is rejected.
- ``APPROVED`` (issued, before dispensing): approve = checked, the patient is told it is ready to
  collect; escalate = dispensing is held until a prescriber confirms (approve) or cancels
  (reject); reject = the prescription is cancelled.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Avg, Count, F, Q
from django.utils import timezone
from rest_framework.exceptions import NotFound

from accounts.models import User
from appointments.models import Prescription
from pharmacies.selectors import pharmacy_of
from phb.api.errors import ApiError, Conflict
from phb.zones import day_bounds, today_in, zone_of
from prescriptions import notifications
from prescriptions.models import ItemState, PharmacistAction, PrescriptionRequest, RequestStatus, SignedItem
from prescriptions.pharmacist_access import verified_pharmacist_check
from prescriptions.selectors import requests_for_pharmacy
from prescriptions.signing_flow import cancel_items
from records.audit import audit_record

REVIEWABLE = (RequestStatus.REQUESTED, RequestStatus.APPROVED)
# Most urgent first, then oldest; the id makes it a total order, so numbered pages neither repeat
# nor skip a request (indexes ``rx_request_triage``, ``rx_request_triage_status``).
TRIAGE_ORDER = ("-triage_score", "created_at", "id")


def triage_allowed_check(*, user: User) -> None:
    """Refuse an unverified pharmacist (the frontend hides the triage page from her) before
    anything is looked up: :func:`prescriptions.pharmacist_access.verified_pharmacist_check`."""
    verified_pharmacist_check(user=user, doing="triage prescriptions")


def _locked(*, pharmacist: User, request_id: object) -> PrescriptionRequest:
    try:
        return requests_for_pharmacy(fetched_by=pharmacist).select_for_update(of=("self",)).get(pk=request_id)
    except (PrescriptionRequest.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound("Prescription request not found.") from None


def _reviewable(rx: PrescriptionRequest) -> None:
    if rx.status not in REVIEWABLE:
        raise Conflict(f"This request is {rx.status.lower()}: there is nothing to review.", code="invalid_transition")
    if rx.pharmacist_action:  # issuing starts a new stage (``approval._issue`` clears the action)
        raise Conflict("This request has already been reviewed at this stage.", code="already_reviewed")


def _signed_or_refuse(rx: PrescriptionRequest) -> None:
    """"Ready to collect" only once every item can be dispensed: while one awaits its KMS signature
    (``sign_pending_prescriptions`` retries it), a pharmacy would refuse it as ``not_signed``."""
    items = SignedItem.objects.filter(prescription_id=rx.prescription_id)
    if not items.exists() or items.filter(state=ItemState.PENDING).exists():
        raise Conflict("This prescription is not signed yet, so it cannot be collected: check it again in a few "
                       "minutes.", code="not_signed")


def review(*, pharmacist: User, request_id: object, action: str, notes: str, intervention: bool = False,
           reason: str = "", requires_follow_up: bool = False, request=None) -> PrescriptionRequest:
    """``action``: approved, escalated or rejected. ``requires_follow_up`` (a rejection): the patient
    is asked to book an appointment, as when a prescriber rejects."""
    triage_allowed_check(user=pharmacist)
    if action not in (PharmacistAction.APPROVED, PharmacistAction.ESCALATED, PharmacistAction.REJECTED):
        raise ApiError("Unknown review action.", code="invalid_action")
    if action != PharmacistAction.APPROVED and not (reason or "").strip():
        raise ApiError("Give a reason.", code="reason_required")
    now = timezone.now()
    with transaction.atomic():
        rx = _locked(pharmacist=pharmacist, request_id=request_id)
        _reviewable(rx)
        issued = rx.status == RequestStatus.APPROVED
        rx.pharmacist_action = action
        rx.pharmacist_reviewed_by, rx.pharmacist_reviewed_at = pharmacist, now
        rx.pharmacist_notes = "\n".join(filter(None, [notes, reason]))[:5000]
        rx.pharmacist_intervention = bool(intervention)
        if action == PharmacistAction.REJECTED:
            rx.rejected_by, rx.rejected_at, rx.rejection_reason = pharmacist, now, reason.strip()[:2000]
            rx.requires_follow_up = bool(requires_follow_up)
            if issued:
                prescription = Prescription.objects.select_for_update().get(pk=rx.prescription_id)
                prescription.status = Prescription.Status.CANCELLED
                prescription.save(update_fields=["status"])
                cancel_items(prescription=prescription)
                rx.status = RequestStatus.CANCELLED
            else:
                rx.status = RequestStatus.REJECTED
            notifications.notify_rejected(rx)
        elif action == PharmacistAction.APPROVED and issued:
            _signed_or_refuse(rx)
            notifications.notify_ready(rx)
        rx.save()
        audit_record(actor=pharmacist, patient=rx.patient_id, action=f"prescription_triage_{action}",
                     object_type="prescription_request", object_id=str(rx.pk), request=request)
    return rx


def triage_queue(*, pharmacist: User, status: str = "", urgency: str = "", category: str = "",
                 reviewed: bool | None = None):
    qs = requests_for_pharmacy(fetched_by=pharmacist)
    if status:
        qs = qs.filter(status=status)
    if urgency:
        qs = qs.filter(urgency=urgency)
    if category:
        qs = qs.filter(triage_category=category)
    if reviewed is True:
        qs = qs.exclude(pharmacist_action="")
    elif reviewed is False:
        qs = qs.filter(pharmacist_action="")
    return qs.order_by(*TRIAGE_ORDER)


def queue_stats(*, pharmacist: User) -> dict:
    qs = requests_for_pharmacy(fetched_by=pharmacist)
    zone = zone_of(pharmacy_of(user=pharmacist))  # "today" is the pharmacy's day, on its clock
    today_start, today_end = day_bounds(today_in(zone), zone)
    awaiting = Q(status__in=REVIEWABLE, pharmacist_action="")
    today = Q(pharmacist_reviewed_at__gte=today_start, pharmacist_reviewed_at__lt=today_end)
    # Only the rows the counters count are read (the open queue, today's reviews), not the history.
    counts = qs.filter(awaiting | today).aggregate(
        awaiting=Count("pk", filter=awaiting),
        today=Count("pk", filter=today),
        urgent=Count("pk", filter=awaiting & Q(urgency="urgent")),
    )
    return {"awaiting_review": counts["awaiting"], "reviewed_today": counts["today"],
            "urgent_pending": counts["urgent"]}


def pharmacist_statistics(*, pharmacist: User) -> dict:
    pharmacy_qs = requests_for_pharmacy(fetched_by=pharmacist)
    mine = pharmacy_qs.filter(pharmacist_reviewed_by=pharmacist)
    now = timezone.now()
    agg = mine.aggregate(
        total=Count("pk"),
        approved=Count("pk", filter=Q(pharmacist_action=PharmacistAction.APPROVED)),
        escalated=Count("pk", filter=Q(pharmacist_action=PharmacistAction.ESCALATED)),
        rejected=Count("pk", filter=Q(pharmacist_action=PharmacistAction.REJECTED)),
        interventions=Count("pk", filter=Q(pharmacist_intervention=True)),
        week=Count("pk", filter=Q(pharmacist_reviewed_at__gte=now - timedelta(days=7))),
        month=Count("pk", filter=Q(pharmacist_reviewed_at__gte=now - timedelta(days=30))),
        wait=Avg(F("pharmacist_reviewed_at") - F("created_at")),
    )
    pending = pharmacy_qs.aggregate(
        urgent=Count("pk", filter=Q(status__in=REVIEWABLE, pharmacist_action="", urgency="urgent")),
        routine=Count("pk", filter=Q(status__in=REVIEWABLE, pharmacist_action="", urgency="routine")),
    )
    total = agg["total"] or 0

    def rate(n: int) -> float:
        return round(100.0 * n / total, 1) if total else 0.0

    wait = agg["wait"]
    return {
        "total_reviews_completed": total,
        "approval_rate": rate(agg["approved"]),
        "escalation_rate": rate(agg["escalated"]),
        "rejection_rate": rate(agg["rejected"]),
        "intervention_rate": rate(agg["interventions"]),
        "average_review_time_minutes": round(wait.total_seconds() / 60, 1) if wait else 0.0,
        "reviews_this_week": agg["week"],
        "reviews_this_month": agg["month"],
        "urgent_pending": pending["urgent"],
        "routine_pending": pending["routine"],
    }
