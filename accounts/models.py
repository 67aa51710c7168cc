"""Users, one-time codes and password-reset tokens."""

from __future__ import annotations

import secrets
import uuid
from types import SimpleNamespace

from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from phb.jsonfield import JSONField


class Role(models.TextChoices):
    PATIENT = "patient", "Patient"
    DOCTOR = "doctor", "Doctor"
    HOSPITAL_ADMIN = "hospital_admin", "Hospital admin"
    PHARMACIST = "pharmacist", "Pharmacist"


def new_hpn() -> str:
    """A Health Personal Number: 13 random digits, shown grouped as 3-3-3-4."""
    return "".join(str(secrets.randbelow(10)) for _ in range(13))


_UNKNOWN = object()  # the password hash a User was loaded with, when it was not loaded


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, *, password_hash: str | None = None,
                    **extra) -> User:
        """``password_hash`` (from ``make_password``) lets a caller hash before opening a transaction."""
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password_hash is not None:
            user.password = password_hash
        else:
            user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("full_name", "Platform staff")
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PATIENT, db_index=True)
    hpn = models.CharField("health personal number", max_length=20, unique=True, default=new_hpn)
    gender = models.CharField(max_length=32, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    address = models.CharField(max_length=255, blank=True)
    country = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=64, blank=True)
    city = models.CharField(max_length=64, blank=True)
    preferred_language = models.CharField(max_length=64, blank=True)
    secondary_languages = JSONField(default=list, blank=True)
    custom_language = models.CharField(max_length=64, blank=True)
    # Masked (``*******8901``); the full number is sealed in ``*_sealed`` (``accounts.identifiers``).
    nin = models.CharField("national identification number", max_length=32, blank=True)
    nin_sealed = models.TextField(blank=True, editable=False)
    ssn = models.CharField(max_length=32, blank=True)
    ssn_sealed = models.TextField(blank=True, editable=False)
    contact_preferences = JSONField(default=dict, blank=True)
    has_completed_onboarding = models.BooleanField(default=False)
    email_verified = models.BooleanField(default=False)
    otp_required_for_login = models.BooleanField(default=True)
    token_version = models.PositiveIntegerField(
        default=0, editable=False, help_text="Raised to end every session at once (logout, password change or reset)"
    )
    record_sessions_version = models.PositiveIntegerField(
        default=0, editable=False,
        help_text="Raised whenever medical-access sessions of this holder end early (records.sessions)",
    )
    tracking_days_version = models.PositiveIntegerField(
        default=0, editable=False,
        help_text="Raised whenever this user's cycle-tracker days are written (tracking.kept_days)",
    )
    consent_terms_at = models.DateTimeField(null=True, blank=True)
    consent_hipaa_at = models.DateTimeField(null=True, blank=True)
    consent_data_processing_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]
        indexes = [
            models.Index(fields=["role", "is_active"]),
            # The admin's changelist in its order (``accounts.admin.UserAdmin``).
            models.Index(fields=["-date_joined", "-id"], name="user_recent"),
        ]

    def __str__(self) -> str:  # never a name or email: admin lists show ids
        return f"User {self.pk}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_password = instance.__dict__.get("password", _UNKNOWN)
        instance._stored_staff = instance._staff_now() if {"role", "is_staff"} <= instance.__dict__.keys() else _UNKNOWN
        return instance

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        if fields is None or "password" in fields:
            self._stored_password = self.__dict__.get("password", _UNKNOWN)
        if fields is None or {"role", "is_staff"} & set(fields):
            self._stored_staff = _UNKNOWN

    def save(self, *args, **kwargs):
        """A save that changes the stored password hash, from whatever path (the API, a reset,
        the Django admin's password form, a shell's ``set_password``), ends every session of
        the account (``accounts.services.sessions_end``). So does a save that makes the account
        staff (``accounts.roles.is_staff_member``): staff always sign in with the emailed code,
        and a session opened before, perhaps with the password alone, must not carry the new role."""
        self.email = (self.email or "").strip().lower()
        password_changed = self._password_changes(kwargs.get("update_fields"), kwargs.get("using"))
        became_staff = self._becomes_staff(kwargs.get("update_fields"), kwargs.get("using"))
        super().save(*args, **kwargs)
        self._stored_password = self.password
        self._stored_staff = self._staff_now()
        if password_changed or became_staff:
            from accounts.services import sessions_end

            sessions_end(user=self)

    def check_password(self, raw_password: str) -> bool:
        """Django's check, whose re-hash of a right password under newer hasher settings is saved
        without ending the account's sessions: the password itself did not change."""

        def rehash(raw: str) -> None:
            self.set_password(raw)
            self._password = None
            self._rehashing = True
            try:
                self.save(update_fields=["password"])
            finally:
                self._rehashing = False

        return check_password(raw_password, self.password, rehash)

    def _password_changes(self, update_fields, using) -> bool:
        """Whether this save writes a password hash other than the one stored (a re-hash of the
        same password at sign-in does not count)."""
        if self._state.adding or "password" not in self.__dict__ or getattr(self, "_rehashing", False):
            return False
        if update_fields is not None and "password" not in update_fields:
            return False
        stored = getattr(self, "_stored_password", _UNKNOWN)
        if stored is _UNKNOWN:  # loaded without the password, or made in memory
            stored = (type(self)._base_manager.using(using or self._state.db or "default")
                      .filter(pk=self.pk).values_list("password", flat=True).first())
        return stored is not None and stored != self.password

    def _staff_now(self) -> bool:
        from accounts.roles import is_staff_member

        return is_staff_member(self)

    def _becomes_staff(self, update_fields, using) -> bool:
        """Whether this save makes a stored account that was not staff a staff account."""
        if self._state.adding or not self._staff_now():
            return False
        if update_fields is not None and not {"role", "is_staff"} & set(update_fields):
            return False
        stored = getattr(self, "_stored_staff", _UNKNOWN)
        if stored is _UNKNOWN:  # loaded without the role, or made in memory
            row = (type(self)._base_manager.using(using or self._state.db or "default")
                   .filter(pk=self.pk).values("role", "is_staff").first())
            if row is None:
                return False
            stored = self._staff_of(**row)
        return not stored

    @staticmethod
    def _staff_of(*, role: str, is_staff: bool) -> bool:
        from accounts.roles import is_staff_member

        return is_staff_member(SimpleNamespace(role=role, is_staff=is_staff))

    @property
    def is_patient(self) -> bool:
        return self.role == Role.PATIENT

    @property
    def is_doctor(self) -> bool:
        return self.role == Role.DOCTOR

    @property
    def is_hospital_admin(self) -> bool:
        return self.role == Role.HOSPITAL_ADMIN

    @property
    def is_pharmacist(self) -> bool:
        return self.role == Role.PHARMACIST


