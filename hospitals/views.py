"""Hospital affiliation (H1–H5, P1, P2, D17) and hospital-admin endpoints."""

from __future__ import annotations

import secrets
from functools import partial

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import password_resets
from accounts import services as account_services
from accounts.models import CodePurpose
from accounts.serializers import user_payload
from accounts.throttles import password_attempt, throttle_code_check, throttle_email_action
from accounts.views import new_password_errors, signed_in_response
from hospitals import selectors, services
from hospitals.models import HospitalRegistration, RegistrationStatus
from hospitals.serializers import (
    AdminLoginInput,
    AdminResetCompleteInput,
    AdminResetRequestInput,
    AdminResetVerifyInput,
    AdminVerifyInput,
    HospitalRegisterInput,
    NearbyInput,
    SearchInput,
    admin_registration_payload,
    department_payload,
    hospital_payload,
    hospital_profile_payload,
    registration_payload,
    staff_hospital_payload,
)
from phb.afterresponse import defer
from phb.api import pagination
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.schema import JSON_ARRAY
from phb.api.serializers import validated
from phb.api.views import ApiView, PublicApiView, ScopedAPIView
from phb.zones import today_at


def _primary_payload(user) -> dict:
    """The caller's primary hospital: a patient's primary registration; for staff without one,
    the hospital they work at (approved by construction)."""
    registration = selectors.primary_registration_of(user=user)
    if registration is not None:
        return {"has_primary": True, "primary_hospital": hospital_payload(registration.hospital,
                                                                          registration=registration)}
    staff = selectors.staff_of(user=user)
    if staff is not None:
        return {"has_primary": True, "primary_hospital": staff_hospital_payload(staff)}
    return {"has_primary": False, "primary_hospital": None}


class HasPrimaryHospitalView(ApiView):
    access = Access.OWN

    @extend_schema(responses={200: dict}, summary="H1 does the caller have a primary hospital")
    def get(self, request: Request) -> Response:
        return Response(_primary_payload(request.user))


class HospitalListView(ApiView):
    """H3. Also carries ``has_primary``/``primary_hospital``, which the booking page reads here. Each
    hospital also says what it has (``selectors.facilities_of``) and its code as
    ``registration_number``: the organisation profile page reads them here."""

    access = Access.OWN

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: dict}, summary="H3 hospitals (paged)",
                   description="By name. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        # A hospital admin's list starts with her own hospital (the profile page looks for it in
        # the first page), which the pages after it by name then leave out: each hospital once.
        own = selectors.admin_hospital_of(user=request.user)
        own = own if own is not None and own.is_active else None
        listed = selectors.active_hospitals()
        if own is not None:
            listed = listed.exclude(pk=own.pk)
        page = pagination.paginate(request, listed, spec=pagination.HOSPITALS)
        items = list(page.items)
        if own is not None:
            page.total = None if page.total is None else page.total + 1
            if not request.query_params.get("cursor"):
                items.insert(0, own)
        facilities = selectors.facilities_of(hospital_ids=[h.id for h in items])
        hospitals = [{**hospital_payload(h), "registration_number": h.code, **facilities[h.id],
                      **hospital_profile_payload(h, today=today_at(h), own=own is not None and h.pk == own.pk)}
                     for h in items]
        return page.response({"hospitals": hospitals, "message": f"{len(hospitals)} hospitals",
                              **_primary_payload(request.user)})


