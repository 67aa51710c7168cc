"""What every appointment view shares: the path parameter, input validation, the success envelope
and the scoped base views (an appointment outside the caller's scope is a 404).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from appointments import selectors
from appointments.models import Appointment
from appointments.presenters import appointment_payload, doctor_appointment_payload
from phb.api.access import Access
from phb.api.views import ScopedAPIView


class DefaultHospital:
    """Stands in for a hospital where the caller has none: the default time zone."""

    time_zone = settings.DEFAULT_HOSPITAL_TIME_ZONE


REF_PARAM = OpenApiParameter(
    "ref", OpenApiTypes.STR, OpenApiParameter.PATH,
    description="The appointment's UUID `id` or its human reference `appointment_id` (e.g. APT-7K3F9Q2M).",
)


def ok_response(message: str, appointment: Appointment, *, doctor_view: bool = True, status: int = 200, **extra) -> Response:
    payload = doctor_appointment_payload(appointment) if doctor_view else appointment_payload(appointment)
    return Response({"status": "success", "message": message, "appointment": payload, **extra}, status=status)


class AppointmentView(ScopedAPIView):
    """Looks appointments up by either id inside ``scoped_queryset``."""

    def get_appointment(self, request: Request, ref: str) -> Appointment:
        return self.get_scoped_object(request, **selectors.ref_lookup(ref))


class ClinicalAppointmentView(AppointmentView):
    """An appointment's clinical detail: its patient and the doctors in scope; anyone else 404."""

    access = Access.OWN | Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[Appointment]:
        return selectors.appointments_with_clinical_detail_for(fetched_by=user)


class ActionableAppointmentView(AppointmentView):
    access = Access.OWN | Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[Appointment]:
        return selectors.appointments_actionable_by(fetched_by=user)


class DoctorAppointmentView(AppointmentView):
    access = Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[Appointment]:
        return selectors.appointments_for_doctor(fetched_by=user)


def local_day_range(start_date, end_date, zone):
    """Aware bounds of the local calendar days ``start_date`` to ``end_date`` (inclusive; either may be None)."""
    start = datetime.combine(start_date, time(0, 0)).replace(tzinfo=zone) if start_date else None
    end = datetime.combine(end_date + timedelta(days=1), time(0, 0)).replace(tzinfo=zone) if end_date else None
    return start, end
