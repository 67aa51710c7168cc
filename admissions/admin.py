from django import forms
from django.contrib import admin

from admissions import beds
from admissions.models import Admission, Bed, BedAssignment, BedStatus, Ward
from phb.admin_actions import service_action
from records.admin_audit import HealthDataAdmin


class BedInline(admin.TabularInline):
    model = Bed
    extra = 0
    fields = ("number", "status", "features")
    readonly_fields = ("status",)  # through the bed list's actions (BedAdmin)


class WardForm(forms.ModelForm):
    """A ward stays in its department's hospital; one where patients hold beds is neither closed
    nor moved to another department or hospital (its beds would leave the figures with the
    patients still in them): discharge or move them first."""

    class Meta:
        model = Ward
        fields = "__all__"

    def clean(self):
        data = super().clean()
        department, hospital = data.get("department"), data.get("hospital")
        if department is not None and hospital is not None and department.hospital_id != hospital.pk:
            self.add_error("department", "This department belongs to another hospital.")
        ward = self.instance
        if ward.pk is None:
            return data
        changing = [name for name, value in (("is_active", data.get("is_active", True)),
                                             ("department", department), ("hospital", hospital))
                    if name in self.changed_data and (name != "is_active" or value is False)]
        held = BedAssignment.objects.filter(bed__ward=ward, released_at__isnull=True).count() if changing else 0
        if held:
            raise forms.ValidationError(
                f"{held} patient(s) hold beds in this ward: discharge or move them before closing the ward "
                "or moving it to another department or hospital.")
        return data


@admin.register(Ward)
class WardAdmin(admin.ModelAdmin):
    form = WardForm
    list_display = ("code", "name", "ward_type", "department", "hospital", "floor", "wing", "is_active")
    list_filter = ("hospital", "department", "ward_type", "is_active")
    search_fields = ("name", "code", "department__name", "hospital__name")
    inlines = [BedInline]


def _mark(status: str):
    """Set the selected beds' status through ``admissions.beds.set_status``: under the bed's lock,
    never to or from occupied (only an admission occupies a bed, and frees it)."""
    label = BedStatus(status).label.lower()
    return service_action(name=f"mark_{status}", description=f"Mark as {label}",
                          apply=lambda bed, request: beds.set_status(bed=bed, status=status),
                          done=lambda n: f"{n} bed(s) marked {label}.")


@admin.register(Bed)
class BedAdmin(admin.ModelAdmin):
    """A bed's status changes through the actions (the API's rule, under the bed's lock): an operator
    cannot free an occupied bed or occupy one without an admission."""

    list_display = ("__str__", "ward", "status", "status_changed_at")
    list_filter = ("status", "ward__hospital", "ward__department", "ward__ward_type")
    search_fields = ("number", "ward__code", "ward__name")
    list_select_related = ("ward",)
    readonly_fields = ("status", "status_changed_at")
    actions = [_mark(status) for status in BedStatus.values if status != BedStatus.OCCUPIED]


class BedAssignmentInline(admin.TabularInline):
    model = BedAssignment
    extra = 0
    can_delete = False
    fields = ("bed", "assigned_at", "released_at", "release_reason", "assigned_by")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Admission)
class AdmissionAdmin(HealthDataAdmin):
    """Read-mostly: status, beds and times change only through the API's state machine (which
    locks beds and writes the audit trail); here staff may correct the clinical text fields, and
    opening one is an audited read (``records.admin_audit``)."""

    list_display = ("admission_id", "hospital", "department", "status", "priority", "is_emergency",
                    "is_readmission", "created_at", "admitted_at", "discharged_at")
    list_filter = ("status", "priority", "admission_type", "is_emergency", "is_readmission", "hospital",
                   "department")
    search_fields = ("admission_id", "patient__hpn")
    date_hierarchy = "created_at"
    inlines = [BedAssignmentInline]
    readonly_fields = ("admission_id", "hospital", "department", "patient", "temp_patient_details", "is_emergency",
                       "attending_doctor", "created_by", "bed", "status", "admission_type", "requires_icu",
                       "discharge_type", "is_readmission", "previous_admission", "created_at", "updated_at",
                       "admitted_at", "discharged_at", "cancelled_at", "cancel_reason")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BedAssignment)
class BedAssignmentAdmin(admin.ModelAdmin):
    list_display = ("admission", "bed", "assigned_at", "released_at", "release_reason")
    list_filter = ("release_reason", "bed__ward__hospital")
    search_fields = ("admission__admission_id", "bed__ward__code", "bed__number")
    readonly_fields = ("admission", "bed", "assigned_at", "released_at", "release_reason", "assigned_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
