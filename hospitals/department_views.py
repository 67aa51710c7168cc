"""Hospital-admin department pages (contract O2–O5), and the two look-ups the new-admission modal
makes: the doctors of a department and patients by HPN."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.birthdates import age_today
from accounts.throttles import hit
from hospitals import departments as dept
from hospitals.models import Department
from hospitals.selectors import admin_hospital_of
from phb.api import pagination, serializers
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.fields import CLOCK_SCHEMA, clock_hhmm
from phb.api.schema import JSON_ARRAY, documented
from phb.api.serializers import validated
from phb.api.views import ApiView, ScopedAPIView
from phb.numbers import MAX_ID


def _not_found() -> ApiError:
    return ApiError("Not found.", status_code=404, code="not_found")


class _ListInput(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    department_type = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    is_active = serializers.ChoiceField(choices=["true", "false", "all"], allow_blank=True, required=False, default="")
    hospital = serializers.IntegerField(required=False, allow_null=True, default=None, max_value=MAX_ID)
    page = serializers.IntegerField(required=False, min_value=1, max_value=10_000, default=1)  # the offset stays a bigint
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=500)


_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OPERATING_HOURS_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {day: {"type": "object", "required": ["start", "end"], "additionalProperties": False,
                         "properties": {"start": CLOCK_SCHEMA, "end": CLOCK_SCHEMA}} for day in _DAYS},
    "description": "Per weekday `{start: 'HH:MM', end: 'HH:MM'}` (seconds are dropped); the end after the start.",
}


class DepartmentInput(serializers.Serializer):
    """The department form (``DepartmentFormData``). Bed numbers become beds."""

    name = serializers.CharField(max_length=120)
    code = serializers.CharField(max_length=32, required=False, allow_blank=True)
    department_type = serializers.ChoiceField(choices=dept.DEPARTMENT_TYPES)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    floor_number = serializers.CharField(max_length=16, required=False, allow_blank=True)
    wing = serializers.ChoiceField(choices=dept.WINGS, required=False, allow_blank=True)
    extension_number = serializers.CharField(max_length=16, required=False, allow_blank=True)
    emergency_contact = serializers.CharField(max_length=32, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    is_24_hours = serializers.BooleanField(required=False)
    operating_hours = documented(serializers.DictField, OPERATING_HOURS_SCHEMA)(required=False, allow_empty=True)
    total_beds = serializers.IntegerField(min_value=0, max_value=2000, required=False, allow_null=True)
    icu_beds = serializers.IntegerField(min_value=0, max_value=500, required=False, allow_null=True)
    bed_capacity = serializers.IntegerField(min_value=0, max_value=2500, required=False, allow_null=True)
    minimum_staff_required = serializers.IntegerField(min_value=1, max_value=10000, required=False)
    is_active = serializers.BooleanField(required=False)
    hospital = serializers.IntegerField(required=False, allow_null=True, max_value=MAX_ID)

    def validate_operating_hours(self, value: dict) -> dict:
        cleaned: dict[str, dict[str, str]] = {}
        for day, hours in value.items():
            if day not in _DAYS or not isinstance(hours, dict) or set(hours) != {"start", "end"}:
                raise serializers.ValidationError("Give each day as {start: 'HH:MM', end: 'HH:MM'}.")
            start, end = clock_hhmm(hours["start"]), clock_hhmm(hours["end"])
            if start is None or end is None:
                raise serializers.ValidationError(f"On {day} give the opening and closing times as HH:MM.")
            if end <= start:
                raise serializers.ValidationError(f"On {day} the closing time must be after the opening time.")
            cleaned[day] = {"start": start, "end": end}
        return cleaned


class DepartmentListView(ApiView):
    """O2: the admin's departments, active or not, each with its bed, staff and patient figures."""

    access = Access.STAFF

    @extend_schema(parameters=[_ListInput], responses={200: dict}, summary="O2 hospital departments")
    def get(self, request: Request) -> Response:
        data = validated(_ListInput, request.query_params)
        hospital = admin_hospital_of(user=request.user)
        if hospital is None or data["hospital"] not in (None, hospital.pk):
            raise _not_found()
        active = {"true": True, "false": False}.get(data["is_active"])
        items = dept.department_list(fetched_by=request.user, search=data["search"],
                                     department_type=data["department_type"], is_active=active)
        total = items.count()
        start = (data["page"] - 1) * data["limit"]
        page = list(items[start:start + data["limit"]])
        found = dept.figures(hospital_id=hospital.pk, department_ids=[d.pk for d in page])
        return Response({"status": "success", "departments": [dept.department_payload(d, found) for d in page],
                         "total": total, "page": data["page"], "limit": data["limit"]})


class DepartmentCreateView(ApiView):
    access = Access.STAFF

    @extend_schema(request=DepartmentInput, responses={201: dict}, summary="O4 create a department")
    def post(self, request: Request) -> Response:
        hospital = admin_hospital_of(user=request.user)
        if hospital is None:
            raise _not_found()
        data = validated(DepartmentInput, request.data)
        if data.get("hospital") not in (None, hospital.pk):
            raise _not_found()
        department = dept.department_create(hospital=hospital, data=data)
        return Response({"status": "success", "message": f"Department {department.name} created.",
                         "department": dept.payload_of_one(department)}, status=201)


class _DepartmentView(ScopedAPIView):
    access = Access.STAFF

    def scoped_queryset(self, user):
        return dept.departments_for_admin(fetched_by=user)

    def department(self, request: Request, department_id: int) -> Department:
        if department_id > MAX_ID:
            raise _not_found()
        return self.get_scoped_object(request, pk=department_id)


