"""Staff and rosters: the organisation's staff roster page, doctors' availability switch, and the
hospital admin's weekly sessions and dated exceptions."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.birthdates import birth_date_problem
from appointments import staff
from appointments.models import RosterException, RosterSession
from phb.api import pagination, serializers
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.fields import CalendarDateField
from phb.api.schema import PASSWORD_SCHEMA, VISIBLE_TEXT_PATTERN, documented
from phb.api.views import ScopedAPIView
from phb.numbers import MAX_ID, whole_number

_SESSION_FILTERS = [
    OpenApiParameter("department_id", OpenApiTypes.INT, description="Only this department's sessions."),
    OpenApiParameter("doctor_id", OpenApiTypes.UUID, description="Only this doctor's sessions."),
]


def _body(request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise ApiError("The request body must be a JSON object.", code="invalid_body")
    return request.data


class DoctorProfileInput(serializers.Serializer):
    """The form's doctor details; a field it leaves empty arrives as ``""`` and is left unset."""

    medical_license_number = serializers.CharField(max_length=64, required=False, allow_blank=True)
    specialization = serializers.CharField(max_length=120, required=False, allow_blank=True)
    license_expiry_date = CalendarDateField(required=False, allow_null=True)
    years_of_experience = serializers.IntegerField(min_value=0, max_value=80, required=False, allow_null=True)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = {key: (None if value == "" and key in ("license_expiry_date", "years_of_experience") else value)
                    for key, value in data.items()}
        return super().to_internal_value(data)


class StaffCreateInput(serializers.Serializer):
    """A new doctor (StaffRosterPage's form). What needs the database (the department, a unique
    email, a password that is not a common one) is checked by ``staff.staff_create``."""

    role = serializers.ChoiceField(choices=["doctor"])
    email = documented(serializers.CharField, {"type": "string", "format": "email", "maxLength": 254})(
        max_length=254)
    first_name = documented(serializers.CharField, {"type": "string", "maxLength": 200, "pattern": VISIBLE_TEXT_PATTERN})(
        max_length=200)
    last_name = serializers.CharField(max_length=200, allow_blank=True)
    password = documented(serializers.CharField, PASSWORD_SCHEMA)(max_length=256, trim_whitespace=False)
    department = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A department of the admin's hospital.")
    # The form sends an empty phone as null.
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, allow_null=True)
    gender = serializers.CharField(max_length=32, required=False, allow_blank=True)
    preferred_language = serializers.CharField(max_length=64, required=False, allow_blank=True)
    date_of_birth = CalendarDateField(required=False, allow_null=True)
    doctor_profile = DoctorProfileInput(required=False)

    def validate_date_of_birth(self, value):
        problem = birth_date_problem(value) if value is not None else None
        if problem:
            raise serializers.ValidationError(problem)
        return value


class StaffView(ScopedAPIView):
    access = Access.STAFF

    def scoped_queryset(self, user) -> QuerySet:
        return staff.staff_list(fetched_by=user)

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: dict},
                   summary="The hospital's staff with availability and roster (paged)",
                   description="Hospital admins and doctors: the staff of their hospital, by full name. "
                               "`availability_status` gives today's consultation hours (`HH:MM:SS`) and the next "
                               "slot in which the doctor still has a place (hospital wall clock, ISO). "
                               "`total_staff` counts the whole list. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        if request.user.is_patient:
            raise ApiError("Only hospital staff can see the staff list.", status_code=403, code="not_staff")
        members = self.scoped_queryset(request.user)
        page = pagination.paginate(request, members, spec=staff.STAFF)
        rows = staff.staff_rows(members=page.items)
        total = pagination.total_of(page, members)
        return page.response({"status": "success", "total_staff": total, "staff_members": rows})

    @extend_schema(request=StaffCreateInput, responses={201: dict},
                   summary="Add a doctor to the hospital (hospital admin)")
    def post(self, request: Request) -> Response:
        staff.admin_hospital(request.user)  # a 403 for anyone else before their body is read
        serializer = StaffCreateInput(data=_body(request))
        serializer.is_valid(raise_exception=True)
        member = staff.staff_create(created_by=request.user, data=serializer.validated_data)
        row = staff.staff_rows(members=[member])[0]
        return Response({"status": "success", "message": "Staff member created. They sign in with the emailed code.",
                         "staff_member": row}, status=201)


