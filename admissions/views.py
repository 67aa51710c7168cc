"""Admissions API: the calls of the hospital-admin admissions page, its modals and dashboard.

Staff (doctors and hospital admins) of a hospital act on that hospital's admissions; a patient
reads her own (list and detail, the patient shape). Anything else is a 404.
"""

from __future__ import annotations

import logging
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status as http
from rest_framework.request import Request
from rest_framework.response import Response

from admissions import beds, presenters, selectors, services
from admissions.audit import audit_admission, audit_admission_list
from admissions.models import WARD_MAX_BEDS, Admission, Bed
from admissions.serializers import (
    MAX_ID,
    AdmissionAdmitInput,
    AdmissionBedStatusInput,
    AdmissionCancelInput,
    AdmissionCreateInput,
    AdmissionDischargeInput,
    AdmissionLinkPatientInput,
    AdmissionListInput,
    AdmissionPatchInput,
    AdmissionTransferInput,
    EmergencyAdmissionInput,
)
from phb.api import pagination
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.schema import JSON_ARRAY
from phb.api.serializers import validated
from phb.api.views import ApiView, ScopedAPIView
from phb.numbers import whole_number

logger = logging.getLogger(__name__)


def _not_found() -> ApiError:
    return ApiError("Not found.", status_code=404, code="not_found")


def _staff_hospital(request: Request, hospital_ref: int | None = None):
    hospital = selectors.staff_hospital_of(user=request.user)
    if hospital is None or (hospital_ref is not None and hospital_ref != hospital.pk):
        raise _not_found()
    return hospital


def _lookup(admission_ref: str) -> dict[str, Any]:
    number = whole_number(admission_ref)
    if number is not None and number <= MAX_ID:
        return {"pk": number}
    return {"admission_id": admission_ref.upper()[:24]}