class DepartmentDetailView(_DepartmentView):
    """O3: one department with its active staff (the first ``DEPARTMENT_STAFF_MAX`` by name;
    ``staff_count`` counts them all), patients, bed status and stats."""

    @extend_schema(responses={200: dict}, summary="O3 department detail",
                   description=f"`staff`: the department's active staff by name, at most {dept.DEPARTMENT_STAFF_MAX}; "
                               "`staff_count`: all of them.")
    def get(self, request: Request, department_id: int) -> Response:
        department = self.department(request, department_id)
        body = dept.payload_of_one(department)
        return Response({
            "status": "success",
            "department": body,
            "staff": dept.staff_of_department(department=department),
            "staff_count": body["current_staff_count"],
            "patient_count": body["current_patient_count"],
            "bed_status": {
                "total": body["total_beds"], "occupied": body["occupied_beds"], "available": body["available_beds"],
                "icu_total": body["icu_beds"], "icu_occupied": body["occupied_icu_beds"],
                "icu_available": body["available_icu_beds"], "capacity": body["bed_capacity"],
                "utilization_rate": body["bed_utilization_rate"],
            },
            "stats": {
                "is_understaffed": body["is_understaffed"], "staff_utilization": body["staff_utilization_rate"],
                "budget_utilization": 0, "is_clinical": body["is_clinical"], "is_support": body["is_support"],
                "is_administrative": body["is_administrative"],
                "is_available_for_appointments": body["is_available_for_appointments"],
            },
        })


class DepartmentUpdateView(_DepartmentView):
    """O5: partial edit; also deactivate and reactivate with ``{is_active}``."""

    @extend_schema(request=DepartmentInput, responses={200: dict}, summary="O5 edit a department")
    def patch(self, request: Request, department_id: int) -> Response:
        return self._update(request, department_id, partial=True)

    @extend_schema(request=DepartmentInput, responses={200: dict}, summary="Edit a department with the whole form",
                   description="The form's required fields (`name`, `department_type`) must be given; "
                               "the others keep their values when left out. `PATCH` takes any of them.")
    def put(self, request: Request, department_id: int) -> Response:
        return self._update(request, department_id, partial=False)

    def _update(self, request: Request, department_id: int, *, partial: bool) -> Response:
        department = self.department(request, department_id)
        data = validated(DepartmentInput, request.data, partial=partial)
        if data.get("hospital") not in (None, department.hospital_id):
            raise _not_found()
        updated = dept.department_update(department=department, data=data)
        return Response({"status": "success", "message": f"Department {updated.name} updated.",
                         "department": dept.payload_of_one(updated)})


def _split_name(full_name: str) -> tuple[str, str]:
    parts = full_name.split()
    if parts and parts[0].rstrip(".").lower() == "dr":
        parts = parts[1:]
    if not parts:
        return "", ""
    return parts[0], " ".join(parts[1:])


class DepartmentDoctorsView(ApiView):
    """The doctors of one department of the caller's hospital (the new-admission modal)."""

    access = Access.STAFF

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: JSON_ARRAY},
                   summary="Doctors of a department (paged)", description="By full name. " + pagination.DESCRIPTION)
    def get(self, request: Request, department_id: int) -> Response:
        doctors = None if department_id > MAX_ID else dept.doctors_of_department(fetched_by=request.user,
                                                                                   department_id=department_id)
        if doctors is None:
            raise _not_found()
        page = pagination.paginate(request, doctors, spec=pagination.DEPARTMENT_DOCTORS)
        out = []
        for d in page.items:
            first, last = _split_name(d.user.full_name)
            out.append({"id": d.pk, "user_id": str(d.user_id), "first_name": first, "last_name": last,
                        "full_name": d.user.full_name, "specialization": d.specialization or d.position or "",
                        "hospital": d.hospital_id, "department": d.department_id})
        return page.response(out)


@extend_schema_view(get=extend_schema(exclude=True))
class DepartmentDoctorsNoSlashView(DepartmentDoctorsView):
    """The same, at the path the modal calls (no trailing slash)."""


class _PatientSearchInput(serializers.Serializer):
    # 3 to 20 digits, spaces anywhere (the HPN is shown as "123 456 7890").
    hpn = serializers.RegexField(r"^ *(?:[0-9] *){3,20}$", max_length=64,
                                 error_messages={"invalid": "Give 3 to 20 digits of the HPN (spaces allowed)."})


class PatientSearchView(ApiView):
    """Patients of the caller's hospital by HPN prefix (the new-admission modal)."""

    access = Access.STAFF

    @extend_schema(parameters=[_PatientSearchInput], responses={200: JSON_ARRAY}, summary="Find a patient by HPN")
    def get(self, request: Request) -> Response:
        data = validated(_PatientSearchInput, request.query_params)
        found = dept.patients_matching(fetched_by=request.user, hpn=data["hpn"].replace(" ", ""))
        if found is None:
            raise _not_found()
        # Typing a few digits lists patients: counted per account, so the hospital's register
        # cannot be walked prefix by prefix at machine speed.
        hit(scope="patient-search", ident=str(request.user.pk), rate=settings.PATIENT_SEARCH_RATE_PER_ACCOUNT)
        out = []
        for p in found:
            first, last = _split_name(p.full_name)
            # What the modal shows (name, age, gender) and nothing more: no email, no birth date.
            out.append({"id": str(p.pk), "hpn": p.hpn, "first_name": first, "last_name": last,
                        "full_name": p.full_name, "age": age_today(p.date_of_birth), "gender": p.gender or None})
        return Response(out)
