"""Doctor endpoints (D1–D16): the department queue, the doctor's appointments and their actions
(accept, start, complete, notes, no-show, prescriptions, referral).

Each view parses input, then calls a selector (reads, scoped to the caller) or a service
(writes). An appointment outside the caller's scope is a 404 for every endpoint.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from appointments import doctor_queue, rows, selectors, services, slot_grid
from appointments.models import Appointment
from appointments.presenters import (
    appointment_detail_payload,
    appointment_payload,
    doctor_appointment_payload,
    doctor_contact_payload,
    doctor_detail_nested,
    medication_payload,
)
from appointments.serializers import (
    PROPOSED_TIME_HELP,
    AcceptInput,
    CompleteInput,
    NoShowInput,
    NotesEditInput,
    NotesInput,
    PrescriptionInput,
    QueueInput,
    ReferInput,
    StatusInput,
)
from appointments.view_base import (
    REF_PARAM,
    ClinicalAppointmentView,
    DefaultHospital,
    DoctorAppointmentView,
    local_day_range,
    ok_response,
)
from hospitals.selectors import staff_of
from phb.api import pagination
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.schema import JSON_ARRAY
from phb.api.serializers import validated
from phb.api.views import ApiView, ScopedAPIView


# --- Doctor --------------------------------------------------------------------------------------
class DepartmentQueueView(ApiView):
    access = Access.STAFF

    @extend_schema(parameters=[QueueInput, *pagination.PARAMETERS], responses={200: dict},
                   summary="D1 department queue and my appointments (both lists paged)",
                   description="`start_date`/`end_date` are the hospital's local calendar days. Each list "
                               "(`pending_department_appointments`, `my_appointments.all`) holds up to `limit` "
                               "rows: from the start of today forward, then earlier ones most recent first; "
                               "a page lists its rows earliest first. `my_appointments`' status groups are "
                               "those of `all`. One `X-Next-Cursor` (and `Link` rel=next) continues both "
                               "lists; a list with no more rows is `[]` on later pages. The `summary` counts "
                               "every row, on every page.")
    def get(self, request: Request) -> Response:
        data = validated(QueueInput, request.query_params)
        user = request.user
        staff = staff_of(user=user) if user.is_doctor else None
        if staff is None:
            raise ApiError("Only doctors have a department queue.", status_code=403, code="not_a_doctor")
        zone = slot_grid.hospital_zone(staff.hospital)
        start, end = local_day_range(data.get("start_date"), data.get("end_date"), zone)
        scope = selectors.appointments_for_doctor(fetched_by=user, staff=staff)
        limit = pagination.page_size(request, pagination.DOCTOR_APPOINTMENTS)
        department_pending = selectors.department_pending(fetched_by=user, staff=staff)
        pending_qs = None
        if department_pending is not None:
            pending_qs = selectors.appointment_filter(department_pending, priority=data.get("priority", ""),
                                                      start_from=start, start_before=end)
        mine_qs = selectors.appointment_filter(
            scope.filter(doctor_id=data.get("doctor_id") or user.pk),
            status=data.get("status", ""), priority=data.get("priority", ""), start_from=start, start_before=end,
        )
        page = doctor_queue.queue_page(pending=pending_qs, mine=mine_qs,
                                       cursor=request.query_params.get("cursor"), zone=zone, limit=limit)
        mine = page.mine
        pending_total = pending_qs.order_by().count() if pending_qs is not None else 0
        keys = selectors.DASHBOARD_STATUSES
        groups = {key: [a for a in mine if a["status"] == key] for key in keys}
        by_status = dict(mine_qs.order_by().values_list("status").annotate(n=Count("id")))
        counts = {key: by_status.get(key, 0) for key in keys}
        mine_total = sum(by_status.values())
        department = staff.department
        paging = pagination.Page(items=mine, limit=limit, next_cursor=page.next_cursor, request=request)
        return paging.response(
            {
                "status": "success",
                "pending_department_appointments": page.pending,
                "my_appointments": {**groups, "all": mine},
                "doctor_info": {
                    "id": str(user.pk),
                    "name": user.full_name,
                    "email": user.email,
                    "specialization": staff.specialization,
                    "hospital": {"id": staff.hospital_id, "name": staff.hospital.name},
                    "department": {"id": staff.department_id, "name": department.name if department else ""},
                    "hospital_id": staff.hospital_id,
                    "hospital_name": staff.hospital.name,
                    "department_id": staff.department_id,
                    "department_name": department.name if department else "",
                },
                "summary": {
                    **selectors.doctor_dashboard_summary(
                        fetched_by=user, staff=staff, now=timezone.now(), zone=zone,
                        # Unfiltered, the pending list is the department's whole queue: counted once.
                        pending_department=None if data.get("priority") or start or end else pending_total),
                    # The counts of the lists in this answer (after its filters; every row, not the page).
                    "pending_count": pending_total,
                    **{f"{key}_count": n for key, n in counts.items()},
                    "total_my_appointments": mine_total,
                },
            },
        )


class DoctorAppointmentListView(ScopedAPIView):
    access = Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[Appointment]:
        return selectors.appointments_for_doctor(fetched_by=user)

    @extend_schema(parameters=[QueueInput, *pagination.PARAMETERS], responses={200: JSON_ARRAY},
                   summary="D2 doctor's appointments (bare array, paged)", operation_id="doctor_appointments_list",
                   description="Earliest first. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        data = validated(QueueInput, request.query_params)
        staff = staff_of(user=request.user)
        zone = slot_grid.hospital_zone(staff.hospital) if staff else slot_grid.hospital_zone(DefaultHospital())
        start, end = local_day_range(data.get("start_date"), data.get("end_date"), zone)
        qs = selectors.appointment_filter(
            selectors.appointments_for_doctor(fetched_by=request.user, staff=staff),
            status=data.get("status", ""), priority=data.get("priority", ""),
            doctor_id=data.get("doctor_id"), start_from=start, start_before=end,
        )
        page = pagination.paginate(request, qs, spec=pagination.DOCTOR_APPOINTMENTS, columns=rows.DOCTOR_COLUMNS,
                                   partition=selectors.doctor_partition(fetched_by=request.user, staff=staff))
        return page.response([rows.doctor_item(r) for r in page.items])


class DoctorAppointmentDetailView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], responses={200: dict}, summary="D3 appointment (doctor view)")
    def get(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        prescriptions = list(selectors.prescriptions_of_appointment(appointment=appointment))
        body = {**appointment_detail_payload(appointment, prescriptions), **doctor_appointment_payload(appointment),
                **doctor_contact_payload(appointment)}
        body["prescriptions"] = [medication_payload(p, m, appointment=appointment)
                                 for p in prescriptions for m in p.medications]
        body.update(doctor_detail_nested(body))
        return Response(body)


class DoctorStatusView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=StatusInput, responses={200: dict},
                   summary="D4 change status (one state machine; illegal transitions are 409)")
    def patch(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = validated(StatusInput, request.data)
        appointment = services.appointment_set_status(
            appointment=appointment, doctor=request.user, status=data["status"], notes=data["notes"],
            medical_summary=data["medical_summary"], reason=data["cancellation_reason"],
        )
        return ok_response(f"Appointment {appointment.status.replace('_', ' ')}.", appointment)


class AcceptView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=AcceptInput, responses={200: dict},
                   summary="D5 accept (assigns the accepting doctor)",
                   description="`proposed_time` (optional) moves the appointment first. " + PROPOSED_TIME_HELP)
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = validated(AcceptInput, request.data)
        proposed = data.get("proposed_time")
        if proposed is not None and timezone.is_aware(proposed):  # an instant: on the hospital's clock
            proposed = slot_grid.wall_clock_of(proposed, appointment.hospital)
        appointment = services.appointment_accept(appointment=appointment, doctor=request.user,
                                                  proposed_time=proposed)
        return ok_response("Appointment accepted.", appointment)


class StartView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=None, responses={200: dict}, summary="D6 start consultation")
    def post(self, request: Request, ref: str) -> Response:
        appointment = services.appointment_start(appointment=self.get_appointment(request, ref), doctor=request.user)
        return ok_response("Consultation started.", appointment)


class CompleteView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=CompleteInput, responses={200: dict},
                   summary="D7 complete consultation (a medical summary is required)",
                   description="`medical_summary` (object with diagnosis, treatment, follow_up, notes, "
                               "vital_signs) or, failing that, `notes` becomes the summary.")
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = validated(CompleteInput, request.data)
        summary = data["medical_summary"] if data["medical_summary"] not in (None, "", {}) else data["notes"]
        appointment = services.appointment_complete(appointment=appointment, doctor=request.user,
                                                    medical_summary=summary, notes=data["notes"])
        return ok_response("Consultation completed.", appointment)


class AddNotesView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=NotesInput, responses={200: dict}, summary="D8 add notes")
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = validated(NotesInput, request.data)
        appointment = services.notes_add(appointment=appointment, doctor=request.user, notes=data["notes"])
        return ok_response("Notes added.", appointment)


class NoShowView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=NoShowInput, responses={200: dict}, summary="D10 no-show")
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = validated(NoShowInput, request.data)
        appointment = services.appointment_no_show(appointment=appointment, doctor=request.user, notes=data["notes"])
        return ok_response("Marked as no-show.", appointment)


class PrescriptionCreateView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=PrescriptionInput, responses={201: dict},
                   summary="D11 issue a prescription")
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = validated(PrescriptionInput, request.data)
        prescription = services.prescription_issue(appointment=appointment, prescriber=request.user,
                                                   medications=data["medications"], notes=data["notes"])
        prescription.appointment = appointment
        return Response(
            {
                "status": "success",
                "message": "Prescription issued.",
                "prescription_id": str(prescription.id),
                "appointment_id": appointment.appointment_id,
                "medication_count": len(prescription.medications),
                "medications": [medication_payload(prescription, m, appointment=appointment)
                                for m in prescription.medications],
            },
            status=201,
        )


class PrescriptionViewView(ClinicalAppointmentView):
    @extend_schema(parameters=[REF_PARAM], responses={200: dict}, summary="D12 prescriptions of an appointment")
    def get(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        prescriptions = list(selectors.prescriptions_of_appointment(appointment=appointment))
        medications = [medication_payload(p, m, appointment=appointment) for p in prescriptions for m in p.medications]
        item = appointment_payload(appointment)
        return Response(
            {
                "status": "success",
                "appointment_id": appointment.appointment_id,
                "patient_name": appointment.patient.full_name,
                "doctor_name": item["doctor_full_name"],
                "appointment_date": item["appointment_date"],
                "medication_count": len(medications),
                "medications": medications,
            }
        )


class NotesView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], responses={200: dict}, summary="D13 notes")
    def get(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        return Response(_notes_body(appointment))


def _notes_body(appointment: Appointment) -> dict:
    return {
        "status": "success",
        "appointment_id": appointment.appointment_id,
        "general_notes": appointment.general_notes,
        "notes": appointment.general_notes,  # the notes tab reads the general notes as ``notes``
        "doctor_notes": appointment.doctor_notes,
        "medical_summary": appointment.medical_summary,
        "updated_at": appointment.updated_at.isoformat(),
    }


class NotesEditView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=NotesEditInput, responses={200: dict}, summary="D14 edit notes")
    def put(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = validated(NotesEditInput, request.data)
        appointment = services.notes_edit(appointment=appointment, doctor=request.user,
                                          general_notes=data.get("general_notes"),
                                          doctor_notes=data.get("doctor_notes"))
        return Response({**_notes_body(appointment), "message": "Notes updated."})


class NotesDeleteView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=None, responses={200: dict}, summary="D15 delete notes")
    def delete(self, request: Request, ref: str) -> Response:
        appointment = services.notes_clear(appointment=self.get_appointment(request, ref), doctor=request.user)
        return Response({**_notes_body(appointment), "message": "Notes deleted."})


class ReferView(DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=ReferInput, responses={200: dict}, summary="D16 refer")
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = validated(ReferInput, request.data)
        appointment = services.appointment_refer(
            appointment=appointment, doctor=request.user, hospital_id=data.get("referred_to_hospital"),
            department_id=data.get("referred_to_department"), reason=data["referral_reason"],
        )
        return ok_response("Referral recorded.", appointment)
