"""The record's lists read a page in the list's order from an index, so a page costs the same
whatever the caller's history holds: no sort of every row of the patient (or of the clinician's
with the patient) before the page is cut, on the first page or on a later one."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role, User
from phb.api import pagination
from records import selectors
from records.models import AccessConsent, AuditEvent, ClinicalEntry, ConsentStatus, EntryKind, PatientDocument
from tests.plans import analyze, assert_read_in_index_order, page_plan, spread

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plans"),
]

HISTORY = 3000
CLINICIANS = 10  # who read or asked for the patient's record


@pytest.fixture
def audit_trail(patient, other_patient, doctor):
    """A long trail of the patient's record and another patient's, by many clinicians (one in ten
    of the events by the doctor). Audit events are append-only, so they are written with their
    times."""
    now = timezone.now()
    actors = [doctor.pk] + [uuid.uuid4() for _ in range(CLINICIANS - 1)]
    AuditEvent.objects.bulk_create(
        [AuditEvent(patient_id=patient.pk, actor_id=actors[i % CLINICIANS], actor_role="doctor", action="read",
                    object_type="record", occurred_at=now - timedelta(minutes=7 * i)) for i in range(2 * HISTORY)]
        + [AuditEvent(patient_id=other_patient.pk, actor_id=actors[i % CLINICIANS], actor_role="doctor",
                      action="read", object_type="record", occurred_at=now - timedelta(minutes=5 * i))
           for i in range(HISTORY)]
    )
    analyze(AuditEvent)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_patients_access_log_is_read_in_index_order(audit_trail, patient, next_page):
    plan = page_plan(selectors.access_log_of_patient(fetched_by=patient), spec=pagination.AUDIT_EVENTS,
                     next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="occurred_at" if next_page else None, scoped_by="patient_id")


@pytest.mark.parametrize("next_page", [False, True])
def test_the_clinicians_access_log_is_read_in_index_order(audit_trail, patient, doctor, next_page):
    plan = page_plan(selectors.access_log_by_clinician(clinician=doctor, patient=patient),
                     spec=pagination.AUDIT_EVENTS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="occurred_at" if next_page else None, scoped_by="actor_id")


@pytest.fixture
def consents(patient, other_patient, doctor):
    """Years of requests from many clinicians (one in ten from the doctor), to the patient and to
    another patient."""
    now = timezone.now()
    clinicians = [doctor] + User.objects.bulk_create(
        [User(email=f"clinician{i}@example.test", role=Role.DOCTOR) for i in range(CLINICIANS - 1)]
    )

    def consent(*, patient, clinician):
        return AccessConsent(patient=patient, clinician=clinician, duration_seconds=3600,
                             status=ConsentStatus.CANCELLED, request_expires_at=now)

    AccessConsent.objects.bulk_create(
        [consent(patient=patient, clinician=clinicians[i % CLINICIANS]) for i in range(2 * HISTORY)]
        + [consent(patient=other_patient, clinician=clinicians[i % CLINICIANS]) for i in range(HISTORY)]
    )
    spread(AccessConsent, "requested_at")
    analyze(AccessConsent)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_patients_consents_are_read_in_index_order(consents, patient, next_page):
    plan = page_plan(selectors.consents_of_patient(fetched_by=patient), spec=pagination.CONSENTS,
                     next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="requested_at" if next_page else None, scoped_by="patient_id")


@pytest.mark.parametrize("next_page", [False, True])
def test_the_consents_between_a_clinician_and_a_patient_are_read_in_index_order(consents, patient, doctor,
                                                                                 next_page):
    plan = page_plan(selectors.consents_between(clinician=doctor, patient=patient), spec=pagination.CONSENTS,
                     next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="requested_at" if next_page else None, scoped_by="clinician_id")


@pytest.fixture
def documents(patient, other_patient):
    """The patient's files (one in five deleted) beside another patient's."""
    def document(*, patient, deleted: bool = False):
        return PatientDocument(patient=patient, file="records/x.pdf", display_name="x", extension="pdf",
                               content_type="application/pdf", size=1, sha256="0" * 64,
                               deleted_at=timezone.now() if deleted else None)

    PatientDocument.objects.bulk_create(
        [document(patient=patient, deleted=i % 5 == 0) for i in range(HISTORY)]
        + [document(patient=other_patient) for _ in range(HISTORY)]
    )
    spread(PatientDocument, "created_at")
    analyze(PatientDocument)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_documents_are_read_in_index_order(documents, patient, next_page):
    plan = page_plan(selectors.documents_of(fetched_by=patient), spec=pagination.DOCUMENTS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="created_at" if next_page else None, scoped_by="patient_id")


@pytest.fixture
def entries(patient, other_patient):
    """Years of the patient's record, several entries a day of every kind, beside another
    patient's. The summary's encounters are one in eight: more than a page of them."""
    today = timezone.localdate()
    ClinicalEntry.objects.bulk_create(
        [ClinicalEntry(patient=someone, kind=EntryKind.values[i % len(EntryKind.values)], title="Entry",
                       occurred_on=today - timedelta(days=i // 3))
         for someone in (patient, other_patient) for i in range(2 * HISTORY)]
    )
    spread(ClinicalEntry, "created_at")
    analyze(ClinicalEntry)


@pytest.mark.parametrize("next_page", [False, True])
def test_the_medical_record_is_read_in_index_order(entries, patient, next_page):
    plan = page_plan(selectors.entries_of(patient=patient), spec=pagination.RECORD_ENTRIES,
                     columns=selectors.EntryRow.COLUMNS, next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="occurred_on" if next_page else None, scoped_by="patient_id")


@pytest.mark.parametrize("next_page", [False, True])
def test_the_record_summary_is_read_in_index_order(entries, patient, next_page):
    """The summary's encounters (``MedicalRecordSummaryView``): the record's order, one kind."""
    queryset = selectors.entries_of(patient=patient).filter(kind=EntryKind.ENCOUNTER)
    plan = page_plan(queryset, spec=pagination.RECORD_ENTRIES, columns=selectors.EntryRow.COLUMNS,
                     next_page=next_page)
    assert_read_in_index_order(plan, bounded_by="occurred_on" if next_page else None, scoped_by=("patient_id", "kind"))
