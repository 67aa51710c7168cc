"""Input and output shapes for the auth endpoints (contract §1)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from django.contrib.auth import password_validation

from accounts.birthdates import birth_date_problem
from accounts.models import User
from accounts.roles import login_code_required
from phb.api import serializers
from phb.api.schema import PASSWORD_SCHEMA, REQUIRED_CONSENT_SCHEMA, documented
from phb.zones import date_at


def _mask(value: str) -> str | None:
    return f"{'*' * max(0, len(value) - 4)}{value[-4:]}" if value else None


def hospital_brief(registration) -> dict | None:
    if registration is None:
        return None
    hospital = registration.hospital
    return {
        "id": hospital.id,
        "name": hospital.name,
        "address": hospital.address,
        "city": hospital.city,
        "state": hospital.state,
        "country": hospital.country,
        "region": hospital.region,
        "registration_date": date_at(registration.created_at, hospital).isoformat(),
        "status": registration.status,
        "available": hospital.available,
    }


def user_payload(user: User, *, primary_registration=None) -> dict:
    """The ``User`` object the frontend reads from profile, login ``user`` and OTP ``user_data``."""
    return {
        "id": str(user.id),
        "full_name": user.full_name,
        "email": user.email,
        "hpn": user.hpn,
        "gender": user.gender or None,
        "date_of_birth": user.date_of_birth.isoformat() if user.date_of_birth else None,
        "phone": user.phone or None,
        "phoneNumber": user.phone or None,
        "address": user.address or None,
        "country": user.country or None,
        "state": user.state or None,
        "city": user.city or None,
        "nin": _mask(user.nin),
        "ssn": _mask(user.ssn),
        "has_completed_onboarding": user.has_completed_onboarding,
        "is_verified": user.email_verified,
        "role": user.role,
        "primaryHospital": hospital_brief(primary_registration),
        "contactPreferences": user.contact_preferences or {},
        "preferred_language": user.preferred_language or None,
        "secondary_languages": user.secondary_languages or [],
        "custom_language": user.custom_language or None,
        "otp_required_for_login": login_code_required(user),
        "date_joined": user.date_joined.isoformat(),
    }


class LoginInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    remember_me = serializers.BooleanField(required=False, default=False)
    captcha_token = serializers.CharField(required=False, allow_blank=True)
    captcha_answer = serializers.CharField(required=False, allow_blank=True)


class VerifyLoginCodeInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)
    otp = serializers.CharField(max_length=32, trim_whitespace=True)
    remember_me = serializers.BooleanField(required=False, default=False)


class EmailInput(serializers.Serializer):
    email = serializers.CharField(max_length=254)


class RegisterInput(serializers.Serializer):
    full_name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    password = documented(serializers.CharField, PASSWORD_SCHEMA)(min_length=8, max_length=256, trim_whitespace=False)
    gender = serializers.CharField(max_length=32, required=False, allow_blank=True)
    date_of_birth = serializers.DateField()
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    country = serializers.CharField(max_length=64, required=False, allow_blank=True)
    state = serializers.CharField(max_length=64, required=False, allow_blank=True)
    city = serializers.CharField(max_length=64, required=False, allow_blank=True)
    preferred_language = serializers.CharField(max_length=64, required=False, allow_blank=True)
    secondary_languages = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=20
    )
    custom_language = serializers.CharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    nin = serializers.CharField(max_length=32, required=False, allow_blank=True, allow_null=True)
    ssn = serializers.CharField(max_length=32, required=False, allow_blank=True, allow_null=True)
    consent_terms = documented(serializers.BooleanField, REQUIRED_CONSENT_SCHEMA)()
    consent_hipaa = documented(serializers.BooleanField, REQUIRED_CONSENT_SCHEMA)()
    consent_data_processing = documented(serializers.BooleanField, REQUIRED_CONSENT_SCHEMA)()

    def validate_date_of_birth(self, value: date) -> date:
        problem = birth_date_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_phone(self, value: str) -> str:
        if value and len(value) < 8:
            raise serializers.ValidationError("Enter a valid phone number.")
        return value

    def validate(self, attrs: dict) -> dict:
        for consent in ("consent_terms", "consent_hipaa", "consent_data_processing"):
            if not attrs.get(consent):
                raise serializers.ValidationError({consent: ["This consent is required to register."]})
        if (attrs.get("country") or "").lower() == "nigeria" and attrs.get("nin"):
            if len(attrs["nin"]) != 11 or not attrs["nin"].isascii() or not attrs["nin"].isdigit():
                raise serializers.ValidationError({"nin": ["NIN must be exactly 11 digits."]})
        candidate = User(email=attrs["email"], full_name=attrs.get("full_name", ""))
        try:
            password_validation.validate_password(attrs["password"], candidate)
        except Exception as exc:  # django ValidationError -> field error
            raise serializers.ValidationError({"password": list(getattr(exc, "messages", [str(exc)]))})
        return attrs


class ProfileUpdateInput(serializers.Serializer):
    """PATCH /api/profile/. The frontend sends null/undefined as "": blank dates become null."""

    full_name = serializers.CharField(max_length=200, required=False)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    country = serializers.CharField(max_length=64, required=False, allow_blank=True)
    state = serializers.CharField(max_length=64, required=False, allow_blank=True)
    city = serializers.CharField(max_length=64, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    gender = serializers.CharField(max_length=32, required=False, allow_blank=True)
    preferred_language = serializers.CharField(max_length=64, required=False, allow_blank=True)
    secondary_languages = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=20
    )
    custom_language = serializers.CharField(max_length=64, required=False, allow_blank=True)
    otp_required_for_login = serializers.BooleanField(required=False)
    current_password = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, max_length=256,
                                             help_text="Required to change a security setting (otp_required_for_login)")
    contact_preferences = serializers.DictField(child=serializers.BooleanField(), required=False)

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            data = dict(data.items()) if not hasattr(data, "copy") else data.copy()
            if data.get("date_of_birth") == "":
                data["date_of_birth"] = None
            if data.get("secondary_languages") == "":
                data["secondary_languages"] = []
            if data.get("otp_required_for_login") == "":
                data.pop("otp_required_for_login")
        return super().to_internal_value(data)


class NewPasswordInput(serializers.Serializer):
    """``new_password`` with its confirmation; subclasses add what proves the caller may set it."""

    new_password = documented(serializers.CharField, PASSWORD_SCHEMA)(trim_whitespace=False, min_length=8)
    confirm_password = serializers.CharField(trim_whitespace=False)

    def validate(self, attrs):
        if attrs["new_password"] != attrs["confirm_password"]:
            raise serializers.ValidationError({"confirm_password": ["Passwords do not match."]})
        return attrs


class PasswordChangeInput(NewPasswordInput):
    current_password = serializers.CharField(trim_whitespace=False)


class PasswordResetConfirmInput(NewPasswordInput):
    token = serializers.CharField(max_length=200)


class OnboardingInput(serializers.Serializer):
    has_completed_onboarding = serializers.BooleanField(default=True)
