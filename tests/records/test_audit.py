"""The audit trail is append-only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from records.audit import audit_record
from records.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_audit_row_fields(patient, doctor):
    request = RequestFactory().get("/x", REMOTE_ADDR="203.0.113.9")
    request.request_id = "req-12345678"
    audit_record(actor=doctor, patient=patient, action="read", object_type="medical_record",
                 object_id=str(patient.pk), request=request)
    event = AuditEvent.objects.get()
    assert event.actor_id == doctor.pk and event.actor_role == "doctor"
    assert event.patient_id == patient.pk
    assert event.ip_address == "203.0.113.9" and event.request_id == "req-12345678"


def test_orm_refuses_update_and_delete(patient):
    audit_record(actor=patient, patient=patient, action="read", object_type="medical_record", object_id="x")
    event = AuditEvent.objects.get()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="nothing")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    with pytest.raises(PermissionError):
        event.delete()
    event.action = "changed"
    with pytest.raises(PermissionError):
        event.save()
    assert AuditEvent.objects.get().action == "read"


def test_deleting_a_user_leaves_the_trail_intact():
    user = UserFactory()
    audit_record(actor=user, patient=user, action="read", object_type="medical_record", object_id="x")
    user_id = user.pk
    user.delete()
    assert AuditEvent.objects.filter(actor_id=user_id, patient_id=user_id).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="database trigger exists on PostgreSQL only")
def test_database_refuses_raw_update_on_postgresql(patient):
    audit_record(actor=patient, patient=patient, action="read", object_type="medical_record", object_id="x")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE records_auditevent SET action = 'forged'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM records_auditevent")
    assert AuditEvent.objects.get().action == "read"


def test_admin_is_read_only(rf):
    model_admin = admin.site._registry[AuditEvent]
    request = rf.get("/admin/")
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.get_actions(request) == {}
    assert model_admin.list_filter and model_admin.search_fields


def test_admin_pages_render_and_audit_phi_views(client, patient, doctor):
    from records.models import ClinicalEntry, MedicalProfile

    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    profile = MedicalProfile.objects.create(patient=patient, blood_type="O+")
    entry = ClinicalEntry(patient=patient, kind="diagnosis", title="Asthma", occurred_on="2025-01-01")
    entry.notes = "secret"
    entry.save()
    audit_record(actor=doctor, patient=patient, action="read", object_type="medical_record", object_id="x")
    for name in ("medicalprofile", "clinicalentry", "accessconsent", "patientdocument", "auditevent"):
        assert client.get(f"/admin/records/{name}/").status_code == 200, name
    assert client.get(f"/admin/records/medicalprofile/{profile.pk}/change/").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/admin/records/clinicalentry/{entry.pk}/change/")
    assert page.status_code == 200 and b"kms1:" not in page.content
    assert AuditEvent.objects.filter(action="admin_read", actor_id=staff.pk).count() == 2
    loads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('SELECT "records_clinicalentry"."id"')]
    assert len(loads) == 1, loads  # the audited object is the page's own


def test_an_admin_page_refused_leaves_no_read_in_the_audit(client, patient):
    from records.models import ClinicalEntry

    staff = UserFactory(is_staff=True)  # no permission on clinical entries
    client.force_login(staff)
    entry = ClinicalEntry(patient=patient, kind="diagnosis", title="Asthma", occurred_on="2025-01-01")
    entry.notes = "secret"
    entry.save()
    assert client.get(f"/admin/records/clinicalentry/{entry.pk}/change/").status_code == 403
    assert not AuditEvent.objects.filter(action="admin_read", actor_id=staff.pk).exists()
