"""Pharmacists' triage of the requests routed to their pharmacy."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.views import ApiView
from prescriptions import selectors, triage
from prescriptions.inputs import EscalateInput, PharmacistApproveInput, PharmacistRejectInput, TriageQuery, valid
from prescriptions.models import PharmacistAction, PrescriptionRequest
from prescriptions.presenters import triage_detail, triage_list_item
from records.audit import audit_record


def _pharmacist_only(request: Request) -> None:
    if not request.user.is_pharmacist:
        raise ApiError("Only pharmacists triage prescriptions.", status_code=403, code="pharmacists_only")
    triage.triage_allowed_check(user=request.user)


class TriageListView(ApiView):
    access = Access.STAFF

    @extend_schema(parameters=[TriageQuery], responses={200: dict}, summary="The pharmacy's triage queue")
    def get(self, request: Request) -> Response:
        _pharmacist_only(request)
        q = valid(TriageQuery, request.query_params)
        qs = triage.triage_queue(pharmacist=request.user, status=q["status"], urgency=q["urgency"],
                                 category=q["triage_category"], reviewed=q["reviewed"])
        total = qs.count()
        start = (q["page"] - 1) * q["per_page"]
        page = list(qs[start:start + q["per_page"]])
        allergies = selectors.allergies_by_patient(patient_ids=[r.patient_id for r in page])
        items = [triage_list_item(r, allergies=allergies.get(str(r.patient_id))) for r in page]
        audit_record(actor=request.user, patient=None, action="prescription_triage_listed",
                     object_type="prescription_request", object_id="", request=request)
        return Response({"status": "success", "requests": items, "total_count": total,
                         "stats": triage.queue_stats(pharmacist=request.user),
                         "pagination": {"page": q["page"], "per_page": q["per_page"],
                                        "total_pages": max(1, math.ceil(total / q["per_page"]))}})


class TriageDetailView(ApiView):
    access = Access.STAFF

    @extend_schema(responses={200: dict}, operation_id="provider_prescriptions_triage_detail", summary="One routed request with its triage")
    def get(self, request: Request, request_id) -> Response:
        triage.triage_allowed_check(user=request.user)
        try:
            rx = selectors.requests_for_pharmacy(fetched_by=request.user).get(pk=request_id)
        except (PrescriptionRequest.DoesNotExist, DjangoValidationError, ValueError):
            raise NotFound("Prescription request not found.") from None
        allergies, current, _ = selectors.triage_inputs(patient=rx.patient)
        audit_record(actor=request.user, patient=rx.patient_id, action="prescription_triage_read",
                     object_type="prescription_request", object_id=str(rx.pk), request=request)
        return Response(triage_detail(rx, allergies=allergies, current=current))


def _answer(rx: PrescriptionRequest, message: str) -> Response:
    return Response({"success": True, "message": message, "request_reference": rx.reference, "status": rx.status,
                     "review_action": rx.pharmacist_action})


class TriageApproveView(ApiView):
    access = Access.STAFF

    @extend_schema(request=PharmacistApproveInput, responses={200: dict}, summary="Pharmacist approves")
    def post(self, request: Request, request_id) -> Response:
        triage.triage_allowed_check(user=request.user)
        data = valid(PharmacistApproveInput, request.data)
        notes = "\n".join(filter(None, [data["pharmacist_notes"], data["drug_interactions_checked"],
                                        data["monitoring_requirements"]]))
        rx = triage.review(pharmacist=request.user, request_id=request_id, action=PharmacistAction.APPROVED,
                           notes=notes, intervention=data["had_clinical_intervention"], request=request)
        message = ("Checked: the patient has been told it is ready to collect." if rx.status == "APPROVED"
                   else "Reviewed and passed to the prescriber.")
        return _answer(rx, message)


class TriageEscalateView(ApiView):
    access = Access.STAFF

    @extend_schema(request=EscalateInput, responses={200: dict}, summary="Pharmacist escalates to the prescriber")
    def post(self, request: Request, request_id) -> Response:
        triage.triage_allowed_check(user=request.user)
        data = valid(EscalateInput, request.data)
        notes = "\n".join(filter(None, [data["pharmacist_notes"], data["clinical_concerns"],
                                        data["pharmacist_recommendation"], ", ".join(data["flagged_medications"])]))
        rx = triage.review(pharmacist=request.user, request_id=request_id, action=PharmacistAction.ESCALATED,
                           notes=notes, reason=data["escalation_reason"],
                           intervention=data["had_clinical_intervention"], request=request)
        return _answer(rx, "Escalated to the prescriber.")


class TriageRejectView(ApiView):
    access = Access.STAFF

    @extend_schema(request=PharmacistRejectInput, responses={200: dict}, summary="Pharmacist rejects")
    def post(self, request: Request, request_id) -> Response:
        triage.triage_allowed_check(user=request.user)
        data = valid(PharmacistRejectInput, request.data)
        rx = triage.review(pharmacist=request.user, request_id=request_id, action=PharmacistAction.REJECTED,
                           notes=data["pharmacist_notes"], reason=data["rejection_reason"],
                           requires_follow_up=data["requires_appointment"],
                           intervention=data["had_clinical_intervention"], request=request)
        return _answer(rx, "Rejected; the patient has been told.")


class TriageStatsView(ApiView):
    access = Access.STAFF

    @extend_schema(responses={200: dict}, summary="The pharmacist's review statistics")
    def get(self, request: Request) -> Response:
        _pharmacist_only(request)
        return Response(triage.pharmacist_statistics(pharmacist=request.user))
