"""A pharmacist finds a patient's prescriptions routed to her pharmacy by HPN."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from phb.api.access import Access
from phb.api.views import ApiView
from prescriptions import pharmacy_search
from records.audit import audit_record


class PharmacyPrescriptionSearchView(ApiView):
    access = Access.STAFF

    @extend_schema(
        parameters=[OpenApiParameter("hpn", str, required=True, pattern=pharmacy_search.HPN_PATTERN,
                                     description="the patient's HPN (spaces allowed)"),
                    OpenApiParameter("status", str, enum=list(pharmacy_search.STATUSES),
                                     description="active (default), completed, discontinued or all")],
        responses={200: dict}, summary="A pharmacy's prescriptions for one patient, by HPN",
    )
    def get(self, request: Request) -> Response:
        result = pharmacy_search.search(pharmacist=request.user, hpn=request.query_params.get("hpn"),
                                        status=request.query_params.get("status"))
        audit_record(actor=request.user, patient=result.patient, action="prescription_search",
                     object_type="patient", object_id=str(result.patient.pk), request=request)
        return Response(pharmacy_search.result_payload(result, pharmacist=request.user))
