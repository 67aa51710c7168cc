"""Prescribers' view of their hospital's requests (``/api/provider/prescriptions/``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from phb.api import pagination
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.views import ApiView
from prescriptions import approval, selectors
from prescriptions.inputs import ApproveInput, RejectInput, StatusQuery, valid
from prescriptions.models import PrescriptionRequest
from prescriptions.presenters import prescriber_detail, prescriber_list_item
from records.audit import audit_record

MESSAGES = {
    "issued": "Prescription approved, signed and sent.",
    "first_approval": "First approval recorded: a controlled drug needs a second prescriber to approve.",
    "confirmed": "Prescription confirmed: the pharmacy may dispense it.",
}


def _doctor_only(request: Request) -> None:
    if not request.user.is_doctor:
        raise ApiError("Only prescribers see prescription requests.", status_code=403, code="prescribers_only")


class ProviderRequestsView(ApiView):
    access = Access.STAFF

    @extend_schema(parameters=[StatusQuery, *pagination.PARAMETERS], responses={200: dict},
                   summary="Requests of the doctor's hospital (paged)",
                   description="Newest first. `total_count` counts every request of the list (of `status` when "
                               "given); `pending_count` and `urgent_count` the hospital's requests awaiting a "
                               "decision, and the urgent ones of them. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        _doctor_only(request)
        q = valid(StatusQuery, request.query_params)
        qs = selectors.requests_for_prescriber(fetched_by=request.user, status=q["status"])
        page = pagination.paginate(request, qs, spec=pagination.PRESCRIPTION_REQUESTS)
        total = pagination.total_of(page, qs)
        allergies = selectors.allergies_by_patient(patient_ids=[r.patient_id for r in page.items])
        items = [prescriber_list_item(r, allergies=allergies.get(str(r.patient_id))) for r in page.items]
        pending = selectors.pending_counts(fetched_by=request.user)
        audit_record(actor=request.user, patient=None, action="prescription_requests_listed",
                     object_type="prescription_request", object_id="", request=request)
        return page.response({"status": "success", "requests": items, "total_count": total,
                              "pending_count": pending["pending"], "urgent_count": pending["urgent"]})


def _scoped(request: Request, request_id) -> PrescriptionRequest:
    try:
        return selectors.requests_for_prescriber(fetched_by=request.user).get(pk=request_id)
    except (PrescriptionRequest.DoesNotExist, DjangoValidationError, ValueError):
        raise NotFound("Prescription request not found.") from None


class ProviderRequestDetailView(ApiView):
    access = Access.STAFF

    @extend_schema(responses={200: dict}, operation_id="provider_prescriptions_detail",
                   summary="One request, with the patient's allergies and medications")
    def get(self, request: Request, request_id) -> Response:
        rx = _scoped(request, request_id)
        allergies, current, _ = selectors.triage_inputs(patient=rx.patient)
        audit_record(actor=request.user, patient=rx.patient_id, action="prescription_request_read",
                     object_type="prescription_request", object_id=str(rx.pk), request=request)
        return Response(prescriber_detail(rx, allergies=allergies, current=current))


class ProviderApproveView(ApiView):
    access = Access.STAFF

    @extend_schema(request=ApproveInput, responses={200: dict}, summary="Approve (issue, sign, route)")
    def post(self, request: Request, request_id) -> Response:
        data = valid(ApproveInput, request.data)
        rx, outcome = approval.approve(doctor=request.user, request_id=request_id, medications=data["medications"],
                                       clinical_notes=data["clinical_notes"], request=request)
        return Response({"success": True, "message": MESSAGES[outcome], "outcome": outcome,
                         "request_reference": rx.reference, "status": rx.status,
                         "awaiting_second_approval": outcome == "first_approval",
                         "prescription_id": str(rx.prescription_id) if rx.prescription_id else None})


class ProviderRejectView(ApiView):
    access = Access.STAFF

    @extend_schema(request=RejectInput, responses={200: dict}, summary="Reject a request (or cancel an escalated one)")
    def post(self, request: Request, request_id) -> Response:
        data = valid(RejectInput, request.data)
        rx = approval.reject(doctor=request.user, request_id=request_id, reason=data["reason"],
                             requires_follow_up=data["requires_follow_up"], request=request)
        return Response({"success": True, "message": "Request rejected; the patient has been told.",
                         "request_reference": rx.reference, "status": rx.status})


class ProviderApproveNoSlashView(ProviderApproveView):
    """``…/approve`` as the frontend posts it; documented once, under ``…/approve/``."""

    @extend_schema(exclude=True)
    def post(self, request: Request, request_id) -> Response:
        return super().post(request, request_id)


class ProviderRejectNoSlashView(ProviderRejectView):
    @extend_schema(exclude=True)
    def post(self, request: Request, request_id) -> Response:
        return super().post(request, request_id)
