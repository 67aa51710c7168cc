"""The admin changelists of the tables that grow without bound, on large tables (PostgreSQL only).

A fresh database with ``ADMIN_ROWS`` (default 1,000,000) rows in each of: the audit trail, user
accounts, appointments, clinical entries, the scheduler's booking events, payments, payment events,
guideline accesses, prescriptions, prescription requests, signed prescription items (one a
prescription), booking holds, record-access consents and patients' documents, analysed as
autovacuum would. In process, each figure the median of 3 requests of a superuser, the page
rendered. For each ``<table>`` (``audit``, ``user``, ``appointment``, ``clinical_entry``,
``scheduling_event``, ``payment``, ``payment_event``, ``guideline_access``, ``prescription``,
``prescription_request``, ``signed_item``, ``booking_hold``, ``access_consent``, ``patient_document``;
``signed_item`` needs ``prescription`` in the same run):

<table>_admin_changelist_ms: the changelist as it opens. Target < 200.
<table>_admin_search_ms: the median of searches by exact values (ids, references, emails; for users,
part of an email, a name and an HPN). Target < 200.
user_admin_search_without_trigram_ms: the same user searches once the trigram indexes are dropped.

``ADMIN_TABLES=user,payment`` measures those tables alone.
<table>_admin_filtered_ms: filtered by a list filter (a share of the table, counted exactly).
..._django_default_ms: the same requests through a ModelAdmin with Django's defaults for the same
list (filters over every distinct value, a date hierarchy, a search by ``icontains`` or ``=`` that
compares ``UPPER(column::text)``, "N total"), for the ratio.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass
from functools import partial

from common import manage
from loadgen import fresh_database, postgres_url

ROWS = int(os.environ.get("ADMIN_ROWS", os.environ.get("AUDIT_ROWS", "1000000")))
ONLY = {name for name in os.environ.get("ADMIN_TABLES", "").split(",") if name}  # e.g. ADMIN_TABLES=user,payment


@dataclass
class Table:
    name: str
    model: str  # app_label.ModelName
    fill: str  # SQL, %(rows)s rows; may use %(patient)s, %(users)s (20), %(guidelines)s (50), %(hospital)s
    # and %(department)s
    probe: str  # SQL: one row of the values to search by (the oldest row's, the last page's)
    filtered: str  # our filter's query string
    default_filtered: str  # the same through Django's default filter
    default: dict  # the ModelAdmin attributes with Django's defaults for the same list


# A part of an email, of a name and of an HPN, as an operator types them.
USER_PROBE = ("SELECT split_part(email, '@', 1), substr(full_name, 6, 10), substr(hpn, 3, 6) FROM accounts_user "
              "WHERE email LIKE 'person%%' ORDER BY date_joined LIMIT 1")

TABLES = [
    Table(
        "audit", "records.AuditEvent",
        """INSERT INTO records_auditevent (id, occurred_at, actor_id, actor_role, patient_id, action, object_type,
                                           object_id, request_id)
           SELECT gen_random_uuid(), now() - make_interval(mins => i), gen_random_uuid(), 'doctor',
                  gen_random_uuid(), (ARRAY['read', 'export', 'update'])[1 + mod(i, 3)], 'medical_record',
                  i::text, md5(i::text)
           FROM generate_series(1, %(rows)s) AS i""",
        "SELECT patient_id::text, actor_id::text, request_id FROM records_auditevent ORDER BY occurred_at LIMIT 1",
        "?action=read", "?action__exact=read",
        {"list_display": ("occurred_at", "action", "object_type", "object_id", "actor_role", "actor_id", "patient_id"),
         "list_filter": ("action", "object_type", "actor_role", "occurred_at"),
         "search_fields": ("=actor_id", "=patient_id", "=object_id", "=request_id"),
         "date_hierarchy": "occurred_at"},
    ),
    Table(
        "user", "accounts.User",
        """INSERT INTO accounts_user (password, is_superuser, id, email, full_name, role, hpn, gender, phone, address,
               country, state, city, preferred_language, secondary_languages, custom_language, nin, ssn,
               contact_preferences, has_completed_onboarding, email_verified, otp_required_for_login, is_active,
               is_staff, date_joined, token_version, record_sessions_version, tracking_days_version)
           SELECT '!', false, gen_random_uuid(), 'person' || i || '@example.test',
                  (ARRAY['Ada', 'Bola', 'Chidi', 'Dayo', 'Emeka', 'Funke'])[1 + mod(i, 6)] || ' ' || md5(i::text),
                  'patient', lpad(i::text, 10, '0'), '', '', '', '', '', '', 'en', '[]'::jsonb, '', '', '',
                  '{}'::jsonb, true, true, false, true, false, now() - make_interval(mins => i), 0, 0, 0
           FROM generate_series(1, %(rows)s) AS i""",
        USER_PROBE,
        "?role__exact=patient&is_active__exact=1", "?role__exact=patient&is_active__exact=1",
        {"list_display": ("id", "email", "role", "is_active", "email_verified", "date_joined"),
         "list_filter": ("role", "is_active", "is_staff", "email_verified", "otp_required_for_login"),
         "search_fields": ("email", "full_name", "hpn"), "ordering": ("-date_joined",)},
    ),
    Table(
        "appointment", "appointments.Appointment",
        """INSERT INTO appointments_appointment (id, appointment_id, start, "end", status, priority, appointment_type,
               chief_complaint, symptoms_data, medical_history, allergies, current_medications, is_insurance_based,
               insurance_details, fee_amount, currency, payment_status, payment_reference, general_notes,
               doctor_notes, medical_summary, cancellation_reason, reschedule_count, referral_reason, created_at,
               updated_at, department_id, hospital_id, patient_id)
           SELECT gen_random_uuid(), 'APT-' || i, now() - make_interval(mins => 30 * i),
                  now() - make_interval(mins => 30 * i - 30), (ARRAY['completed', 'cancelled', 'no_show'])[1 + mod(i, 3)],
                  'normal', (ARRAY['consultation', 'follow_up'])[1 + mod(i, 2)], '', '{}'::jsonb, '', '', '', false,
                  '{}'::jsonb, 0, 'NGN', 'waived', 'PHB-A' || i, '', '', '{}'::jsonb, '', 0, '',
                  now() - make_interval(mins => 30 * i), now(), %(department)s, %(hospital)s,
                  (%(users)s::uuid[])[1 + mod(i, 20)]
           FROM generate_series(1, %(rows)s) AS i""",
        "SELECT appointment_id, id::text, payment_reference FROM appointments_appointment ORDER BY start LIMIT 1",
        "?status__exact=completed&appointment_type=follow_up",
        "?status__exact=completed&appointment_type__exact=follow_up",
        {"list_display": ("appointment_id", "hospital", "department", "start", "status", "priority", "payment_status"),
         "list_filter": ("status", "priority", "payment_status", "hospital", "appointment_type"),
         "search_fields": ("appointment_id", "id", "payment_reference"), "date_hierarchy": "start"},
    ),
    Table(
        "clinical_entry", "records.ClinicalEntry",
        """INSERT INTO records_clinicalentry (id, kind, title, occurred_on, status, details, provider_name,
               notes_encrypted, created_at, updated_at, patient_id)
           SELECT gen_random_uuid(), (ARRAY['diagnosis', 'medication', 'lab_result'])[1 + mod(i, 3)], 'Entry',
                  current_date - (i / 100), (ARRAY['active', 'resolved'])[1 + mod(i, 2)], '{}'::jsonb, '', '',
                  now() - make_interval(mins => i), now() - make_interval(mins => i),
                  (%(users)s::uuid[])[1 + mod(i, 20)]
           FROM generate_series(1, %(rows)s) AS i""",
        "SELECT e.id::text, u.hpn FROM records_clinicalentry e JOIN accounts_user u ON u.id = e.patient_id "
        "ORDER BY e.occurred_on LIMIT 1",
        "?status=resolved", "?status__exact=resolved",
        {"list_display": ("id", "patient_id", "kind", "occurred_on", "status", "created_at"),
         "list_filter": ("kind", "status", "occurred_on"), "search_fields": ("=id", "=patient__hpn")},
    ),
    Table(
        "scheduling_event", "appointments.SchedulingEvent",
        """INSERT INTO appointments_schedulingevent (id, hospital_id_value, department_id_value, patient_key,
               doctor_key, urgency, priority, requested_at, slot_start, lead_minutes, open_slots,
               policy_version, outcome)
           SELECT gen_random_uuid(), 1, 1 + mod(i, 20), left(md5(mod(i, 200000)::text), 32), '', 1 + mod(i, 10),
                  'normal', now() - make_interval(mins => i), now() - make_interval(mins => i - 1440), 1440,
                  '[]'::jsonb, 'v' || mod(i, 7), (ARRAY['completed', 'no_show', 'cancelled'])[1 + mod(i, 3)]
           FROM generate_series(1, %(rows)s) AS i""",
        "SELECT id::text, patient_key FROM appointments_schedulingevent ORDER BY requested_at LIMIT 1",
        "?policy_version=v3", "?policy_version__exact=v3",
        {"list_display": ("id", "department_id_value", "urgency", "requested_at", "lead_minutes", "outcome",
                          "policy_version", "followed_recommendation", "exported_at"),
         "list_filter": ("outcome", "priority", "followed_recommendation", "policy_version"),
         "search_fields": ("id", "patient_key"), "date_hierarchy": "requested_at"},
    ),
    Table(
        "payment", "payments.Payment",
        """INSERT INTO payments_payment (id, patient_id, provider, reference, status, status_reason, amount,
               currency, amount_minor, access_code, authorization_url, provider_transaction_id, channel,
               paid_currency, refund_reason, refund_provider_id, booking_summary, created_at, updated_at)
           SELECT gen_random_uuid(), %(patient)s, 'paystack', 'PHB-' || i, 'completed', '', 2000, 'NGN', 200000,
                  '', '', 'T' || i, 'card', 'NGN', '', '', '{}'::jsonb,
                  now() - make_interval(mins => i), now() - make_interval(mins => i)
           FROM generate_series(1, %(rows)s) AS i""",
        "SELECT reference, id::text, provider_transaction_id FROM payments_payment ORDER BY created_at LIMIT 1",
        "?currency=NGN&status__exact=completed", "?currency__exact=NGN&status__exact=completed",
        {"list_display": ("reference", "status", "amount", "currency", "provider", "patient_id", "created_at",
                          "completed_at"),
         "list_filter": ("status", "provider", "currency", "created_at"),
         "search_fields": ("reference", "id", "patient__email", "appointment__appointment_id",
                           "provider_transaction_id"),
         "date_hierarchy": "created_at"},
    ),
    Table(
        "payment_event", "payments.PaymentEvent",
        """INSERT INTO payments_paymentevent (payment_id, kind, source, from_status, to_status, provider_status,
               currency, message, dedupe_key, created_at)
           SELECT p.id, 'webhook:charge.success', 'webhook', 'pending', 'completed', 'success', 'NGN', '',
                  'dedupe:' || p.reference, p.created_at
           FROM payments_payment p""",
        "SELECT p.reference, p.id::text, e.dedupe_key FROM payments_paymentevent e "
        "JOIN payments_payment p ON p.id = e.payment_id ORDER BY e.created_at LIMIT 1",
        "?kind=webhook:charge.success", "?kind__exact=webhook:charge.success",
        {"list_display": ("created_at", "payment", "kind", "source", "from_status", "to_status", "provider_status"),
         "list_filter": ("source", "kind", "to_status", "created_at"),
         "search_fields": ("payment__reference", "payment__id", "dedupe_key")},
    ),
    Table(
        "guideline_access", "storage.GuidelineAccess",
        """INSERT INTO storage_guidelineaccess (guideline_id, user_id, action, accessed_at, user_agent)
           SELECT (%(guidelines)s::bigint[])[1 + mod(i, 50)], (%(users)s::uuid[])[1 + mod(i, 20)],
                  (ARRAY['view', 'download'])[1 + mod(i / 7, 2)], now() - make_interval(mins => i), ''
           FROM generate_series(1, %(rows)s) AS i""",
        "SELECT g.guideline_id, u.email FROM storage_guidelineaccess a JOIN storage_clinicalguideline g "
        "ON g.id = a.guideline_id JOIN accounts_user u ON u.id = a.user_id ORDER BY a.accessed_at LIMIT 1",
        "?action__exact=view", "?action__exact=view",
        {"list_display": ("id", "guideline", "user_id", "action", "accessed_at"),
         "list_filter": ("action", "accessed_at"), "search_fields": ("guideline__guideline_id", "user__email")},
    ),
    Table(
        "prescription", "appointments.Prescription",
        """INSERT INTO appointments_prescription (id, patient_id, medications, notes, status, issued_at, expires_at)
           SELECT gen_random_uuid(), (%(users)s::uuid[])[1 + mod(i, 20)], '[]'::jsonb, '',
                  (ARRAY['active', 'completed'])[1 + mod(i / 3, 2)], now() - make_interval(mins => i),
                  now() - make_interval(mins => i) + interval '30 days'
           FROM generate_series(1, %(rows)s) AS i""",
        "SELECT p.id::text, u.hpn, u.email FROM appointments_prescription p JOIN accounts_user u ON u.id = p.patient_id "
        "ORDER BY p.issued_at LIMIT 1",
        "?status__exact=completed", "?status__exact=completed",
        {"list_display": ("id", "appointment", "status", "issued_at", "expires_at"),
         "list_filter": ("status", "issued_at"), "search_fields": ("id", "appointment__appointment_id")},
    ),
    Table(
        "prescription_request", "prescriptions.PrescriptionRequest",
        """INSERT INTO prescriptions_prescriptionrequest (id, reference, patient_id, hospital_id, request_type,
               urgency, status, medications, additional_notes, controlled_count, triage_category, triage_score,
               triage_flags, approved_medications, clinical_notes, rejection_reason, requires_follow_up,
               pharmacist_action, pharmacist_notes, pharmacist_intervention, created_at, updated_at)
           SELECT gen_random_uuid(), 'RX-' || i, (%(users)s::uuid[])[1 + mod(i, 20)], %(hospital)s,
                  (ARRAY['repeat', 'acute'])[1 + mod(i, 2)], 'routine',
                  (ARRAY['REQUESTED', 'APPROVED', 'DISPENSED'])[1 + mod(i / 5, 3)], '[]'::jsonb, '', 0,
                  (ARRAY['routine', 'review', 'urgent'])[1 + mod(i, 3)], 0, '[]'::jsonb, '[]'::jsonb, '', '',
                  false, '', '', false, now() - make_interval(mins => i), now() - make_interval(mins => i)
           FROM generate_series(1, %(rows)s) AS i""",
        "SELECT r.reference, r.id::text, u.email FROM prescriptions_prescriptionrequest r "
        "JOIN accounts_user u ON u.id = r.patient_id ORDER BY r.created_at LIMIT 1",
        "?triage_category=review&status__exact=APPROVED", "?triage_category__exact=review&status__exact=APPROVED",
        {"list_display": ("reference", "status", "request_type", "urgency", "triage_category", "hospital",
                          "pharmacy", "created_at"),
         "list_filter": ("status", "request_type", "urgency", "triage_category", "pharmacist_action", "created_at"),
         "search_fields": ("reference", "id", "hospital__name", "pharmacy__code"),
         "date_hierarchy": "created_at"},
    ),
    Table(
        "signed_item", "prescriptions.SignedItem",
        """INSERT INTO prescriptions_signeditem (id, prescription_id, medication_id, nonce, controlled, payload,
               signature, key_id, state, expires_at, pharmacist_name, verification_notes, created_at)
           SELECT gen_random_uuid(), p.id, 'med-1', md5(p.id::text), false, '{}'::jsonb, '', '',
                  (ARRAY['issued', 'dispensed'])[1 + mod(extract(minute FROM p.issued_at)::int, 2)],
                  p.expires_at, '', '', p.issued_at
           FROM appointments_prescription p""",
        "SELECT id::text, prescription_id::text FROM prescriptions_signeditem ORDER BY created_at LIMIT 1",
        "?state__exact=dispensed", "?state__exact=dispensed",
        {"list_display": ("id", "state", "controlled", "pharmacy", "dispensed_at_pharmacy", "expires_at",
                          "dispensed_at"),
         "list_filter": ("state", "controlled", "created_at", "dispensed_at"),
         "search_fields": ("id", "prescription__id", "pharmacy__code")},
    ),
    Table(
        "booking_hold", "appointments.BookingHold",
        """WITH slot AS (
               INSERT INTO appointments_slot (department_id, start, "end", capacity, in_use)
               VALUES (%(department)s, now(), now() + interval '30 minutes', 1, 0) RETURNING id)
           INSERT INTO appointments_bookinghold (id, patient_id, hospital_id, department_id, slot_id, start, "end",
               priority, appointment_type, details, fee_amount, currency, state, expires_at, payment_reference,
               created_at, updated_at)
           SELECT gen_random_uuid(), (%(users)s::uuid[])[1 + mod(i, 20)], %(hospital)s, %(department)s, slot.id,
                  now(), now() + interval '30 minutes', 'normal', 'consultation', '{}'::jsonb, 2000, 'NGN',
                  (ARRAY['confirmed', 'released', 'expired'])[1 + mod(i / 3, 3)],
                  now() - make_interval(mins => i) + interval '15 minutes', 'PHB-H' || i,
                  now() - make_interval(mins => i), now() - make_interval(mins => i)
           FROM generate_series(1, %(rows)s) AS i, slot""",
        "SELECT h.id::text, h.payment_reference, u.email FROM appointments_bookinghold h "
        "JOIN accounts_user u ON u.id = h.patient_id ORDER BY h.created_at LIMIT 1",
        "?state__exact=released", "?state__exact=released",
        {"list_display": ("id", "department", "start", "state", "expires_at", "fee_amount", "created_at"),
         "list_filter": ("state", "priority", "hospital"), "search_fields": ("id", "payment_reference")},
    ),
    Table(
        "access_consent", "records.AccessConsent",
        """INSERT INTO records_accessconsent (id, patient_id, clinician_id, reason, access_type, duration_seconds,
               status, requested_at, request_expires_at)
           SELECT gen_random_uuid(), (%(users)s::uuid[])[1 + mod(i, 20)], (%(users)s::uuid[])[1 + mod(i + 7, 20)],
                  '', (ARRAY['medical_records', 'lab_results'])[1 + mod(i, 2)], 3600,
                  (ARRAY['granted', 'expired', 'revoked'])[1 + mod(i / 3, 3)], now() - make_interval(mins => i),
                  now() - make_interval(mins => i) + interval '1 hour'
           FROM generate_series(1, %(rows)s) AS i""",
        "SELECT c.id::text, u.hpn FROM records_accessconsent c JOIN accounts_user u ON u.id = c.patient_id "
        "ORDER BY c.requested_at LIMIT 1",
        "?access_type=lab_results&status__exact=granted", "?access_type__exact=lab_results&status__exact=granted",
        {"list_display": ("id", "patient_id", "clinician_id", "status", "requested_at", "expires_at", "revoked_at"),
         "list_filter": ("status", "access_type", "requested_at"),
         "search_fields": ("id", "patient__hpn", "clinician__email")},
    ),
    Table(
        "patient_document", "records.PatientDocument",
        """INSERT INTO records_patientdocument (id, patient_id, file, display_name, extension, content_type, size,
               sha256, created_at)
           SELECT gen_random_uuid(), (%(users)s::uuid[])[1 + mod(i, 20)], 'documents/' || i || '.pdf', 'scan.pdf',
                  (ARRAY['pdf', 'jpg', 'png'])[1 + mod(i, 3)], 'application/pdf', 1000 + i,
                  encode(sha256(i::text::bytea), 'hex'), now() - make_interval(mins => i)
           FROM generate_series(1, %(rows)s) AS i""",
        "SELECT id::text, sha256 FROM records_patientdocument ORDER BY created_at LIMIT 1",
        "?extension=jpg", "?extension__exact=jpg",
        {"list_display": ("id", "patient_id", "extension", "size", "created_at", "deleted_at"),
         "list_filter": ("extension", "created_at", "deleted_at"), "search_fields": ("id", "patient__hpn", "sha256")},
    ),
]


def median_ms(view, request_for, query: str) -> float:
    timings = []
    for _ in range(3):
        request = request_for(query)
        started = time.perf_counter()
        response = view(request)
        response.render()
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return statistics.median(timings) * 1000


def main() -> int:
    database = postgres_url()
    if database is None:
        print("# bench_admin: needs PostgreSQL (DATABASE_URL=postgres://...); skipped")
        return 0
    with fresh_database(database, suffix="admin") as url:
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "phb.settings.bench", "LOG_LEVEL": "WARNING"}
        manage(env, "migrate", "--noinput")
        os.environ.update(env)
        import django

        django.setup()
        from django.apps import apps
        from django.contrib import admin
        from django.contrib.messages.storage.fallback import FallbackStorage
        from django.contrib.sessions.backends.base import SessionBase
        from django.db import connection
        from django.test import RequestFactory

        from storage.models import ClinicalGuideline
        from tests.factories import DepartmentFactory, HospitalFactory, UserFactory

        staff = UserFactory(is_staff=True, is_superuser=True)
        users = UserFactory.create_batch(20)
        hospital = HospitalFactory()
        department = DepartmentFactory(hospital=hospital)
        guidelines = ClinicalGuideline.objects.bulk_create(
            [ClinicalGuideline(organization=hospital, title="Guideline", description="A guideline.",
                               category="prevention") for _ in range(50)])
        values = {"rows": ROWS, "patient": users[0].pk, "users": [u.pk for u in users], "hospital": hospital.pk,
                  "department": department.pk,
                  "guidelines": [g.pk for g in guidelines]}
        factory = RequestFactory()

        def request_to(path: str, query: str):
            request = factory.get(path + query)
            request.user = staff
            request.session = SessionBase()
            request._messages = FallbackStorage(request)
            return request
        for table in [t for t in TABLES if not ONLY or t.name in ONLY]:
            model = apps.get_model(table.model)
            with connection.cursor() as cursor:
                cursor.execute(table.fill, values)
                cursor.execute(f"ANALYZE {model._meta.db_table}")
                cursor.execute(table.probe)
                terms = list(cursor.fetchone())
            request_for = partial(request_to, f"/admin/{model._meta.app_label}/{model._meta.model_name}/")

            default_admin = type(f"DjangoDefault{model.__name__}Admin", (admin.ModelAdmin,), dict(table.default))
            ours = admin.site._registry[model].changelist_view
            default = default_admin(model, admin.site).changelist_view
            for suffix, view, filtered in (("", ours, table.filtered),
                                           ("_django_default", default, table.default_filtered)):
                view(request_for("")).render()  # first use: templates, caches
                prefix = f"{table.name}_admin"
                print(f"{prefix}_changelist{suffix}_ms: {median_ms(view, request_for, ''):.0f}", flush=True)
                search = statistics.median(median_ms(view, request_for, f"?q={term}") for term in terms)
                print(f"{prefix}_search{suffix}_ms: {search:.0f}", flush=True)
                print(f"{prefix}_filtered{suffix}_ms: {median_ms(view, request_for, filtered):.0f}", flush=True)
        if not ONLY or "user" in ONLY:  # the same searches without the trigram indexes
            with connection.cursor() as cursor:
                cursor.execute(USER_PROBE)
                terms = list(cursor.fetchone())
                for column in ("email", "full_name", "hpn"):
                    cursor.execute(f"DROP INDEX user_{column}_trigram")
            users = admin.site._registry[apps.get_model("accounts.User")].changelist_view
            user_request = partial(request_to, "/admin/accounts/user/")
            search = statistics.median(median_ms(users, user_request, f"?q={term}") for term in terms)
            print(f"user_admin_search_without_trigram_ms: {search:.0f}")
        print(f"admin_rows_per_table: {ROWS}")
        connection.close()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    sys.exit(main())