class AvailabilityView(ScopedAPIView):
    access = Access.STAFF

    def scoped_queryset(self, user) -> QuerySet:
        return staff.staff_list(fetched_by=user).filter(user=user)

    @extend_schema(request={"application/json": {"type": "object", "required": ["is_available"],
                                                 "properties": {"is_available": {"type": "boolean"}}}},
                   responses={200: dict}, summary="A doctor switches her own availability",
                   description="`{is_available: bool}`. An unavailable doctor takes no new bookings.")
    def post(self, request: Request) -> Response:
        value = _body(request).get("is_available")
        if not isinstance(value, bool):
            raise ApiError("is_available must be true or false.", code="invalid_availability")
        staff.availability_set(user=request.user, is_available=value)
        word = "available" if value else "unavailable"
        return Response({"status": "success", "message": f"You are now {word} for new bookings.",
                         "is_available": value})


class SessionListView(ScopedAPIView):
    access = Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[RosterSession]:
        return staff.sessions_list(fetched_by=user)

    @extend_schema(parameters=[*_SESSION_FILTERS, *pagination.PARAMETERS], responses={200: dict},
                   summary="Weekly roster sessions of the hospital (hospital admin, paged)",
                   description="By department, weekday (0 = Monday) and start time. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        qs = self.scoped_queryset(request.user)
        department_id, doctor_id = request.query_params.get("department_id"), request.query_params.get("doctor_id")
        if department_id is not None:  # given, even empty: a department's id
            number = whole_number(department_id)
            if number is None:
                raise ApiError("department_id is not valid.", code="invalid_filter")
            qs = qs.filter(department_id=number)
        if doctor_id is not None:
            try:
                qs = qs.filter(doctor_id=uuid.UUID(doctor_id))
            except ValueError as exc:
                raise ApiError("doctor_id is not valid.", code="invalid_filter") from exc
        page = pagination.paginate(request, qs, spec=staff.ROSTER_SESSIONS)
        return page.response({"status": "success", "sessions": [staff.session_row(s) for s in page.items]})

    @extend_schema(request=dict, responses={201: dict}, summary="Add a weekly session",
                   description="`{doctor_id, department_id, weekday (0 = Monday), start_time, end_time, "
                               "patients_per_slot}`; times on the half hour.")
    def post(self, request: Request) -> Response:
        session = staff.session_create(created_by=request.user, data=_body(request))
        return Response({"status": "success", "session": staff.session_row(session)}, status=201)


class SessionDetailView(ScopedAPIView):
    access = Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[RosterSession]:
        return staff.sessions_list(fetched_by=user)

    @extend_schema(responses={200: dict}, summary="Remove a weekly session")
    def delete(self, request: Request, session_id: int) -> Response:
        staff.session_delete(session=self.get_scoped_object(request, pk=session_id))
        return Response({"status": "success", "message": "Session removed."})


class ExceptionListView(ScopedAPIView):
    access = Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[RosterException]:
        return staff.exceptions_list(fetched_by=user)

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: dict},
                   summary="Leave and extra sessions (hospital admin, paged)",
                   description="Latest date first. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        page = pagination.paginate(request, self.scoped_queryset(request.user), spec=staff.ROSTER_EXCEPTIONS)
        return page.response({"status": "success", "exceptions": [staff.exception_row(e) for e in page.items]})

    @extend_schema(request=dict, responses={201: dict}, summary="Add leave or an extra session",
                   description="`{doctor_id, kind: leave|extra, date, start_time?, end_time?, department_id?}`.")
    def post(self, request: Request) -> Response:
        row = staff.exception_create(created_by=request.user, data=_body(request))
        return Response({"status": "success", "exception": staff.exception_row(row)}, status=201)


class ExceptionDetailView(ScopedAPIView):
    access = Access.STAFF

    def scoped_queryset(self, user) -> QuerySet[RosterException]:
        return staff.exceptions_list(fetched_by=user)

    @extend_schema(responses={200: dict}, summary="Remove leave or an extra session")
    def delete(self, request: Request, exception_id: int) -> Response:
        self.get_scoped_object(request, pk=exception_id).delete()
        return Response({"status": "success", "message": "Roster exception removed."})
