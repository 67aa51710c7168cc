"""Appointment endpoints: patient (P3–P5, M5, M6, cancel, reschedule, slots), doctor (D1–D16),
hospital admin (O1) and the patient's prescriptions.

Each view parses input, then calls a selector (reads, scoped to the caller) or a service
(writes). An appointment outside the caller's scope is a 404 for every endpoint.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from appointments import booking, rows, selectors, services
from appointments.models import LIVE_STATUSES, Appointment, AppointmentStatus
from appointments.scheduler.recommend import recommended_start_of_day
from appointments.serializers import (
    WALL_CLOCK_HELP,
    AcceptInput,
    AdminListInput,
    BookInput,
    CancelInput,
    CompleteInput,
    ConflictInput,
    NoShowInput,
    NotesEditInput,
    NotesInput,
    PrescriptionInput,
    QueueInput,
    ReferInput,
    RescheduleInput,
    SlotsInput,
    StatusInput,
    admin_appointment_payload,
    appointment_detail_payload,
    appointment_payload,
    doctor_appointment_payload,
    medication_payload,
    summary_payload,
)
from hospitals.models import Department
from hospitals.selectors import admin_hospital_of, primary_registration_of, staff_of
from phb.api import pagination
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.schema import JSON_ARRAY
from phb.api.views import ApiView, ScopedAPIView

REF_PARAM = OpenApiParameter(
    "ref", OpenApiTypes.STR, OpenApiParameter.PATH,
    description="The appointment's UUID `id` or its human reference `appointment_id` (e.g. APT-7K3F9Q2M).",
)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _ok(message: str, appointment: Appointment, *, doctor_view: bool = True, status: int = 200, **extra) -> Response:
    payload = doctor_appointment_payload(appointment) if doctor_view else appointment_payload(appointment)
    return Response({"status": "success", "message": message, "appointment": payload, **extra}, status=status)


class _AppointmentView(ScopedAPIView):
    """Looks appointments up by either id inside ``scoped_queryset``."""

    def get_appointment(self, request: Request, ref: str) -> Appointment:
        return self.get_scoped_object(request, **selectors.ref_lookup(ref))


class _VisibleAppointmentView(_AppointmentView):
    access = Access.OWN | Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[Appointment]:
        return selectors.appointments_visible_to(fetched_by=user)


class _ActionableAppointmentView(_AppointmentView):
    access = Access.OWN | Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[Appointment]:
        return selectors.appointments_actionable_by(fetched_by=user)


class _DoctorAppointmentView(_AppointmentView):
    access = Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[Appointment]:
        return selectors.appointments_for_doctor(fetched_by=user)


# --- Patient -------------------------------------------------------------------------------------
class AppointmentListView(ScopedAPIView):
    """P3 / M5: a bare array. Also books directly when no payment is due (see ``post``)."""

    access = Access.OWN | Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[Appointment]:
        return selectors.appointments_visible_to(fetched_by=user)

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: JSON_ARRAY}, operation_id="appointments_list",
                   summary="P3/M5 my appointments (bare array, paged)",
                   description="Newest first. `appointment_date` carries the hospital's UTC offset. "
                               + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        qs = self.scoped_queryset(request.user)
        if request.user.is_patient:
            page = pagination.paginate(request, qs, spec=pagination.APPOINTMENTS, columns=rows.PATIENT_COLUMNS)
            return page.response([rows.patient_item(r) for r in page.items])
        page = pagination.paginate(request, qs, spec=pagination.APPOINTMENTS, columns=rows.DOCTOR_COLUMNS)
        return page.response([rows.doctor_item(r) for r in page.items])

    @extend_schema(
        request=BookInput,
        responses={201: dict},
        operation_id="appointments_book_without_payment",
        summary="Book without payment (payments switched off)",
        description=(
            "Books an appointment straight away when payments are switched off (`PAYMENTS_ENABLED=false`). "
            "With payments on, booking starts at `POST /api/payments/initialize/`, which uses the same "
            "booking service. The fee is always computed on the server. `appointment_date`: " + WALL_CLOCK_HELP
        ),
    )
    def post(self, request: Request) -> Response:
        if settings.PAYMENTS_ENABLED:
            raise ApiError(
                "Bookings start with payment: use POST /api/payments/initialize/.",
                status_code=409, code="payment_required",
            )
        data = _valid(BookInput, request.data)
        hold = booking.hold_create(
            patient=request.user,
            hospital_id=data["hospital_id"],
            department_id=data["department_id"],
            start_local=data["appointment_date"],
            priority=data["priority"],
            appointment_type=data["appointment_type"],
            details={key: data[key] for key in booking.DETAIL_FIELDS},
        )
        appointment = booking.hold_confirm(hold_id=hold.id, payment_reference=None)
        return Response(
            {"status": "success", "message": "Appointment booked.", "appointment_id": appointment.appointment_id,
             "appointment": appointment_payload(appointment)},
            status=201,
        )


class AppointmentDetailView(_VisibleAppointmentView):
    @extend_schema(parameters=[REF_PARAM], responses={200: dict}, summary="P4 appointment detail (either id)")
    def get(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        prescriptions = list(selectors.prescriptions_of_appointment(appointment=appointment))
        body = appointment_detail_payload(appointment, prescriptions)
        if not request.user.is_patient:
            body = {**doctor_appointment_payload(appointment), **body}
        return Response(body)


class AppointmentSummaryView(_VisibleAppointmentView):
    @extend_schema(parameters=[REF_PARAM], responses={200: dict}, summary="M6 appointment summary")
    def get(self, request: Request, ref: str) -> Response:
        return Response(summary_payload(self.get_appointment(request, ref)))


class CheckConflictView(ApiView):
    access = Access.OWN

    @extend_schema(
        parameters=[ConflictInput],
        responses={200: dict},
        summary="P5 does the caller already have an appointment then",
        description=(
            "`date` and `time` are the hospital's local wall clock. With `time`, any live appointment of "
            "the caller overlapping that 30-minute slot is a conflict; without it (or `00:00`), any live "
            "appointment in `department` that day."
        ),
    )
    def get(self, request: Request) -> Response:
        data = _valid(ConflictInput, request.query_params)
        department = None
        if data.get("department"):
            department = Department.objects.select_related("hospital").filter(pk=data["department"]).first()
            if department is None:
                raise ApiError("Department not found.", status_code=404, code="department_not_found")
        if department is not None:
            zone = booking.hospital_zone(department.hospital)
        else:
            registration = primary_registration_of(user=request.user)
            zone = booking.hospital_zone(registration.hospital) if registration else booking.hospital_zone(
                _DefaultHospital())
        hours, minutes = (int(x) for x in data["time"].split(":"))
        qs = selectors.appointments_of_patient(fetched_by=request.user).filter(status__in=LIVE_STATUSES)
        if data["time"] != "00:00":
            start = datetime.combine(data["date"], time(hours, minutes)).replace(tzinfo=zone)
            qs = qs.filter(start__lt=start + booking.slot_length(), end__gt=start)
        else:
            day_start, day_end = selectors.day_bounds(data["date"], zone)
            qs = qs.filter(start__gte=day_start, start__lt=day_end)
            if department is not None:
                qs = qs.filter(department=department)
        existing = qs.order_by("start").first()
        if existing is None:
            return Response({"has_conflict": False, "message": "No conflicting appointment."})
        item = appointment_payload(existing)
        return Response(
            {
                "has_conflict": True,
                "message": f"You already have an appointment on {item['formatted_date']} at {item['formatted_time']}.",
                "conflict_details": {
                    "existing_appointment_id": existing.appointment_id,
                    "department": item["department_name"],
                    "date": item["date"],
                    "time": item["time"],
                    "status": existing.status,
                    "formatted_date": item["formatted_date"],
                    "formatted_time": item["formatted_time"],
                },
            }
        )


class _DefaultHospital:
    time_zone = settings.DEFAULT_HOSPITAL_TIME_ZONE


class SlotsView(ApiView):
    access = Access.OWN

    @extend_schema(
        parameters=[SlotsInput],
        responses={200: dict},
        summary="Slots of a day with remaining capacity",
        description=(
            "Every 30-minute slot between opening and closing time on `date` (the hospital's local "
            "calendar day, in the hospital's time zone), with `capacity` and `remaining` places. "
            "`time` is the local wall clock to send back as `appointment_date` (`<date>T<time>:00Z`, "
            "where `Z` is ignored). Past slots have `available: false`."
        ),
    )
    def get(self, request: Request) -> Response:
        data = _valid(SlotsInput, request.query_params)
        department = (
            Department.objects.select_related("hospital")
            .filter(pk=data["department"], is_active=True, hospital__is_active=True)
            .first()
        )
        if department is None:
            raise ApiError("Department not found.", status_code=404, code="department_not_found")
        zone = booking.hospital_zone(department.hospital)
        slots = booking.slots_of_day(department=department, day=data["date"])
        recommended = recommended_start_of_day(patient=request.user, department=department, day=data["date"])
        return Response(
            {
                "status": "success",
                "date": data["date"].isoformat(),
                "department_id": department.pk,
                "department_name": department.name,
                "hospital_id": department.hospital_id,
                "time_zone": zone.key,
                "slot_minutes": settings.BOOKING_SLOT_MINUTES,
                "slots": [
                    {
                        "start": s.start.astimezone(zone).isoformat(),
                        "end": s.end.astimezone(zone).isoformat(),
                        "time": s.start.astimezone(zone).strftime("%H:%M"),
                        "end_time": s.end.astimezone(zone).strftime("%H:%M"),
                        "appointment_date": s.start.astimezone(zone).strftime("%Y-%m-%dT%H:%M:00Z"),
                        "capacity": s.capacity,
                        "remaining": s.remaining,
                        "available": s.remaining > 0 and not s.past,
                        "past": s.past,
                        "recommended": recommended is not None and s.start == recommended,
                    }
                    for s in slots
                ],
            }
        )


class CancelView(_ActionableAppointmentView):
    @extend_schema(
        parameters=[REF_PARAM], request=CancelInput, responses={200: dict},
        summary="Cancel (patient: `reason`; doctor D9: `cancellation_reason`)",
        description="Gives the slot place back. A paid fee is refunded by the payments area: when the patient "
                    "cancels, in full at least 24 hours ahead and not after; when the hospital cancels, always "
                    "in full.",
    )
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = _valid(CancelInput, request.data)
        appointment = services.appointment_cancel(appointment=appointment, cancelled_by=request.user,
                                                  reason=data["reason"])
        return _ok("Appointment cancelled.", appointment, doctor_view=not request.user.is_patient)


class RescheduleView(_AppointmentView):
    access = Access.OWN

    def scoped_queryset(self, user) -> QuerySet[Appointment]:
        return selectors.appointments_of_patient(fetched_by=user)

    @extend_schema(
        parameters=[REF_PARAM], request=RescheduleInput, responses={200: dict},
        summary="Patient reschedules to a new slot (atomic)",
        description="Takes the new slot and gives back the old one in one transaction, or changes nothing. "
                    "`appointment_date`: " + WALL_CLOCK_HELP,
    )
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = _valid(RescheduleInput, request.data)
        appointment = services.appointment_reschedule(appointment=appointment, start_local=data["appointment_date"])
        return _ok("Appointment rescheduled.", appointment, doctor_view=False)


# --- Doctor --------------------------------------------------------------------------------------
def _local_day_range(start_date, end_date, zone):
    start = datetime.combine(start_date, time(0, 0)).replace(tzinfo=zone) if start_date else None
    end = datetime.combine(end_date + timedelta(days=1), time(0, 0)).replace(tzinfo=zone) if end_date else None
    return start, end


class DepartmentQueueView(ApiView):
    access = Access.STAFF

    @extend_schema(parameters=[QueueInput], responses={200: dict},
                   summary="D1 department queue and my appointments",
                   description="`start_date`/`end_date` are the hospital's local calendar days.")
    def get(self, request: Request) -> Response:
        data = _valid(QueueInput, request.query_params)
        user = request.user
        staff = staff_of(user=user) if user.is_doctor else None
        if staff is None:
            raise ApiError("Only doctors have a department queue.", status_code=403, code="not_a_doctor")
        zone = booking.hospital_zone(staff.hospital)
        start, end = _local_day_range(data.get("start_date"), data.get("end_date"), zone)
        scope = selectors.appointments_for_doctor(fetched_by=user)
        # Each list is the first ``limit`` rows (earliest first); the summary counts every row.
        limit = pagination.page_size(request, pagination.DOCTOR_APPOINTMENTS)
        pending, pending_total = [], 0
        if staff.department_id is not None:
            pending_qs = selectors.appointment_filter(
                scope.filter(department_id=staff.department_id, hospital_id=staff.hospital_id,
                             status=AppointmentStatus.PENDING),
                priority=data.get("priority", ""), start_from=start, start_before=end,
            )
            pending = [rows.doctor_item(r) for r in rows.doctor_rows(pending_qs.order_by("start", "id")[:limit])]
            pending_total = pending_qs.order_by().count()
        mine_qs = selectors.appointment_filter(
            scope.filter(doctor_id=data.get("doctor_id") or user.pk),
            status=data.get("status", ""), priority=data.get("priority", ""), start_from=start, start_before=end,
        )
        mine = [rows.doctor_item(r) for r in rows.doctor_rows(mine_qs.order_by("start", "id")[:limit])]
        keys = selectors.DASHBOARD_STATUSES
        groups = {key: [a for a in mine if a["status"] == key] for key in keys}
        by_status = dict(mine_qs.order_by().values_list("status").annotate(n=Count("id")))
        counts = {key: by_status.get(key, 0) for key in keys}
        mine_total = sum(by_status.values())
        department = staff.department
        return Response(
            {
                "status": "success",
                "pending_department_appointments": pending,
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
                    **selectors.doctor_dashboard_summary(fetched_by=user, staff=staff, now=timezone.now(), zone=zone),
                    # The counts of the lists in this answer (after its filters; every row, not the page).
                    "pending_count": pending_total,
                    **{f"{key}_count": n for key, n in counts.items()},
                    "total_my_appointments": mine_total,
                },
            },
            headers={"X-Page-Size": str(limit)},
        )


class DoctorAppointmentListView(ScopedAPIView):
    access = Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[Appointment]:
        return selectors.appointments_for_doctor(fetched_by=user)

    @extend_schema(parameters=[QueueInput, *pagination.PARAMETERS], responses={200: JSON_ARRAY},
                   summary="D2 doctor's appointments (bare array, paged)", operation_id="doctor_appointments_list",
                   description="Earliest first. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        data = _valid(QueueInput, request.query_params)
        staff = staff_of(user=request.user)
        zone = booking.hospital_zone(staff.hospital) if staff else booking.hospital_zone(_DefaultHospital())
        start, end = _local_day_range(data.get("start_date"), data.get("end_date"), zone)
        qs = selectors.appointment_filter(
            self.scoped_queryset(request.user), status=data.get("status", ""), priority=data.get("priority", ""),
            doctor_id=data.get("doctor_id"), start_from=start, start_before=end,
        )
        page = pagination.paginate(request, qs, spec=pagination.DOCTOR_APPOINTMENTS, columns=rows.DOCTOR_COLUMNS)
        return page.response([rows.doctor_item(r) for r in page.items])


class DoctorAppointmentDetailView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], responses={200: dict}, summary="D3 appointment (doctor view)")
    def get(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        prescriptions = list(selectors.prescriptions_of_appointment(appointment=appointment))
        body = {**appointment_detail_payload(appointment, prescriptions), **doctor_appointment_payload(appointment)}
        body["prescriptions"] = [medication_payload(p, m, appointment=appointment)
                                 for p in prescriptions for m in p.medications]
        return Response(body)


class DoctorStatusView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=StatusInput, responses={200: dict},
                   summary="D4 change status (one state machine; illegal transitions are 409)")
    def patch(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = _valid(StatusInput, request.data)
        appointment = services.appointment_set_status(
            appointment=appointment, doctor=request.user, status=data["status"], notes=data["notes"],
            medical_summary=data["medical_summary"], reason=data["cancellation_reason"],
        )
        return _ok(f"Appointment {appointment.status.replace('_', ' ')}.", appointment)


class AcceptView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=AcceptInput, responses={200: dict},
                   summary="D5 accept (assigns the accepting doctor)",
                   description="`proposed_time` (optional) moves the appointment first. " + WALL_CLOCK_HELP)
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = _valid(AcceptInput, request.data)
        appointment = services.appointment_accept(appointment=appointment, doctor=request.user,
                                                  proposed_time=data.get("proposed_time"))
        return _ok("Appointment accepted.", appointment)


class StartView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=None, responses={200: dict}, summary="D6 start consultation")
    def post(self, request: Request, ref: str) -> Response:
        appointment = services.appointment_start(appointment=self.get_appointment(request, ref), doctor=request.user)
        return _ok("Consultation started.", appointment)


class CompleteView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=CompleteInput, responses={200: dict},
                   summary="D7 complete consultation (a medical summary is required)",
                   description="`medical_summary` (object with diagnosis, treatment, follow_up, notes, "
                               "vital_signs) or, failing that, `notes` becomes the summary.")
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = _valid(CompleteInput, request.data)
        summary = data["medical_summary"] if data["medical_summary"] not in (None, "", {}) else data["notes"]
        appointment = services.appointment_complete(appointment=appointment, doctor=request.user,
                                                    medical_summary=summary, notes=data["notes"])
        return _ok("Consultation completed.", appointment)


class AddNotesView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=NotesInput, responses={200: dict}, summary="D8 add notes")
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = _valid(NotesInput, request.data)
        appointment = services.notes_add(appointment=appointment, doctor=request.user, notes=data["notes"])
        return _ok("Notes added.", appointment)


class NoShowView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=NoShowInput, responses={200: dict}, summary="D10 no-show")
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = _valid(NoShowInput, request.data)
        appointment = services.appointment_no_show(appointment=appointment, doctor=request.user, notes=data["notes"])
        return _ok("Marked as no-show.", appointment)


class PrescriptionCreateView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=PrescriptionInput, responses={201: dict},
                   summary="D11 issue a prescription")
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = _valid(PrescriptionInput, request.data)
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


class PrescriptionViewView(_VisibleAppointmentView):
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


class NotesView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], responses={200: dict}, summary="D13 notes")
    def get(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        return Response(_notes_body(appointment))


def _notes_body(appointment: Appointment) -> dict:
    return {
        "status": "success",
        "appointment_id": appointment.appointment_id,
        "general_notes": appointment.general_notes,
        "doctor_notes": appointment.doctor_notes,
        "medical_summary": appointment.medical_summary,
        "updated_at": appointment.updated_at.isoformat(),
    }


class NotesEditView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=NotesEditInput, responses={200: dict}, summary="D14 edit notes")
    def put(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = _valid(NotesEditInput, request.data)
        appointment = services.notes_edit(appointment=appointment, doctor=request.user,
                                          general_notes=data.get("general_notes"),
                                          doctor_notes=data.get("doctor_notes"))
        return Response({**_notes_body(appointment), "message": "Notes updated."})


class NotesDeleteView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=None, responses={200: dict}, summary="D15 delete notes")
    def delete(self, request: Request, ref: str) -> Response:
        appointment = services.notes_clear(appointment=self.get_appointment(request, ref), doctor=request.user)
        return Response({**_notes_body(appointment), "message": "Notes deleted."})


class ReferView(_DoctorAppointmentView):
    @extend_schema(parameters=[REF_PARAM], request=ReferInput, responses={200: dict}, summary="D16 refer")
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = _valid(ReferInput, request.data)
        appointment = services.appointment_refer(
            appointment=appointment, doctor=request.user, hospital_id=data.get("referred_to_hospital"),
            department_id=data.get("referred_to_department"), reason=data["referral_reason"],
        )
        return _ok("Referral recorded.", appointment)


# --- Hospital admin ------------------------------------------------------------------------------
class HospitalAppointmentsView(ApiView):
    access = Access.STAFF

    @extend_schema(parameters=[AdminListInput, *pagination.PARAMETERS], responses={200: dict},
                   summary="O1 the hospital's appointments (paged)",
                   description="`date_from`/`date_to` are the hospital's local calendar days (inclusive). Newest "
                               "first; `total_count` counts every match. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        data = _valid(AdminListInput, request.query_params)
        hospital = admin_hospital_of(user=request.user)
        if hospital is None:
            raise ApiError("Only hospital administrators can list the hospital's appointments.", status_code=403,
                           code="not_hospital_admin")
        zone = booking.hospital_zone(hospital)
        start, end = _local_day_range(data.get("date_from"), data.get("date_to"), zone)
        qs = selectors.appointment_filter(
            selectors.appointments_for_hospital_admin(fetched_by=request.user),
            status=data.get("status", ""), department_id=data.get("department_id"),
            doctor_id=data.get("doctor_id"), start_from=start, start_before=end,
        )
        page = pagination.paginate(request, qs, spec=pagination.APPOINTMENTS)
        items = [admin_appointment_payload(a) for a in page.items]
        total = page.total if page.total is not None else qs.count()
        return page.response({"status": "success", "appointments": items, "total_count": total})


# --- Prescriptions (patient) ---------------------------------------------------------------------
class MyPrescriptionsView(ApiView):
    access = Access.OWN

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: dict},
                   summary="The patient's prescribed medications (paged by prescription)",
                   description="`{status, medications: ApiMedication[]}`, newest prescription first. A page holds "
                               "`limit` prescriptions with all their medications. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        from prescriptions.presenters import with_signed_items  # signature and dispensing state
        from records.audit import audit_record

        page = pagination.paginate(request, selectors.prescriptions_of_patient(fetched_by=request.user),
                                   spec=pagination.PRESCRIPTIONS)
        prescriptions = list(page.items)
        medications = with_signed_items(prescriptions, [(p, medication_payload(p, m), m)
                                                        for p in prescriptions for m in p.medications])
        audit_record(actor=request.user, patient=request.user, action="prescriptions_listed",
                     object_type="prescription", object_id="", request=request)
        return page.response({"status": "success", "medications": medications, "count": len(medications)})
