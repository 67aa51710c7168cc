from django.contrib import admin

from hospitals.departments import department_update
from hospitals.models import (
    HOSPITAL_CONTACT_PERSONS,
    HOSPITAL_DIGITAL_FLAGS,
    HOSPITAL_VERIFICATION,
    Department,
    Hospital,
    HospitalRegistration,
    StaffMember,
)
from hospitals.services import registration_decide
from phb.admin_actions import service_action


class _NoDepartmentDeletion:
    """Departments are deactivated (``is_active``, through the API), never deleted: deleting one
    would set its staff's department to none, and an administrator without a department is a
    general administrator, so its heads would silently gain the right to manage administrators."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class DepartmentInline(_NoDepartmentDeletion, admin.TabularInline):
    model = Department
    extra = 0
    readonly_fields = ("is_active",)  # through the department list's actions (DepartmentAdmin)


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "code", "city", "state", "is_verified", "accredited", "auto_approve_registrations",
                    "is_active")
    list_filter = ("is_active", "is_verified", "accredited", "hospital_type", "auto_approve_registrations", "state",
                   "country")
    search_fields = ("name", "code", "city", "state")
    inlines = [DepartmentInline]
    fieldsets = (
        (None, {"fields": ("name", "hospital_type", "code", "is_active", "available", "auto_approve_registrations",
                           "time_zone")}),
        ("Where", {"fields": ("address", "city", "state", "postal_code", "country", "region", "latitude",
                              "longitude")}),
        ("Contact", {"fields": ("phone", "email", "website", "emergency_contact")}),
        ("Contact persons (shown to the hospital's own admins only)", {"fields": HOSPITAL_CONTACT_PERSONS}),
        ("Verification and accreditation", {"fields": HOSPITAL_VERIFICATION}),
        ("Digital infrastructure", {"fields": HOSPITAL_DIGITAL_FLAGS}),
    )


def _set_active(active: bool):
    """(De)activate the selected departments through ``department_update``, the API's rule: a
    department is closed only with nobody admitted or waiting there and no staff assigned, counted
    under its row lock."""
    verb = "activate" if active else "deactivate"
    return service_action(
        name=verb, description=f"{verb.capitalize()} the selected departments",
        apply=lambda department, request: department_update(department=department, data={"is_active": active}),
        done=lambda n: f"{n} department(s) {verb}d.",
        refused=lambda department, exc: f"{department.name}: {exc.detail}")


@admin.register(Department)
class DepartmentAdmin(_NoDepartmentDeletion, admin.ModelAdmin):
    """``is_active`` changes through the actions, which refuse closing a department that still has
    patients or staff, as the API does."""

    list_display = ("id", "name", "hospital", "code", "is_active")
    list_filter = ("is_active", "hospital", "department_type")
    search_fields = ("name", "code", "hospital__name")
    readonly_fields = ("is_active",)
    actions = [_set_active(False), _set_active(True)]


def _decide(approve: bool):
    """Decide the selected pending registrations through ``registration_decide`` (under the row's
    lock, once, naming the operator), as a hospital admin's decision does."""
    verb = "approve" if approve else "reject"
    return service_action(
        name=verb, description=f"{verb.capitalize()} the selected pending registrations",
        apply=lambda registration, request: registration_decide(registration=registration, approve=approve,
                                                                decided_by=request.user),
        done=lambda n: f"{n} registration(s) {verb}d.",
        refused=lambda registration, exc: f"Registration {registration.pk}: {exc.detail}")


@admin.register(HospitalRegistration)
class HospitalRegistrationAdmin(admin.ModelAdmin):
    """A registration is decided through the actions, once, with who and when kept; its status and
    decision are not fields of the form."""

    list_display = ("id", "user_id", "hospital", "is_primary", "status", "created_at", "decided_at")
    list_filter = ("status", "is_primary", "hospital")
    search_fields = ("id", "user__email", "user__hpn", "hospital__name")
    raw_id_fields = ("user",)
    readonly_fields = ("status", "decided_at", "decided_by")
    actions = [_decide(True), _decide(False)]


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ("user_id", "hospital", "department", "position", "verified")
    list_filter = ("hospital", "department", "verified")
    search_fields = ("user__email", "license_number", "hospital__name")
    raw_id_fields = ("user",)