class HospitalNearbyView(ApiView):
    access = Access.OWN

    @extend_schema(parameters=[NearbyInput, *pagination.PARAMETERS], responses={200: dict},
                   summary="H2 hospitals near a point (paged)",
                   description="Nearest first (then by id); `message` counts every hospital within the radius. "
                               + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        data = validated(NearbyInput, request.query_params)
        found = selectors.hospitals_near(latitude=data["latitude"], longitude=data["longitude"], radius_km=data["radius"])
        page = pagination.paginate(request, found, spec=pagination.HOSPITALS_NEARBY)
        total = pagination.total_of(page, found)
        return page.response(
            {
                "hospitals": [{**hospital_payload(h), "distance_km": round(h.distance, 2)} for h in page.items],
                "message": f"{total} hospitals within {data['radius']:g} km",
                "location": {"latitude": data["latitude"], "longitude": data["longitude"], "radius_km": data["radius"]},
            }
        )


class HospitalSearchView(ApiView):
    access = Access.OWN

    @extend_schema(parameters=[SearchInput, *pagination.PARAMETERS], responses={200: dict},
                   summary="H4 search hospitals (paged)",
                   description="By name; `total` counts every match. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        data = validated(SearchInput, request.query_params)
        found = selectors.hospital_list(q=data["q"], state=data["state"], city=data["city"])
        page = pagination.paginate(request, found, spec=pagination.HOSPITAL_SEARCH)
        total = pagination.total_of(page, found)
        hospitals = [hospital_payload(h) for h in page.items]
        return page.response({"hospitals": hospitals, "total": total, "message": f"{total} found"})


class HospitalRegisterView(ApiView):
    access = Access.OWN

    @extend_schema(request=HospitalRegisterInput, responses={201: dict}, summary="H5 register with a hospital")
    def post(self, request: Request) -> Response:
        data = validated(HospitalRegisterInput, request.data)
        registration = services.registration_create(
            user=request.user, hospital_id=data["hospital"], is_primary=data["is_primary"]
        )
        message = (
            "Registration approved."
            if registration.status == RegistrationStatus.APPROVED
            else "Registration submitted; the hospital will review it."
        )
        return Response({"message": message, "data": registration_payload(registration)}, status=201)


class MyRegistrationsView(ApiView):
    """P2: the caller's own registrations. A hospital admin's registrations page reads this same
    path (``?status=pending|approved``) for the registrations with the admin's hospital, as a
    bare array; admins have no registrations of their own."""

    access = Access.OWN | Access.STAFF

    @extend_schema(parameters=pagination.PARAMETERS,
                   responses={200: {"oneOf": [JSON_ARRAY, {"type": "object", "additionalProperties": {}}]}},
                   summary="P2 the caller's hospital registrations (admins: their hospital's, as an array, paged)",
                   description="A hospital admin's: newest first, `?status=`. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        if selectors.admin_hospital_of(user=request.user) is not None:
            page = _admin_registrations_page(request)
            return page.response([admin_registration_payload(r) for r in page.items])
        pagination.page_size(request, pagination.HOSPITAL_REGISTRATIONS)  # a `limit` that is not a number is a 400
        items = [registration_payload(r) for r in selectors.registrations_of(user=request.user)]  # one per hospital
        return Response({"registrations": items, "count": len(items)})


class PrimaryDepartmentsView(ApiView):
    """P1: departments of the caller's primary hospital (404 none, 403 not yet approved)."""

    access = Access.OWN

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: dict},
                   summary="P1 departments of my primary hospital (paged)", operation_id="departments_of_primary_hospital",
                   description="By name. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        registration = selectors.primary_registration_of(user=request.user)
        if registration is None:
            raise ApiError("You have no primary hospital. Register with a hospital first.", status_code=404,
                           code="no_primary_hospital")
        if registration.status != RegistrationStatus.APPROVED:
            raise ApiError("You are not registered with this hospital yet (registration pending approval).",
                           status_code=403, code="registration_not_approved")
        page = _departments_page(request, hospital_id=registration.hospital_id)
        return page.response({"status": "success", "departments": [department_payload(d) for d in page.items],
                              "hospital": hospital_payload(registration.hospital)})


class HospitalDepartmentsView(ApiView):
    """D17: departments of any active hospital (referral targets)."""

    access = Access.OWN | Access.STAFF

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: dict},
                   summary="D17 departments of a hospital (paged)", operation_id="departments_of_hospital",
                   description="By name. " + pagination.DESCRIPTION)
    def get(self, request: Request, hospital_id: int) -> Response:
        page = _departments_page(request, hospital_id=hospital_id)
        return page.response({"status": "success", "departments": [department_payload(d) for d in page.items]})


