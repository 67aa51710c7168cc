"""The pharmacy directory and nominations (contract §6.3, ``services/pharmacyService.ts``)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from pharmacies import selectors, services
from pharmacies.models import NominationType
from pharmacies.presenters import nomination_history_item, nomination_payload, pharmacy_payload
from phb.api import pagination, serializers
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.fields import JS_SAFE_INTEGER, TextOrIntegerField
from phb.api.schema import VISIBLE_TEXT_PATTERN
from phb.api.views import ApiView
from phb.geo import haversine_km
from records.audit import audit_record

DEFAULT_RADIUS_KM = 10.0
MAX_RADIUS_KM = 500.0


class DirectoryQuery(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    city = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    state = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    electronic_prescriptions = serializers.BooleanField(required=False, allow_null=True, default=None)
    latitude = serializers.FloatField(required=False, min_value=-90, max_value=90)
    longitude = serializers.FloatField(required=False, min_value=-180, max_value=180)
    radius = serializers.FloatField(required=False, min_value=0.1, max_value=MAX_RADIUS_KM, default=DEFAULT_RADIUS_KM)

    def validate(self, attrs):
        if ("latitude" in attrs) != ("longitude" in attrs):
            raise serializers.ValidationError("Give both latitude and longitude, or neither.")
        return attrs


class NominateInput(serializers.Serializer):
    # The nomination page sends the directory's numeric ``id`` (NominatedPharmacyPage.tsx).
    pharmacy_id = TextOrIntegerField(required=False, max_length=32)
    practice_page_id = serializers.CharField(required=False, max_length=64)
    nomination_type = serializers.ChoiceField(choices=NominationType.choices, default=NominationType.REPEAT)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def validate(self, attrs):
        if not attrs.get("pharmacy_id") and not attrs.get("practice_page_id"):
            raise serializers.ValidationError("Choose a pharmacy (pharmacy_id).")
        return attrs


def _query(request: Request, serializer_class=DirectoryQuery) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _paged(request: Request, queryset: QuerySet, spec: pagination.PageSpec) -> tuple[pagination.Page, int]:
    """One page of ``queryset`` and the number of rows of the whole list (the body's ``count``)."""
    page = pagination.paginate(request, queryset, spec=spec)
    return page, pagination.total_of(page, queryset)


def _listed(page: pagination.Page) -> list[dict]:
    return [pharmacy_payload(p, distance_km=getattr(p, "distance_km", None)) for p in page.items]


class PharmacyListView(ApiView):
    access = Access.OWN

    @extend_schema(parameters=[DirectoryQuery, *pagination.PARAMETERS], responses={200: dict},
                   summary="Pharmacy directory (paged)",
                   description="By name; with `latitude`/`longitude`, those within `radius` km, nearest first "
                               "(`distance` in km). `count` is the number of matches of the whole list. "
                               + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        q = _query(request)
        qs = selectors.pharmacy_search(search=q["search"], city=q["city"], state=q["state"],
                                       electronic_prescriptions=q["electronic_prescriptions"])
        if "latitude" in q:
            qs = selectors.pharmacies_near(latitude=q["latitude"], longitude=q["longitude"], radius_km=q["radius"],
                                           base=qs)
            page, total = _paged(request, qs, pagination.PHARMACIES_BY_DISTANCE)
        else:
            page, total = _paged(request, qs, pagination.PHARMACIES)
        return page.response({"success": True, "count": total, "pharmacies": _listed(page)})


class NearbyQuery(DirectoryQuery):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)


class PharmacyNearbyView(ApiView):
    access = Access.OWN

    @extend_schema(parameters=[NearbyQuery, *pagination.PARAMETERS], responses={200: dict},
                   summary="Pharmacies by distance (paged)",
                   description="Those within `radius` km, nearest first, 20 a page by default (`limit` up to "
                               "100). `count` is the number within the radius. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        q = _query(request, NearbyQuery)
        qs = selectors.pharmacies_near(latitude=q["latitude"], longitude=q["longitude"], radius_km=q["radius"])
        page, total = _paged(request, qs, pagination.PHARMACIES_NEARBY)
        return page.response({"success": True, "count": total, "pharmacies": _listed(page),
                              "radius_km": q["radius"]})


class PharmacyDetailView(ApiView):
    access = Access.OWN

    @extend_schema(responses={200: dict}, operation_id="pharmacies_detail", summary="One pharmacy (distance when latitude/longitude are given)")
    def get(self, request: Request, pharmacy_id: str) -> Response:
        q = _query(request)
        pharmacy = selectors.pharmacy_detail(pharmacy_id=pharmacy_id)
        distance = None
        if "latitude" in q and pharmacy.latitude is not None:
            distance = haversine_km(q["latitude"], q["longitude"], pharmacy.latitude, pharmacy.longitude)
        return Response({"success": True, "pharmacy": pharmacy_payload(pharmacy, distance_km=distance)})


class NominatedPharmacyView(ApiView):
    access = Access.OWN

    @extend_schema(responses={200: dict}, summary="The caller's current nomination")
    def get(self, request: Request) -> Response:
        nomination = selectors.current_nomination(patient=request.user)
        if nomination is None:
            return Response({"success": True, "has_nomination": False, "nomination": None})
        audit_record(actor=request.user, patient=request.user, action="pharmacy_nomination_read",
                     object_type="nomination", object_id=str(nomination.pk), request=request)
        return Response({"success": True, "has_nomination": True, "nomination": nomination_payload(nomination)})

    @extend_schema(request={"application/json": {
        "type": "object",
        "properties": {
            "pharmacy_id": {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 32, "pattern": VISIBLE_TEXT_PATTERN},
                                      {"type": "integer", "minimum": -JS_SAFE_INTEGER, "maximum": JS_SAFE_INTEGER}],
                            "description": "The directory's `id` (a number) or `pharmacy_id`."},
            "practice_page_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": VISIBLE_TEXT_PATTERN,
                                 "description": "Not in this directory: a 404."},
            "nomination_type": {"type": "string", "enum": [c for c, _ in NominationType.choices]},
            "notes": {"type": "string", "maxLength": 500},
        },
        "anyOf": [{"required": ["pharmacy_id"]}, {"required": ["practice_page_id"]}],
    }}, responses={200: dict}, summary="Nominate a pharmacy (pharmacy_id)")
    def post(self, request: Request) -> Response:
        serializer = NominateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not data.get("pharmacy_id"):
            raise ApiError("Practice-page pharmacies are not in this directory; choose a pharmacy by pharmacy_id.",
                           status_code=404, code="not_found")
        nomination = services.nomination_set(patient=request.user, pharmacy_id=data["pharmacy_id"],
                                             nomination_type=data["nomination_type"], notes=data["notes"],
                                             request=request)
        nomination = selectors.current_nomination(patient=request.user) or nomination
        return Response({"success": True, "has_nomination": True, "nomination": nomination_payload(nomination),
                         "message": f"{nomination.pharmacy.name} is now your nominated pharmacy."})

    @extend_schema(responses={200: dict}, summary="End the current nomination")
    def delete(self, request: Request) -> Response:
        ended = services.nomination_end(patient=request.user, request=request)
        message = "Your pharmacy nomination has been removed." if ended else "You had no nominated pharmacy."
        return Response({"success": True, "has_nomination": False, "message": message})


class NominationHistoryView(ApiView):
    access = Access.OWN

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: dict},
                   summary="The caller's nominations, newest first (paged)",
                   description="`count` is the number of the caller's nominations. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        page, total = _paged(request, selectors.nominations_of(fetched_by=request.user), pagination.NOMINATIONS)
        return page.response({"success": True, "count": total,
                              "nominations": [nomination_history_item(n) for n in page.items]})


class NominatablePharmaciesView(ApiView):
    access = Access.OWN

    @extend_schema(parameters=[DirectoryQuery, *pagination.PARAMETERS], responses={200: dict},
                   summary="Pharmacies a patient may nominate (electronic prescriptions on), own city first (paged)",
                   description="Those in the caller's city first, then by name. `count` is the number of matches "
                               "of the whole list. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        q = _query(request)
        user = request.user
        qs = selectors.nominatable(search=q["search"], city=q["city"], state=q["state"], own_city=user.city or "")
        page, total = _paged(request, qs, pagination.NOMINATABLE_PHARMACIES)
        return page.response({"success": True, "count": total, "pharmacies": _listed(page),
                              "user_location": {"city": user.city or None, "state": user.state or None}})