class AdmissionListView(ApiView):
    """``GET``: a bare array, newest first, paged (the page reads an array or ``results``).
    ``POST``: a registered patient."""

    access = Access.OWN | Access.STAFF

    @extend_schema(parameters=[AdmissionListInput, pagination.PARAMETERS[1]], responses={200: JSON_ARRAY},
                   summary="Admissions: list (bare array, paged)", operation_id="admissions_list",
                   description="Newest first; `limit` 1 to 1000, 500 by default. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        data = validated(AdmissionListInput, request.query_params)
        found = selectors.admission_list(fetched_by=request.user, status=data["status"], since=data["since"])
        page = pagination.paginate(request, found.rows, spec=found.spec, columns=found.columns, partition=found.parts)
        if not page.items and not request.user.is_patient and selectors.staff_hospital_of(user=request.user) is None:
            raise _not_found()
        # The whole list is this page (no cursor, no next one): its rows are the total, uncounted.
        whole = not page.has_more and not request.query_params.get("cursor")
        page.total = len(page.items) if whole else found.total()
        admissions = selectors.admissions_by_id([row["id"] for row in page.items])
        audit_admission_list(actor=request.user, admissions=admissions, request=request)
        shape = presenters.admission_for_patient if request.user.is_patient else presenters.admission_for_staff
        return page.response([shape(a) for a in admissions])

    @extend_schema(request=AdmissionCreateInput, responses={201: dict}, summary="Admissions: admit a registered patient")
    def post(self, request: Request) -> Response:
        data = validated(AdmissionCreateInput, request.data)
        hospital = _staff_hospital(request, data["hospital_ref"])
        admission = services.admission_create(actor=request.user, hospital=hospital, request=request, new=services.NewAdmission(
            patient_ref=data["patient"], department_id=data["department"], attending_doctor_id=data["attending_doctor"],
            reason_for_admission=data["reason_for_admission"], diagnosis=data["diagnosis"], priority=data["priority"],
            admission_type=data["admission_type"], requires_icu=data["is_icu_bed"],
            expected_discharge_date=data["expected_discharge_date"], staff_notes=data["additional_notes"],
            assign_bed=data["assign_bed"], bed_ref=data["bed_ref"],
        ))
        return _created(admission)


def _created(admission: Admission) -> Response:
    body = presenters.admission_for_staff(admission)
    message = (f"Patient admitted to bed {body['bed_identifier']}." if body["bed_identifier"]
               else "Admission created as pending.")
    return Response({**body, "admission": body, "message": message, "status_text": "success"},
                    status=http.HTTP_201_CREATED)


class EmergencyAdmissionView(ApiView):
    access = Access.STAFF

    @extend_schema(request=EmergencyAdmissionInput, responses={201: dict},
                   summary="Admissions: emergency admission of an unregistered person")
    def post(self, request: Request) -> Response:
        data = validated(EmergencyAdmissionInput, request.data)
        hospital = _staff_hospital(request, data["hospital_ref"])
        details = data["temp_patient_details"]
        admission = services.admission_create(actor=request.user, hospital=hospital, request=request, new=services.NewAdmission(
            temp_patient_details=details, department_id=data["department_id"],
            attending_doctor_id=data["attending_doctor_id"], reason_for_admission=data["reason_for_admission"],
            diagnosis=data["diagnosis"], priority=data["priority"], admission_type=data["admission_type"],
            requires_icu=data["is_icu_bed"], expected_discharge_date=data["expected_discharge_date"],
            staff_notes=data["additional_notes"], assign_bed=data["assign_bed"], bed_ref=data["bed_ref"],
        ))
        return _created(admission)


class _AdmissionView(ScopedAPIView):
    """One admission, looked up by ``id`` or ``admission_id`` inside the caller's scope. Writes are
    for staff only (a patient's own admission is a 404 to her writes)."""

    access = Access.OWN | Access.STAFF

    def scoped_queryset(self, user):
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return selectors.admissions_visible_to(fetched_by=user)
        return selectors.admissions_for_staff(fetched_by=user)

    def admission(self, request: Request, admission_ref: str) -> Admission:
        return self.get_scoped_object(request, **_lookup(admission_ref))


class AdmissionDetailView(_AdmissionView):
    @extend_schema(responses={200: dict}, summary="Admissions: one admission")
    def get(self, request: Request, admission_ref: str) -> Response:
        admission = self.admission(request, admission_ref)
        audit_admission(actor=request.user, admission=admission, action="read", request=request)
        if request.user.is_patient:
            return Response(presenters.admission_for_patient(admission))
        body = presenters.admission_for_staff(admission)
        body["bed_history"] = selectors.bed_history(admission=admission)
        return Response(body)

    @extend_schema(request=AdmissionPatchInput, responses={200: dict}, summary="Admissions: edit (and move, admit, discharge)")
    def patch(self, request: Request, admission_ref: str) -> Response:
        admission = self.admission(request, admission_ref)
        changes = validated(AdmissionPatchInput, request.data)
        updated = services.admission_update(actor=request.user, admission=admission, changes=changes, request=request)
        return _reloaded(updated, "Admission updated.")


def _reloaded(admission: Admission, message: str) -> Response:
    fresh = selectors._base().get(pk=admission.pk)
    return Response({**presenters.admission_for_staff(fresh), "message": message})


class AdmitView(_AdmissionView):
    access = Access.STAFF

    @extend_schema(request=AdmissionAdmitInput, responses={200: dict}, summary="Admissions: admit a pending admission into a bed")
    def post(self, request: Request, admission_ref: str) -> Response:
        admission = self.admission(request, admission_ref)
        data = validated(AdmissionAdmitInput, request.data)
        done = services.admission_admit(actor=request.user, admission=admission, request=request,
                                        bed_ref=data["bed_id"] or data["bed_identifier"] or None,
                                        admitted_at=data["admitted_at"])
        return _reloaded(done, "Patient admitted.")


class TransferView(_AdmissionView):
    access = Access.STAFF

    @extend_schema(request=AdmissionTransferInput, responses={200: dict}, summary="Admissions: move to another bed")
    def post(self, request: Request, admission_ref: str) -> Response:
        admission = self.admission(request, admission_ref)
        data = validated(AdmissionTransferInput, request.data)
        done = services.admission_transfer(actor=request.user, admission=admission, request=request,
                                           bed_ref=data["bed_id"] or data["bed_identifier"] or None,
                                           icu=data["is_icu_bed"])
        return _reloaded(done, "Patient moved.")


class DischargeView(_AdmissionView):
    access = Access.STAFF

    @extend_schema(request=AdmissionDischargeInput, responses={200: dict}, summary="Admissions: discharge")
    def post(self, request: Request, admission_ref: str) -> Response:
        admission = self.admission(request, admission_ref)
        data = validated(AdmissionDischargeInput, request.data)
        done = services.admission_discharge(actor=request.user, admission=admission, request=request, **data)
        return _reloaded(done, "Patient discharged.")


class CancelView(_AdmissionView):
    access = Access.STAFF

    @extend_schema(request=AdmissionCancelInput, responses={200: dict}, summary="Admissions: cancel a pending admission")
    def post(self, request: Request, admission_ref: str) -> Response:
        admission = self.admission(request, admission_ref)
        data = validated(AdmissionCancelInput, request.data)
        done = services.admission_cancel(actor=request.user, admission=admission, reason=data["reason"], request=request)
        return _reloaded(done, "Admission cancelled.")


class LinkPatientView(_AdmissionView):
    access = Access.STAFF

    @extend_schema(request=AdmissionLinkPatientInput, responses={200: dict},
                   summary="Admissions: link an emergency admission to the patient's account")
    def post(self, request: Request, admission_ref: str) -> Response:
        admission = self.admission(request, admission_ref)
        data = validated(AdmissionLinkPatientInput, request.data)
        done = services.admission_link_patient(actor=request.user, admission=admission,
                                               patient_ref=data["patient_ref"], request=request)
        return _reloaded(done, "Admission linked to the patient's record.")


class DashboardView(ApiView):
    access = Access.STAFF

    @extend_schema(responses={200: dict}, summary="Admissions: the hospital's inpatient figures")
    def get(self, request: Request) -> Response:
        figures = selectors.dashboard(fetched_by=request.user)
        if figures is None:
            raise _not_found()
        departments: dict[int, dict[str, Any]] = {}
        for ward in figures.wards:
            dept = departments.setdefault(ward["department_id"], {
                "department_id": ward["department_id"], "department_name": ward["department_name"],
                **dict.fromkeys(selectors.ZERO_BEDS, 0)})
            for key in selectors.ZERO_BEDS:
                dept[key] += ward[key]
        by_department = [selectors.with_rates(d) | {"department_id": d["department_id"],
                                                    "department_name": d["department_name"]}
                         for d in departments.values()]
        totals = selectors.with_rates({k: sum(w[k] for w in figures.wards) for k in selectors.ZERO_BEDS})
        return Response({
            "date": figures.today.isoformat(),
            **figures.counts,
            "average_length_of_stay_days": figures.average_length_of_stay_days,
            "beds": totals,
            "occupancy_by_department": by_department,
            "occupancy_by_ward": figures.wards,
        })


def _ward(ward) -> dict[str, Any]:
    beds = ward.listed_beds
    if len(beds) > WARD_MAX_BEDS:
        logger.warning("ward over its bed limit", extra={"event": "ward_over_bed_limit", "ward_id": ward.pk,
                                                         "limit": WARD_MAX_BEDS})
    return {
        "id": ward.pk, "name": ward.name, "code": ward.code, "ward_type": ward.ward_type, "floor": ward.floor,
        "wing": ward.wing, "is_active": ward.is_active, "is_icu": ward.is_icu,
        "department": ward.department_id, "department_name": ward.department.name,
        "beds": [{"id": b.pk, "number": b.number, "bed_identifier": f"{ward.code}-{b.number}", "status": b.status,
                  "features": b.features} for b in beds[:WARD_MAX_BEDS]],
    }


class WardListView(ApiView):
    access = Access.STAFF

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: JSON_ARRAY},
                   summary="Admissions: wards and their beds (bare array, paged)",
                   description=f"By department, then name; 50 wards by default, at most 100. Each ward carries all "
                               f"its beds (a ward holds at most {WARD_MAX_BEDS}). " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        hospital = _staff_hospital(request)
        page = pagination.paginate(request, selectors.wards_of(hospital=hospital), spec=pagination.ADMISSION_WARDS)
        return page.response([_ward(w) for w in page.items])


class BedStatusView(ScopedAPIView):
    access = Access.STAFF

    def scoped_queryset(self, user):
        hospital = selectors.staff_hospital_of(user=user)
        return Bed.objects.filter(ward__hospital=hospital) if hospital else Bed.objects.none()

    @extend_schema(request=AdmissionBedStatusInput, responses={200: dict},
                   summary="Admissions: mark a bed available, reserved, cleaning or out of service")
    def post(self, request: Request, bed_id: int) -> Response:
        if bed_id > MAX_ID:
            raise _not_found()
        bed = self.get_scoped_object(request, pk=bed_id)
        data = validated(AdmissionBedStatusInput, request.data)
        done = beds.set_status(bed=bed, status=data["status"])
        return Response({"id": done.pk, "bed_identifier": done.identifier, "status": done.status,
                         "message": f"Bed {done.identifier} is {done.get_status_display().lower()}."})