def _departments_page(request: Request, *, hospital_id: int) -> pagination.Page:
    """One page of a hospital's active departments, by name."""
    return pagination.paginate(request, selectors.departments_of_hospital(hospital_id=hospital_id),
                               spec=pagination.DEPARTMENTS)


def _admin_registrations_page(request: Request) -> pagination.Page:
    """One page of the registrations with the caller's hospital (``?status=``), newest first."""
    status = request.query_params.get("status", "")
    if status and status not in RegistrationStatus.values:
        raise ApiError(f"status must be one of {', '.join(RegistrationStatus.values)}.", code="invalid")
    found = selectors.registrations_for_admin(fetched_by=request.user, status=status)
    return pagination.paginate(request, found, spec=pagination.HOSPITAL_REGISTRATIONS)


class AdminRegistrationListView(ApiView):
    access = Access.STAFF

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: dict},
                   summary="Hospital admin: registrations to review (paged)",
                   description="Newest first, `?status=`. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        page = _admin_registrations_page(request)
        return page.response({"registrations": [admin_registration_payload(r) for r in page.items]})


class AdminRegistrationDecisionView(ScopedAPIView):
    access = Access.STAFF

    approve = True

    def scoped_queryset(self, user):
        return selectors.registrations_for_admin(fetched_by=user)

    @extend_schema(request=None, responses={200: dict}, summary="Hospital admin: approve or reject a registration")
    def post(self, request: Request, registration_id) -> Response:
        registration: HospitalRegistration = self.get_scoped_object(request, pk=registration_id)
        decided = services.registration_decide(registration=registration, approve=self.approve, decided_by=request.user)
        return Response({"message": f"Registration {decided.status}.", "data": registration_payload(decided)})


class AdminLoginView(PublicApiView):
    """Hospital admin sign-in: password and hospital code, then always a 2FA code by email."""

    @extend_schema(request=AdminLoginInput, responses={200: dict}, summary="Hospital admin login (step 1)")
    def post(self, request: Request) -> Response:
        data = validated(AdminLoginInput, request.data)
        with password_attempt(request, data["email"]):
            user = account_services.login_check_password(email=data["email"], password=data["password"])
            if not selectors.administers_hospital_code(user=user, hospital_code=data["hospital_code"]):
                raise ApiError("Invalid email, password or hospital code.", status_code=401,
                               code="invalid_credentials")
        account_services.code_send(user=user, purpose=CodePurpose.LOGIN)
        return Response({"status": "pending", "require_2fa": True, "require_otp": True,
                         "message": "We sent a verification code to your email."})


class AdminVerifyView(PublicApiView):
    @extend_schema(request=AdminVerifyInput, responses={200: dict}, summary="Hospital admin login (step 2)")
    def post(self, request: Request) -> Response:
        data = validated(AdminVerifyInput, request.data)
        throttle_code_check(request, data["email"])
        user = account_services.login_verify_code(email=data["email"], code=data["verification_code"])
        if selectors.admin_hospital_of(user=user) is None:
            raise ApiError("Invalid or expired code.", code="invalid_code")
        payload = _admin_profile(user)
        return signed_in_response(user=user, remember_me=data["remember_device"],
                                  body={"status": "success", "message": "Signed in.", "user_data": payload})


class AdminResetRequestView(PublicApiView):
    """Step 1 of 3. Answers the same token-shaped reply whether or not the admin exists."""

    @extend_schema(request=AdminResetRequestInput, responses={200: dict}, summary="Hospital admin password reset: request")
    def post(self, request: Request) -> Response:
        data = validated(AdminResetRequestInput, request.data)
        throttle_email_action(request, data["email"], action="reset")
        # The token is made here and the lookup runs after the answer is sent: the same reply, at
        # the same cost, whether or not the details match an admin.
        token = secrets.token_urlsafe(32)
        defer(partial(_admin_reset_open, email=data["email"], hospital_code=data["hospital_code"], token=token),
              name="admin_password_reset")
        return Response({"status": "success", "token": token,
                         "message": "If the details match a hospital administrator, we emailed a verification code."})


