"""Appointment endpoints: patient (P3–P5, M5, M6, cancel, reschedule, slots), hospital admin (O1)
and the patient's prescriptions. The doctor's (D1–D16) are in ``doctor_views``.

Each view parses input, then calls a selector (reads, scoped to the caller) or a service
(writes). An appointment outside the caller's scope is a 404 for every endpoint.
"""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from appointments import booking, list_items, rows, selectors, services, slot_grid
from appointments.models import LIVE_STATUSES, Appointment
from appointments.presenters import (
    admin_appointment_payload,
    appointment_detail_payload,
    appointment_payload,
    doctor_appointment_payload,
    medication_payload,
    summary_payload,
)
from appointments.scheduler.recommend import recommended_start_of_day
from appointments.serializers import (
    WALL_CLOCK_HELP,
    AdminListInput,
    BookInput,
    CancelInput,
    ConflictInput,
    RescheduleInput,
    SlotsInput,
)
from appointments.view_base import (
    REF_PARAM,
    ActionableAppointmentView,
    AppointmentView,
    ClinicalAppointmentView,
    DefaultHospital,
    local_day_range,
    ok_response,
)
from hospitals.models import Department
from hospitals.selectors import admin_hospital_of, primary_registration_of, staff_of
from phb.api import pagination
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.schema import JSON_ARRAY
from phb.api.serializers import validated
from phb.api.views import ApiView, ScopedAPIView


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
        user = request.user
        if user.is_patient:
            qs = self.scoped_queryset(user)
            if list_items.enabled(qs.db):  # each row's item as kept (rendered where it is not)
                page = pagination.paginate(request, qs, spec=pagination.APPOINTMENTS, columns=list_items.KEPT_COLUMNS)
                return page.response(list_items.page_items(page.items, using=qs.db))
            page = pagination.paginate(request, qs, spec=pagination.APPOINTMENTS, columns=rows.PATIENT_COLUMNS)
            return page.response([rows.patient_item(r) for r in page.items])
        if user.is_doctor:  # their own appointments and their department's, each read in index order
            staff = staff_of(user=user)
            qs = selectors.appointments_for_doctor(fetched_by=user, staff=staff)
            page = pagination.paginate(request, qs, spec=pagination.APPOINTMENTS, columns=rows.DOCTOR_COLUMNS,
                                       partition=selectors.doctor_partition(fetched_by=user, staff=staff))
            return page.response([rows.doctor_item(r) for r in page.items])
        if user.is_hospital_admin:  # the hospital's list without the clinical detail behind it (as O1)
            page = pagination.paginate(request, self.scoped_queryset(user), spec=pagination.APPOINTMENTS,
                                       columns=rows.ADMIN_COLUMNS)
            return page.response([rows.admin_item(r) for r in page.items])
        # Anyone else (a pharmacist): her own appointments, as a patient reads them.
        page = pagination.paginate(request, self.scoped_queryset(user), spec=pagination.APPOINTMENTS,
                                   columns=rows.PATIENT_COLUMNS)
        return page.response([rows.patient_item(r) for r in page.items])

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
        data = validated(BookInput, request.data)
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


class AppointmentDetailView(ClinicalAppointmentView):
    @extend_schema(parameters=[REF_PARAM], responses={200: dict}, summary="P4 appointment detail (either id)")
    def get(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        prescriptions = list(selectors.prescriptions_of_appointment(appointment=appointment))
        body = appointment_detail_payload(appointment, prescriptions)
        if not request.user.is_patient:
            body = {**doctor_appointment_payload(appointment), **body}
        return Response(body)


class AppointmentSummaryView(ClinicalAppointmentView):
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
        data = validated(ConflictInput, request.query_params)
        department = None
        if data.get("department"):
            department = Department.objects.select_related("hospital").filter(pk=data["department"]).first()
            if department is None:
                raise ApiError("Department not found.", status_code=404, code="department_not_found")
        if department is not None:
            zone = slot_grid.hospital_zone(department.hospital)
        else:
            registration = primary_registration_of(user=request.user)
            zone = slot_grid.hospital_zone(registration.hospital) if registration else slot_grid.hospital_zone(
                DefaultHospital())
        hours, minutes = (int(x) for x in data["time"].split(":"))
        qs = selectors.appointments_of_patient(fetched_by=request.user).filter(status__in=LIVE_STATUSES)
        if data["time"] != "00:00":
            start = datetime.combine(data["date"], time(hours, minutes)).replace(tzinfo=zone)
            qs = qs.filter(start__lt=start + slot_grid.slot_length(), end__gt=start)
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
        data = validated(SlotsInput, request.query_params)
        department = (
            Department.objects.select_related("hospital")
            .filter(pk=data["department"], is_active=True, hospital__is_active=True)
            .first()
        )
        if department is None:
            raise ApiError("Department not found.", status_code=404, code="department_not_found")
        zone = slot_grid.hospital_zone(department.hospital)
        grid = slot_grid.read_day(department=department, day=data["date"])
        slots = grid.slots
        recommended = recommended_start_of_day(patient=request.user, department=department, grid=grid)
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


class CancelView(ActionableAppointmentView):
    @extend_schema(
        parameters=[REF_PARAM], request=CancelInput, responses={200: dict},
        summary="Cancel (patient: `reason`; doctor D9: `cancellation_reason`)",
        description="Gives the slot place back. A paid fee is refunded by the payments area: when the patient "
                    "cancels, in full at least 24 hours ahead and not after; when the hospital cancels, always "
                    "in full.",
    )
    def post(self, request: Request, ref: str) -> Response:
        appointment = self.get_appointment(request, ref)
        data = validated(CancelInput, request.data)
        appointment = services.appointment_cancel(appointment=appointment, cancelled_by=request.user,
                                                  reason=data["reason"])
        return ok_response("Appointment cancelled.", appointment, doctor_view=not request.user.is_patient)


class RescheduleView(AppointmentView):
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
        data = validated(RescheduleInput, request.data)
        appointment = services.appointment_reschedule(appointment=appointment, start_local=data["appointment_date"])
        return ok_response("Appointment rescheduled.", appointment, doctor_view=False)


# --- Hospital admin ------------------------------------------------------------------------------
class HospitalAppointmentsView(ApiView):
    access = Access.STAFF

    @extend_schema(parameters=[AdminListInput, *pagination.PARAMETERS], responses={200: dict},
                   summary="O1 the hospital's appointments (paged)",
                   description="`date_from`/`date_to` are the hospital's local calendar days (inclusive). Newest "
                               "first; `total_count` counts every match. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        data = validated(AdminListInput, request.query_params)
        hospital = admin_hospital_of(user=request.user)
        if hospital is None:
            raise ApiError("Only hospital administrators can list the hospital's appointments.", status_code=403,
                           code="not_hospital_admin")
        zone = slot_grid.hospital_zone(hospital)
        start, end = local_day_range(data.get("date_from"), data.get("date_to"), zone)
        qs = selectors.appointment_filter(
            selectors.appointments_for_hospital_admin(fetched_by=request.user),
            status=data.get("status", ""), department_id=data.get("department_id"),
            doctor_id=data.get("doctor_id"), start_from=start, start_before=end,
        )
        page = pagination.paginate(request, qs, spec=pagination.APPOINTMENTS)
        items = [admin_appointment_payload(a) for a in page.items]
        total = pagination.total_of(page, qs)
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
