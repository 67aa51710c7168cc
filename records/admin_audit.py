"""The Django admin's pages of one patient's health data are audited, read and write.

Changelists show ids, dates and statuses; a change page shows the object's health data (a record
entry, an appointment's complaint and notes, an admission's diagnosis, a women's-health profile).
Each such page, as Django builds it for an operator allowed to see it, appends an ``admin_read``
row to the audit trail (``records.audit``) naming the operator and the patient; each change an
operator saves there appends an ``admin_write`` row, and each deletion (one object, or the "delete
selected" action) an ``admin_delete`` row per object, in the same transaction. A refused page or a
form sent back with errors saves nothing and writes no ``admin_write``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from records.audit import audit_record


class HealthDataAdmin(admin.ModelAdmin):
    """``patient_field``: the attribute holding the patient's id (``patient_id`` or ``user_id``)."""

    patient_field = "patient_id"

    def _audit(self, request, obj, action: str) -> None:
        audit_record(actor=request.user, patient=getattr(obj, self.patient_field), action=action,
                     object_type=self.model._meta.model_name, object_id=str(obj.pk), request=request)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None) -> Any:
        # The object Django's change view loaded, audited as its page is built.
        if obj is not None:
            self._audit(request, obj, "admin_read")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        self._audit(request, obj, "admin_write")

    def delete_model(self, request, obj) -> None:
        self._audit(request, obj, "admin_delete")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            self._audit(request, obj, "admin_delete")
        super().delete_queryset(request, queryset)
