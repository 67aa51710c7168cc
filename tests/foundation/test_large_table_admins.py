"""The changelists of the tables that grow with every booking, payment and guideline read: a search
by exact values through indexes, filters and counts that do not read the whole table, staff only
(``phb.admin_lists.LargeTableAdmin``). The audit trail's own tests are in
``tests/records/test_audit_admin.py``."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection, models
from django.db.migrations.state import ModelState, ProjectState
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appointments.models import Appointment, BookingHold, Prescription, SchedulingEvent
from payments.models import EventSource, Payment, PaymentEvent
from pharmacies.models import Pharmacy
from phb import admin_lists
from phb.admin_lists import LargeTableAdmin, exact_search, exact_values
from phb.migration_ops import AddIndexConcurrently
from prescriptions.models import PrescriptionRequest, SignedItem
from records.models import AccessConsent, AuditEvent, ClinicalEntry, MedicalProfile, PatientDocument
from storage.models import ApprovalStatus, ClinicalGuideline, GuidelineAccess, GuidelineAccessAction
from tests.appointments.helpers import future_slot, hold
from tests.factories import UserFactory, make_doctor

pytestmark = pytest.mark.django_db
QUALIFIER = re.compile(r'"(\w+)"\."\w+"')


def _shown(client, url: str, query: str = "") -> list:
    response = client.get(url + query)
    assert response.status_code == 200, query
    return [row.pk for row in response.context["cl"].result_list]


def _scheduling_event(*, minutes_ago: int = 0, **fields) -> SchedulingEvent:
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    values = {"hospital_id_value": 1, "department_id_value": 1, "patient_key": uuid.uuid4().hex, "urgency": 5,
              "priority": "normal", "requested_at": moment, "slot_start": moment + timedelta(days=1),
              "lead_minutes": 1440, "policy_version": "v1"}
    return SchedulingEvent.objects.create(**{**values, **fields})


def _payment(patient, **fields) -> Payment:
    return Payment.objects.create(patient=patient, amount=Decimal("2000"), amount_minor=200000, **fields)


def _access(guideline, user, **fields) -> GuidelineAccess:
    return GuidelineAccess.objects.create(guideline=guideline, user=user, action=GuidelineAccessAction.VIEW, **fields)


@pytest.fixture
def guideline(hospital):
    return ClinicalGuideline.objects.create(organization=hospital, title="Guideline", description="A guideline.",
                                            category="prevention", approval_status=ApprovalStatus.APPROVED,
                                            is_published=True)


LARGE = ["appointment", "scheduling", "payment", "payment_event", "guideline_access", "clinical_entry",
         "medical_profile", "prescription", "prescription_request", "signed_item", "booking_hold", "access_consent",
         "patient_document"]


@dataclass
class Case:
    url: str
    table: str
    searches: list[str]
    filters: str


@pytest.fixture
def cases(patient, guideline, department):
    appointment = Appointment.objects.create(patient=patient, hospital=department.hospital, department=department,
                                             start=timezone.now() + timedelta(days=2),
                                             end=timezone.now() + timedelta(days=2, minutes=30))
    event = _scheduling_event(appointment=appointment)
    payment = _payment(patient, provider_transaction_id="T123456")
    change = PaymentEvent.objects.create(payment=payment, kind="initialized", source=EventSource.API,
                                         to_status="initialized", dedupe_key="init:1")
    _access(guideline, patient)
    entry = ClinicalEntry.objects.create(patient=patient, kind="diagnosis", title="Asthma", status="active",
                                         occurred_on=timezone.localdate())
    profile = MedicalProfile.objects.create(patient=patient, blood_type="O+", genotype="AA")
    prescription = Prescription.objects.create(appointment=appointment, patient=patient, medications=[],
                                               issued_at=timezone.now(), expires_at=timezone.now() + timedelta(days=30))
    pharmacy = Pharmacy.objects.create(code="PH-ADMIN", name="Admin Pharmacy", address_line_1="1 Admin St", city="X")
    rx_request = PrescriptionRequest.objects.create(patient=patient, hospital=department.hospital, pharmacy=pharmacy,
                                                    request_type="repeat", triage_category="routine")
    item = SignedItem.objects.create(prescription=prescription, medication_id="med-1", pharmacy=pharmacy,
                                     expires_at=timezone.now() + timedelta(days=30))
    held = hold(patient, department, future_slot(department.hospital, days=3))
    BookingHold.objects.filter(pk=held.pk).update(payment_reference="PHB-HOLD-1")
    doctor = make_doctor(department=department)
    consent = AccessConsent.objects.create(patient=patient, clinician=doctor, duration_seconds=3600,
                                           appointment_ref=uuid.uuid4(),
                                           request_expires_at=timezone.now() + timedelta(hours=1))
    document = PatientDocument.objects.create(patient=patient, file=f"documents/{patient.pk}/a.pdf",
                                              display_name="a.pdf", extension="pdf", content_type="application/pdf",
                                              size=10, sha256="a" * 64)
    return {
        "appointment": Case("/admin/appointments/appointment/", "appointments_appointment",
                            [appointment.appointment_id, str(appointment.pk), patient.hpn],
                            "?status__exact=pending&appointment_type=consultation"),
        "clinical_entry": Case("/admin/records/clinicalentry/", "records_clinicalentry",
                               [str(entry.pk), patient.hpn, str(patient.pk)], "?kind__exact=diagnosis&status=active"),
        "medical_profile": Case("/admin/records/medicalprofile/", "records_medicalprofile",
                                [str(profile.pk), patient.hpn, str(patient.pk)], "?blood_type=O%2B&genotype=AA"),
        "scheduling": Case("/admin/appointments/schedulingevent/", "appointments_schedulingevent",
                           [str(event.pk), appointment.appointment_id, event.patient_key],
                           "?outcome__exact=pending&policy_version=v1"),
        "payment": Case("/admin/payments/payment/", "payments_payment",
                        [payment.reference, str(payment.pk), patient.email, "T123456"],
                        "?status__exact=initialized&currency=NGN"),
        "payment_event": Case("/admin/payments/paymentevent/", "payments_paymentevent",
                              [payment.reference, str(payment.pk), change.dedupe_key],
                              "?kind=initialized&to_status=initialized&source__exact=api"),
        "guideline_access": Case("/admin/storage/guidelineaccess/", "storage_guidelineaccess",
                                 [guideline.guideline_id, patient.email, str(patient.pk)], "?action__exact=view"),
        "prescription": Case("/admin/appointments/prescription/", "appointments_prescription",
                             [str(prescription.pk), appointment.appointment_id, patient.hpn, patient.email],
                             "?status__exact=active"),
        "prescription_request": Case("/admin/prescriptions/prescriptionrequest/", "prescriptions_prescriptionrequest",
                                     [rx_request.reference, str(rx_request.pk), patient.hpn, patient.email,
                                      department.hospital.code, department.hospital.name, pharmacy.code],
                                     "?status__exact=REQUESTED&triage_category=routine&request_type__exact=repeat"),
        "signed_item": Case("/admin/prescriptions/signeditem/", "prescriptions_signeditem",
                            [str(item.pk), str(prescription.pk), "med-1", pharmacy.code],
                            "?state__exact=pending&controlled__exact=0"),
        "booking_hold": Case("/admin/appointments/bookinghold/", "appointments_bookinghold",
                             [str(held.pk), "PHB-HOLD-1", patient.hpn, patient.email],
                             f"?state__exact=held&priority__exact=normal&hospital__id__exact={department.hospital_id}"),
        "access_consent": Case("/admin/records/accessconsent/", "records_accessconsent",
                               [str(consent.pk), patient.hpn, patient.email, doctor.email.upper(),
                                str(consent.appointment_ref)],
                               "?status__exact=pending&access_type=medical_records"),
        "patient_document": Case("/admin/records/patientdocument/", "records_patientdocument",
                                 [str(document.pk), patient.hpn, patient.email, "a" * 64], "?extension=pdf"),
    }


@pytest.mark.parametrize("name", LARGE)
def test_no_query_compares_a_function_of_a_column_lists_distinct_values_or_counts_twice(staff_client, cases, name):
    case = cases[name]
    for query in ["", case.filters, *(f"?q={term}" for term in case.searches)]:
        with CaptureQueriesContext(connection) as ctx:
            response = staff_client.get(case.url + query)
        assert response.status_code == 200, query
        assert len(response.context["cl"].result_list) == 1, query
        sql = [q["sql"] for q in ctx.captured_queries if case.table in q["sql"]]
        assert sql, query
        assert not [s for s in sql if "UPPER(" in s or "DISTINCT" in s or " LIKE " in s], (query, sql)
        # every condition on the table's own columns (its indexes combine; an OR across a join reads it all)
        compared = {table for s in sql if " WHERE " in s for table in QUALIFIER.findall(s.split(" WHERE ", 1)[1])}
        assert compared <= {case.table}, (query, sql)
        assert len([s for s in sql if "COUNT(" in s]) <= 1, query  # no second count for "N total"


@pytest.mark.parametrize("name", LARGE)
def test_the_changelists_are_shown_to_staff_only(client, cases, patient, name):
    case = cases[name]
    for user in (None, patient, UserFactory(role="doctor")):
        if user is not None:
            client.force_login(user)
        response = client.get(case.url + f"?q={case.searches[0]}")
        assert response.status_code == 302 and "/admin/login/" in response["Location"], user
        assert case.searches[0].encode() not in response.content


def test_payments_are_found_by_exact_values_only(staff_client, patient, other_patient):
    url = "/admin/payments/payment/"
    mine = _payment(patient, provider_transaction_id="TX-777")
    theirs = _payment(other_patient)
    assert _shown(staff_client, url, f"?q={mine.reference}") == [mine.pk]
    assert _shown(staff_client, url, f"?q=%20{mine.reference}%20") == [mine.pk]
    assert _shown(staff_client, url, f"?q={mine.reference[:-2]}") == []  # no partial matches
    assert _shown(staff_client, url, f"?q={str(mine.pk).upper()}") == [mine.pk]
    assert _shown(staff_client, url, f"?q={patient.email.upper()}") == [mine.pk]  # kept in lower case
    assert _shown(staff_client, url, "?q=TX-777") == [mine.pk]
    assert staff_client.get(url + "?q=a%00b").status_code == 200  # PostgreSQL refuses NUL in a query: no 500
    assert set(_shown(staff_client, url)) == {mine.pk, theirs.pk}


def test_payment_events_are_shown_newest_first_and_their_filters_offer_recent_values(staff_client, patient,
                                                                                      monkeypatch):
    url = "/admin/payments/paymentevent/"
    payment = _payment(patient)
    events = [PaymentEvent.objects.create(payment=payment, kind=kind, source=EventSource.API, to_status=kind)
              for kind in ("initialized", "pending", "completed")]
    PaymentEvent.objects.filter(pk=events[0].pk).update(created_at=timezone.now() - timedelta(days=3))
    PaymentEvent.objects.filter(pk=events[1].pk).update(created_at=timezone.now() - timedelta(days=2))
    assert _shown(staff_client, url) == [events[2].pk, events[1].pk, events[0].pk]
    monkeypatch.setattr(admin_lists, "RECENT_ROWS", 2)
    response = staff_client.get(url)
    offered = {spec.title: [choice["display"] for choice in spec.choices(response.context["cl"])]
               for spec in response.context["cl"].filter_specs}
    assert offered["kind"] == ["All", "completed", "pending"]
    assert _shown(staff_client, url, "?kind=initialized") == [events[0].pk]  # an older value still filters


def test_prescription_requests_are_found_by_exact_values_newest_first(staff_client, hospital, patient, other_patient):
    url = "/admin/prescriptions/prescriptionrequest/"
    older = PrescriptionRequest.objects.create(patient=patient, hospital=hospital, request_type="repeat",
                                               created_at=timezone.now() - timedelta(days=2))
    mine = PrescriptionRequest.objects.create(patient=patient, hospital=hospital, request_type="acute")
    theirs = PrescriptionRequest.objects.create(patient=other_patient, hospital=hospital, request_type="repeat")
    assert _shown(staff_client, url, f"?q={mine.reference}") == [mine.pk]
    assert _shown(staff_client, url, f"?q={mine.reference[:-2]}") == []  # no partial matches
    assert _shown(staff_client, url, f"?q={patient.email.upper()}") == [mine.pk, older.pk]
    assert _shown(staff_client, url, f"?q={hospital.code}") == [theirs.pk, mine.pk, older.pk]
    assert _shown(staff_client, url, f"?q={hospital.name[:3]}") == []
    assert _shown(staff_client, url, "?request_type__exact=repeat") == [theirs.pk, older.pk]


def test_scheduling_events_are_found_by_the_appointment_or_the_patient_key(staff_client, cases):
    url = "/admin/appointments/schedulingevent/"
    target = SchedulingEvent.objects.get()
    same_patient = _scheduling_event(patient_key=target.patient_key, minutes_ago=5)
    _scheduling_event(minutes_ago=10)
    assert _shown(staff_client, url, f"?q={target.patient_key}") == [target.pk, same_patient.pk]
    assert _shown(staff_client, url, f"?q={target.appointment.appointment_id}") == [target.pk]
    assert _shown(staff_client, url, f"?q={str(target.appointment_id).upper()}") == [target.pk]
    assert _shown(staff_client, url, f"?q={target.patient_key[:8]}") == []
    assert _shown(staff_client, url, "?q=12345678901234567890") == []  # no id can be that number


def test_guideline_accesses_are_found_by_the_guideline_or_the_user(staff_client, guideline, patient, other_patient):
    url = "/admin/storage/guidelineaccess/"
    mine = _access(guideline, patient)
    theirs = _access(guideline, other_patient)
    assert set(_shown(staff_client, url, f"?q={guideline.guideline_id}")) == {mine.pk, theirs.pk}
    assert _shown(staff_client, url, f"?q={patient.email.upper()}") == [mine.pk]
    assert _shown(staff_client, url, f"?q={other_patient.pk}") == [theirs.pk]
    assert _shown(staff_client, url, f"?q={patient.email.split('@')[0]}") == []


def test_exact_values_are_those_a_column_can_hold():
    uuid_field, text_field = models.UUIDField(), models.CharField(max_length=36)
    ident = uuid.uuid4()
    assert exact_values(uuid_field, str(ident).upper()) == [ident]
    assert exact_values(uuid_field, "not-a-uuid") == []
    assert exact_values(text_field, str(ident).upper()) == [str(ident).upper(), str(ident)]
    assert exact_values(models.CharField(max_length=4), "abcde") == []
    assert exact_values(models.EmailField(), "A@B.TEST") == ["A@B.TEST", "a@b.test"]
    assert exact_values(models.PositiveIntegerField(), "12") == [12]
    assert exact_values(models.PositiveIntegerField(), "-1") == []
    assert exact_values(models.BigAutoField(), str(2**63)) == []
    assert exact_values(models.BigAutoField(), "1e3") == []
    assert exact_search(PaymentEvent, ["payment__reference"], "a\x00b") is None
    assert exact_search(PaymentEvent, ["payment__id", "id"], "word") is None


def test_every_large_table_is_listed_through_large_table_admin():
    for model in (Appointment, SchedulingEvent, Payment, PaymentEvent, GuidelineAccess, ClinicalEntry, MedicalProfile,
                  AuditEvent):
        model_admin = admin.site._registry[model]
        assert isinstance(model_admin, LargeTableAdmin), model
        assert all(name.startswith("=") for name in model_admin.search_fields), model


@pytest.mark.skipif(connection.vendor != "postgresql", reason="CREATE INDEX CONCURRENTLY is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_an_index_is_built_concurrently_and_a_failed_build_is_rebuilt():
    before = ProjectState()
    before.add_model(ModelState("phbprobe", "Thing", [("id", models.AutoField(primary_key=True)),
                                                     ("code", models.CharField(max_length=10))]))
    operation = AddIndexConcurrently(model_name="thing", index=models.Index(fields=["code"], name="phbprobe_code"))
    after = before.clone()
    operation.state_forwards("phbprobe", after)

    def valid() -> list[bool]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                           "WHERE c.relname = 'phbprobe_code'")
            return [row[0] for row in cursor.fetchall()]

    with connection.schema_editor(atomic=False) as editor:
        editor.create_model(before.apps.get_model("phbprobe", "Thing"))
    try:
        with connection.cursor() as cursor:  # what a build that failed half-way leaves: an invalid index
            cursor.execute("INSERT INTO phbprobe_thing (code) VALUES ('a'), ('a')")
            with pytest.raises(Exception, match="could not create unique index"):
                cursor.execute("CREATE UNIQUE INDEX CONCURRENTLY phbprobe_code ON phbprobe_thing (code)")
        assert valid() == [False]
        with CaptureQueriesContext(connection) as ctx, connection.schema_editor(atomic=False) as editor:
            operation.database_forwards("phbprobe", editor, before, after)
        assert valid() == [True]
        assert any("CREATE INDEX CONCURRENTLY" in q["sql"] for q in ctx.captured_queries)
        with connection.schema_editor(atomic=False) as editor:
            operation.database_backwards("phbprobe", editor, after, before)
        assert valid() == []
    finally:
        with connection.schema_editor(atomic=False) as editor:
            editor.delete_model(before.apps.get_model("phbprobe", "Thing"))


# --- The user admin: a search by part of an email, a name or an HPN, through trigram indexes ---------
USERS_URL = "/admin/accounts/user/"


def test_users_are_found_by_part_of_an_email_a_name_or_an_hpn_and_counted_once(staff_client):
    ada = UserFactory(email="ada.obi@example.test", full_name="Ada Obi")
    bola = UserFactory(email="bola@example.test", full_name="Bola Ade")
    assert _shown(staff_client, USERS_URL, "?q=ADA.OB") == [ada.pk]
    assert _shown(staff_client, USERS_URL, "?q=la ad") == [bola.pk]
    assert _shown(staff_client, USERS_URL, f"?q={bola.hpn[2:8]}") == [bola.pk]
    with CaptureQueriesContext(connection) as ctx:
        staff_client.get(USERS_URL + "?q=example")
    assert len([q for q in ctx.captured_queries if "COUNT(" in q["sql"] and "accounts_user" in q["sql"]]) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's (pg_trgm)")
def test_the_user_search_is_one_the_trigram_indexes_serve(staff_client):
    """The indexes are on Django's own ``icontains`` expressions (``UPPER(col::text)``): with
    sequential scans priced out, the search's count reads all three of them. (On a few rows the
    page's own query walks ``user_recent`` in its order instead; on a million it reads the
    trigram indexes, ``bench/bench_admin.py``.)"""
    UserFactory(email="ada.obi@example.test")
    with CaptureQueriesContext(connection) as ctx:
        staff_client.get(USERS_URL + "?q=ada.ob")
    [search] = [q["sql"] for q in ctx.captured_queries
                if q["sql"].startswith("SELECT COUNT(") and "accounts_user" in q["sql"] and " LIKE " in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + search)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert {"user_email_trigram", "user_full_name_trigram", "user_hpn_trigram"} <= set(re.findall(r"user_\w+_trigram", plan)), (search, plan)


@pytest.mark.parametrize("user_kind", ["anonymous", "patient", "doctor"])
def test_the_user_admin_is_shown_to_staff_only(client, patient, user_kind):
    if user_kind == "patient":
        client.force_login(patient)
    elif user_kind == "doctor":
        client.force_login(UserFactory(role="doctor"))
    response = client.get(USERS_URL + f"?q={patient.email}")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert patient.email.encode() not in response.content