class AdminResetVerifyView(PublicApiView):
    """Step 2 of 3: the emailed code, in exchange for the second token."""

    @extend_schema(request=AdminResetVerifyInput, responses={200: dict}, summary="Hospital admin password reset: verify")
    def post(self, request: Request) -> Response:
        data = validated(AdminResetVerifyInput, request.data)
        throttle_code_check(request, data["email"])
        secondary = password_resets.password_reset_code_verify(
            token=data["token"], email=data["email"], code=data["verification_code"]
        )
        return Response({"status": "success", "token": data["token"], "secondary_token": secondary,
                         "message": "Code verified. Choose a new password."})


class AdminResetCompleteView(PublicApiView):
    """Step 3 of 3: both tokens and the new password; every session of the account is signed out."""

    @extend_schema(request=AdminResetCompleteInput, responses={200: dict},
                   summary="Hospital admin password reset: complete")
    def post(self, request: Request) -> Response:
        data = validated(AdminResetCompleteInput, request.data)
        throttle_code_check(request, data["email"])
        with new_password_errors():
            password_resets.password_reset_code_complete(
                token=data["token"], secondary_token=data["secondary_token"], email=data["email"],
                new_password=data["new_password"],
            )
        return Response({"status": "success", "message": "Password updated. You can sign in now."})


def _admin_reset_open(*, email: str, hospital_code: str, token: str) -> None:
    admin = selectors.admin_for_reset(email=email, hospital_code=hospital_code)
    password_resets.password_reset_code_start(user=admin, token=token, email=email, hospital_code=hospital_code)


def _admin_profile(user) -> dict:
    staff = selectors.staff_of(user=user)
    return {
        **user_payload(user),
        "user_id": str(user.id),
        "name": user.full_name,
        "position": staff.position if staff else "",
        "hospital": hospital_payload(staff.hospital) if staff else None,
    }


class AdminProfileView(ApiView):
    access = Access.STAFF

    @extend_schema(responses={200: dict}, summary="Hospital admin profile")
    def get(self, request: Request) -> Response:
        if selectors.admin_hospital_of(user=request.user) is None:
            raise ApiError("Not found.", status_code=404, code="not_found")
        return Response(_admin_profile(request.user))


class RegistryMyInfoView(ApiView):
    """Professional details that decide the professional view in the frontend."""

    access = Access.OWN

    @extend_schema(responses={200: dict}, summary="The caller's professional registration")
    def get(self, request: Request) -> Response:
        if request.user.is_pharmacist:
            return Response(_pharmacist_registration(request.user))
        staff = selectors.staff_of(user=request.user)
        if staff is None or not request.user.is_doctor:
            raise ApiError("You have no professional registration.", status_code=404, code="not_found")
        return Response({
            "professional_type": "doctor",
            "license_number": staff.license_number,
            "specialization": staff.specialization or (staff.department.name if staff.department else ""),
            "verified": staff.verified,
            "hospital": hospital_payload(staff.hospital),
            "department": department_payload(staff.department) if staff.department else None,
        })


def _pharmacist_registration(user) -> dict:
    from pharmacies.selectors import pharmacist_of

    pharmacist = pharmacist_of(user=user)
    if pharmacist is None:
        raise ApiError("You have no professional registration.", status_code=404, code="not_found")
    return {
        "professional_type": "pharmacist",
        "license_number": pharmacist.registration_number,
        "specialization": "Pharmacy",
        "verified": pharmacist.verified,
        "pharmacy": {"id": pharmacist.pharmacy_id, "name": pharmacist.pharmacy.name, "code": pharmacist.pharmacy.code},
    }
