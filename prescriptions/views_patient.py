"""Patients' prescription endpoints and the pharmacy QR endpoints (contract §6.3)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.throttles import client_ip, hit
from appointments.presenters import medication_payload
from pharmacies.presenters import pharmacy_summary
from phb.api import pagination
from phb.api.access import Access
from phb.api.views import ApiView
from prescriptions import dispensing, requests, selectors, signing
from prescriptions.inputs import DispenseInput, RequestInput, StatusQuery, UpdateStatusInput, VerifyInput, valid
from prescriptions.models import SignedItem
from prescriptions.presenters import item_status, request_payload, signed_fields
from records.audit import audit_record

VERIFY_RATE = "120/60"  # per client IP: verification answers say whether a token exists


class PrescriptionRequestsView(ApiView):
    access = Access.OWN

    @extend_schema(parameters=[StatusQuery, *pagination.PARAMETERS], responses={200: dict},
                   summary="The patient's prescription requests (paged)",
                   description="Newest first; `total_count` counts every request of the list (of `status` when "
                               "given). " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        q = valid(StatusQuery, request.query_params)
        qs = selectors.requests_of_patient(fetched_by=request.user, status=q["status"])
        page = pagination.paginate(request, qs, spec=pagination.PRESCRIPTION_REQUESTS)
        total = pagination.total_of(page, qs)
        items = [request_payload(r) for r in page.items]
        audit_record(actor=request.user, patient=request.user, action="prescription_requests_listed",
                     object_type="prescription_request", object_id="", request=request)
        return page.response({"status": "success", "requests": items, "total_count": total})

    @extend_schema(request=RequestInput, responses={201: dict}, summary="Request a prescription")
    def post(self, request: Request) -> Response:
        data = valid(RequestInput, request.data)
        rx = requests.request_create(
            patient=request.user, medications=data["medications"], request_type=data["request_type"],
            urgency=data["urgency"], additional_notes=data["additional_notes"],
            pharmacy_id=data.get("nominated_pharmacy_id"), request=request)
        where = requests.routing_note(rx_request=rx)
        body = {**request_payload(rx), "pharmacy": pharmacy_summary(rx.pharmacy),
                "message": " ".join(filter(None, [f"Your request {rx.reference} was sent to your GP practice "
                                                  "for review.", where]))}
        return Response(body, status=201)


def _item(request: Request, prescription_id: str) -> SignedItem:
    item = selectors.item_of_patient(fetched_by=request.user, item_ref=prescription_id)
    if item is None:
        raise NotFound("Prescription not found.")
    return item


def _item_body(item: SignedItem, *, ordered: bool = False) -> dict:
    prescription = item.prescription
    medication = next((m for m in prescription.medications or []
                       if str(m.get("id") or prescription.pk) == item.medication_id), {})
    return {**medication_payload(prescription, medication, appointment=prescription.appointment),
            **signed_fields(item), "status": item_status(item, ordered=ordered),
            "collected_at": item.collected_at.isoformat() if item.collected_at else None,
            "completed_at": item.completed_at.isoformat() if item.completed_at else None}


class PrescriptionDetailView(ApiView):
    access = Access.OWN

    @extend_schema(responses={200: dict}, operation_id="prescriptions_detail", summary="One prescribed medication of the patient")
    def get(self, request: Request, prescription_id: str) -> Response:
        item = _item(request, prescription_id)
        audit_record(actor=request.user, patient=request.user, action="prescription_read", object_type="signed_item",
                     object_id=str(item.pk), request=request)
        ordered = item.medication_id in selectors.ordered_medication_ids(patient_ids=[request.user.pk])
        return Response(_item_body(item, ordered=ordered))


class PrescriptionOrderView(ApiView):
    access = Access.OWN

    @extend_schema(request=None, responses={201: dict, 200: dict}, summary="Order a repeat of this medication",
                   description="Idempotent per medication: while a request of the patient naming this medication is "
                               "open (`REQUESTED` or `APPROVED`), the answer is that request (200) and nothing is "
                               "created; otherwise a repeat request is created (201).")
    def post(self, request: Request, prescription_id: str) -> Response:
        item = _item(request, prescription_id)
        rx, created = requests.order_repeat(patient=request.user, item=item, request=request)
        message = f"Repeat requested ({rx.reference})." if created else f"Repeat already requested ({rx.reference})."
        return Response({**request_payload(rx), "status": rx.status, "message": message},
                        status=201 if created else 200)


class PrescriptionUpdateStatusView(ApiView):
    access = Access.OWN

    @extend_schema(request=UpdateStatusInput, responses={200: dict}, summary="Mark collected or completed")
    def post(self, request: Request, prescription_id: str) -> Response:
        data = valid(UpdateStatusInput, request.data)
        item = _item(request, prescription_id)
        if data["status"] == "collected":
            item = requests.mark_collected(patient=request.user, item=item, request=request)
            message = "Marked as collected."
        else:
            item = requests.mark_completed(patient=request.user, item=item, request=request)
            message = "Course marked as completed."
        return Response({**_item_body(item), "id": item.medication_id, "status": data["status"], "message": message})


class PrescriptionCompleteView(ApiView):
    access = Access.OWN

    @extend_schema(request=None, responses={200: dict}, summary="Mark the course completed")
    def post(self, request: Request, prescription_id: str) -> Response:
        item = requests.mark_completed(patient=request.user, item=_item(request, prescription_id), request=request)
        return Response({**_item_body(item), "status": "completed", "message": "Course marked as completed."})


class VerifyView(APIView):
    """Anyone holding the QR code may verify it (the frontend sends no credentials); the answer
    carries only what the signed payload already shows, plus its dispensing state."""

    access = Access.PUBLIC
    permission_classes = [AllowAny]

    @extend_schema(request=VerifyInput, responses={200: dict}, summary="Verify a signed prescription")
    def post(self, request: Request) -> Response:
        hit(scope="rx_verify", ident=client_ip(request._request), rate=VERIFY_RATE)
        data = valid(VerifyInput, request.data)
        result = dispensing.verify(payload=data["payload"], signature=data["signature"], caller=request.user,
                                   request=request)
        return Response(result.payload())


class DispenseView(ApiView):
    access = Access.STAFF

    @extend_schema(request=DispenseInput, responses={200: dict}, summary="Dispense a signed prescription once")
    def post(self, request: Request) -> Response:
        data = valid(DispenseInput, request.data)
        item = dispensing.dispense(
            pharmacist=request.user, prescription_id=data["prescription_id"], nonce=data["nonce"],
            pharmacy_code=data["pharmacy_code"], pharmacist_name=data["pharmacist_name"],
            notes=data["verification_notes"], payload=data.get("payload"), signature=data.get("signature"),
            request=request)
        return Response({"success": True, "message": "Dispensed.", "details": {
            "prescription_id": item.payload.get("id"), "medication": item.payload.get("medication"),
            "dispensed_at": item.dispensed_at.isoformat().replace("+00:00", "Z"),
            "dispensed_by": item.dispensed_at_pharmacy.name, "pharmacist_name": item.pharmacist_name}})


class SigningKeyView(APIView):
    access = Access.PUBLIC

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: dict}, summary="The public key that verifies signed prescriptions")
    def get(self, request: Request) -> Response:
        return Response({"algorithm": "ECDSA_SHA_256", "curve": "P-256", "public_key_pem": signing.public_key_pem(),
                         "message": "Signature over the payload as JSON with sorted keys and no spaces (UTF-8)."})