class CodePurpose(models.TextChoices):
    LOGIN = "login", "Login"
    MEDICAL_RECORDS = "medical_records", "Medical records access"
    CLINICIAN_ACCESS = "clinician_access", "Clinician access consent"
    WOMENS_HEALTH = "womens_health", "Women's health verification"
    ADMIN_PASSWORD_RESET = "admin_password_reset", "Hospital admin password reset"


class OneTimeCode(models.Model):
    """A 6-digit code, stored only as a keyed hash. See ``accounts.codes``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="one_time_codes")
    purpose = models.CharField(max_length=32, choices=CodePurpose.choices)
    subject = models.CharField(max_length=64, blank=True, help_text="What the code is bound to, beyond its purpose")
    code_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    started_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the step that asked for this code happened (a sign-in's password step); a resent code keeps it",
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose", "subject", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} code {self.pk}"


class PasswordResetToken(models.Model):
    """Single-use, expiring; only the SHA-256 of the 256-bit token is stored.

    Patients reset through an emailed link (the token alone). Hospital admins reset in three steps:
    the token names the flow, an emailed code proves the mailbox, and only then is a second token
    (``secondary_hash``) issued that, with the first, sets the new password.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_reset_tokens")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    requires_code = models.BooleanField(default=False, help_text="Hospital-admin flow: the emailed code must be verified")
    secondary_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"reset token {self.pk}"
