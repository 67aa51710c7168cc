from __future__ import annotations

from accounts.serializers import NewPasswordInput, user_payload
from hospitals.admin_users import status_of
from hospitals.models import (
    HOSPITAL_CONTACT_PERSONS,
    HOSPITAL_DIGITAL_FLAGS,
    HOSPITAL_PROFILE_LINES,
    Department,
    Hospital,
    HospitalRegistration,
    StaffMember,
)
from phb.api import serializers
from phb.numbers import MAX_ID
from phb.zones import date_at


def hospital_payload(hospital: Hospital, *, registration: HospitalRegistration | None = None) -> dict:
    body = {
        "id": hospital.id,
        "name": hospital.name,
        "hospital_type": hospital.hospital_type,
        "code": hospital.code,
        "address": hospital.address,
        "city": hospital.city,
        "state": hospital.state,
        "country": hospital.country,
        "region": hospital.region,
        "available": hospital.available,
        "latitude": float(hospital.latitude) if hospital.latitude is not None else None,
        "longitude": float(hospital.longitude) if hospital.longitude is not None else None,
    }
    if registration is not None:
        body["status"] = registration.status
        body["registration_date"] = date_at(registration.created_at, hospital).isoformat()
        body["is_primary"] = registration.is_primary
    return body


def hospital_profile_payload(hospital: Hospital, *, today, own: bool) -> dict:
    """What the organisation profile page reads of a hospital (H3). Blank lines are null, as the
    page hides them; accreditation lasts until its expiry day. ``own``: the caller administers
    this hospital, so its contact persons are included (null for anyone else)."""
    body: dict = {name: getattr(hospital, name) or None for name in HOSPITAL_PROFILE_LINES}
    body.update({name: (getattr(hospital, name) or None) if own else None for name in HOSPITAL_CONTACT_PERSONS})
    body["medical_director_years_experience"] = hospital.medical_director_years_experience if own else 0
    expiry = hospital.accreditation_expiry
    body.update({
        "is_verified": hospital.is_verified,
        "verification_date": hospital.verification_date.isoformat() if hospital.verification_date else None,
        "accreditation_status": hospital.accredited and (expiry is None or expiry >= today),
        "accreditation_expiry": expiry.isoformat() if expiry else None,
    })
    body.update({name: getattr(hospital, name) for name in HOSPITAL_DIGITAL_FLAGS})
    return body


def department_payload(department: Department) -> dict:
    return {
        "id": department.id,
        "name": department.name,
        "code": department.code,
        "description": department.description,
        "department_type": department.department_type,
        "is_active": department.is_active,
        "hospital": department.hospital_id,
    }


def registration_payload(registration: HospitalRegistration) -> dict:
    return {
        "id": str(registration.id),
        "hospital": hospital_payload(registration.hospital),
        "hospital_id": registration.hospital_id,
        "hospital_name": registration.hospital.name,
        "is_primary": registration.is_primary,
        "status": registration.status,
        "created_at": registration.created_at.isoformat(),
        "decided_at": registration.decided_at.isoformat() if registration.decided_at else None,
    }


def admin_registration_payload(registration: HospitalRegistration) -> dict:
    """A registration as the hospital admin's registrations page reads it: the patient under
    ``user`` (identifiers masked as on the profile)."""
    patient = registration.user
    return {
        **registration_payload(registration),
        "user": user_payload(patient),
        "patient_id": str(patient.id),
        "patient_name": patient.full_name,
        "patient_hpn": patient.hpn,
        "approved_date": (registration.decided_at.isoformat()
                          if registration.decided_at and registration.status == "approved" else None),
    }


def admin_user_payload(staff: StaffMember) -> dict:
    """One hospital admin as the organisation's user management page reads it."""
    user = staff.user
    department = staff.department
    return {
        "id": staff.pk,
        "user_id": str(user.pk),
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role,
        "status": status_of(user),
        "department": ({"id": department.id, "name": department.name, "type": department.department_type,
                        "code": department.code} if department else None),
        "position": staff.position,
        "phone": user.phone,
        "last_login": user.last_login.isoformat() if user.last_login else None,
        "joined_date": user.date_joined.isoformat() if user.date_joined else None,
        "is_general_admin": department is None,
        "is_department_head": department is not None,
    }


def staff_hospital_payload(staff: StaffMember) -> dict:
    """A staff member's hospital where a patient's primary hospital is read."""
    return {
        **hospital_payload(staff.hospital),
        "status": "approved",
        "registration_date": date_at(staff.user.date_joined, staff.hospital).isoformat(),
        "is_primary": True,
        "affiliation": "staff",
    }


class HospitalRegisterInput(serializers.Serializer):
    hospital = serializers.IntegerField(min_value=1)
    is_primary = serializers.BooleanField(default=False)


class NearbyInput(serializers.Serializer):
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    radius = serializers.FloatField(min_value=0.1, max_value=500, default=10)


class SearchInput(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    state = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    city = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")


class AdminUsersInput(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    status = serializers.ChoiceField(choices=["active", "pending", "inactive", "suspended"], required=False)
    role = serializers.ChoiceField(choices=["general", "department_head"], required=False)


_PHONE = r"^\+?[0-9 ()-]{7,20}$"


class AdminInviteInput(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    full_name = serializers.CharField(min_length=2, max_length=200)
    role = serializers.ChoiceField(choices=["hospital_admin"], default="hospital_admin",
                                   error_messages={"invalid_choice": "Only hospital administrators are invited "
                                                                     "here (role must be 'hospital_admin')."})
    department = serializers.CharField(required=False, allow_blank=True, max_length=20)
    position = serializers.CharField(max_length=64)
    phone = serializers.RegexField(_PHONE, required=False, allow_blank=True, max_length=20)


class AdminUpdateInput(serializers.Serializer):
    full_name = serializers.CharField(required=False, min_length=2, max_length=200)
    department = serializers.CharField(required=False, allow_blank=True, max_length=20)
    position = serializers.CharField(required=False, max_length=64)
    phone = serializers.RegexField(_PHONE, required=False, allow_blank=True, max_length=20)
    # ``pending`` is what the list shows an invited administrator; the edit form sends it back
    # unchanged, and it means "no change" (refused by the service for an account not pending).
    status = serializers.ChoiceField(choices=["active", "pending", "inactive", "suspended"], required=False)


class AdminBulkInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=["activate", "deactivate", "delete"])
    user_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
                                     min_length=1, max_length=200)


class AdminLoginInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    hospital_code = serializers.CharField(max_length=32)


class AdminResetRequestInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    hospital_code = serializers.CharField(max_length=32)


class AdminResetVerifyInput(serializers.Serializer):
    token = serializers.CharField(max_length=200)
    verification_code = serializers.CharField(max_length=32)
    email = serializers.CharField(max_length=254)
    hospital_code = serializers.CharField(max_length=32, required=False, allow_blank=True)


class AdminResetCompleteInput(NewPasswordInput):
    token = serializers.CharField(max_length=200)
    secondary_token = serializers.CharField(max_length=200)
    email = serializers.CharField(max_length=254)


class AdminVerifyInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    verification_code = serializers.CharField(max_length=32)
    remember_device = serializers.BooleanField(default=False)
