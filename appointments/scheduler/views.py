"""``POST /api/ml/optimize-appointment``: the scheduler's recommendation for a patient's request."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from appointments import slot_grid
from appointments.scheduler.recommend import Option, recommend
from phb.api import serializers
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.fields import CalendarDateField
from phb.api.views import ApiView
from phb.numbers import MAX_ID


def option_payload(option: Option, zone) -> dict:
    aware = slot_grid.local_to_aware(option.start_local, zone)
    return {
        "doctor_id": str(option.doctor_id),
        "doctor_name": option.doctor_name,
        "appointment_date": option.start_local.strftime("%Y-%m-%dT%H:%M:00Z"),
        "date": option.start_local.date().isoformat(),
        "time": option.start_local.strftime("%H:%M"),
        "start": aware.isoformat(),
    }


class OptimizeInput(serializers.Serializer):
    hospital_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    department_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    preferred_dates = serializers.ListField(child=CalendarDateField(), max_length=14, required=False)
    preferred_times = serializers.ListField(
        child=serializers.RegexField(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", max_length=5), max_length=24, required=False)
    priority = serializers.ChoiceField(choices=["normal", "urgent", "emergency"], default="normal")
    symptoms_data = serializers.ListField(child=serializers.DictField(), max_length=50, required=False,
                                          help_text="As in a booking; accepted, not read by the recommendation.")


class OptimizeAppointmentView(ApiView):
    access = Access.OWN

    @extend_schema(
        request=OptimizeInput,
        responses={200: dict}, summary="Recommended doctor and time for a booking",
        description=(
            "A signed-in patient sends `{hospital_id, department_id, preferred_dates: [YYYY-MM-DD...], "
            "preferred_times?: [HH:MM...], priority: normal|urgent|emergency, symptoms_data?}` and gets "
            "`{recommended_doctor, recommended_time, alternatives[], confidence, policy_version, fallback}`. "
            "`recommended_time` is the wall-clock form booking takes (`YYYY-MM-DDTHH:MM:00Z`, `Z` ignored). "
            "`fallback` is true when the heuristic answered (model missing, failing or over its time budget); "
            "its confidence is then 0.5. Only open places are ever recommended."
        ),
    )
    def post(self, request: Request) -> Response:
        if not request.user.is_patient:
            raise ApiError("Recommendations are for patients booking an appointment.", status_code=403,
                           code="not_a_patient")
        serializer = OptimizeInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = recommend(
            patient=request.user, hospital_id=data.get("hospital_id"), department_id=data["department_id"],
            preferred_dates=[day.isoformat() for day in data.get("preferred_dates", [])],
            preferred_times=data.get("preferred_times"), priority=data["priority"],
        )
        zone = slot_grid.hospital_zone(result.department.hospital)
        chosen = option_payload(result.chosen, zone)
        return Response({
            "status": "success",
            "recommended_doctor": {"id": chosen["doctor_id"], "name": chosen["doctor_name"]},
            "recommended_time": chosen["appointment_date"],
            "recommended": chosen,
            "alternatives": [option_payload(o, zone) for o in result.alternatives],
            "confidence": result.confidence,
            "policy_version": result.policy_version,
            "fallback": result.fallback,
            "department_id": result.department.pk,
            "hospital_id": result.department.hospital_id,
        })


@extend_schema_view(post=extend_schema(exclude=True))
class OptimizeAppointmentSlashView(OptimizeAppointmentView):
    """The same endpoint with a trailing slash (documented once, without it, as the seed names it)."""
