from django.contrib import admin

from hospitals.models import Department, Hospital, HospitalRegistration, StaffMember


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


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
        ("Contact persons (shown to the hospital's own admins only)", {"fields": (
            "primary_contact_name", "primary_contact_title", "primary_contact_phone", "primary_contact_email",
            "administrative_contact_name", "administrative_contact_title", "administrative_contact_phone",
            "administrative_contact_email", "medical_director_name", "medical_director_license",
            "medical_director_specialization", "medical_director_years_experience")}),
        ("Verification and accreditation", {"fields": ("is_verified", "verification_date", "accredited",
                                                       "accreditation_expiry")}),
        ("Digital infrastructure", {"fields": (
            "has_hospital_information_system", "has_electronic_medical_records", "has_telemedicine_capabilities",
            "has_api_integration", "has_online_appointment_booking", "has_patient_portal",
            "has_mobile_application")}),
    )


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "hospital", "code", "is_active")
    list_filter = ("is_active", "hospital", "department_type")
    search_fields = ("name", "code", "hospital__name")


@admin.register(HospitalRegistration)
class HospitalRegistrationAdmin(admin.ModelAdmin):
    list_display = ("id", "user_id", "hospital", "is_primary", "status", "created_at", "decided_at")
    list_filter = ("status", "is_primary", "hospital")
    search_fields = ("id", "user__email", "user__hpn", "hospital__name")
    raw_id_fields = ("user", "decided_by")


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ("user_id", "hospital", "department", "position", "verified")
    list_filter = ("hospital", "department", "verified")
    search_fields = ("user__email", "license_number", "hospital__name")
    raw_id_fields = ("user",)
