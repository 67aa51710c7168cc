"""Controlled drugs need two different prescribers and carry no repeats; triage categories come
from explicit rules; pharmacists review requests routed to their pharmacy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from prescriptions import rules
from prescriptions.models import ItemState, SignedItem
from records.models import MedicalProfile
from tests.helpers import client_for
from tests.prescriptions.conftest import REPEAT, approve, make_request, signed_of

pytestmark = pytest.mark.django_db

CODEINE = {"medication_name": "Codeine phosphate", "strength": "30mg", "form": "tablet", "quantity": 28,
           "is_repeat": True}


# --- Controlled drugs --------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "controlled"), [
    ("Codeine phosphate", True), ("MORPHINE sulfate", True), ("co-codamol (codeine)", True), ("Zolpidem", True),
    ("Metformin", False), ("Paracetamol", False), ("Lorazepam 1mg", True),
])
def test_controlled_matching_follows_the_frontend(name, controlled):
    assert rules.is_controlled(name) is controlled


def test_a_controlled_drug_needs_a_second_different_prescriber(patient, doctor, second_doctor, nominated,
                                                               django_capture_on_commit_callbacks):
    rx = make_request(patient, [CODEINE])
    first = approve(doctor, rx, django_capture_on_commit_callbacks)
    assert first["outcome"] == "first_approval" and first["awaiting_second_approval"] is True
    assert rx.status == "REQUESTED" and rx.prescription_id is None
    same = client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve", {}, format="json")
    assert same.status_code == 409 and same.json()["code"] == "second_prescriber_required"
    second = approve(second_doctor, rx, django_capture_on_commit_callbacks)
    assert second["outcome"] == "issued" and rx.status == "APPROVED"
    assert rx.first_approved_by == doctor and rx.approved_by == second_doctor
    item = SignedItem.objects.get(prescription=rx.prescription)
    assert item.controlled and item.state == ItemState.ISSUED
    assert item.expires_at <= rx.prescription.issued_at + timedelta(days=rules.CONTROLLED_VALID_DAYS)


def test_controlled_drugs_carry_no_repeats(patient, doctor, nominated, django_capture_on_commit_callbacks):
    rx = make_request(patient, [CODEINE])
    response = client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve", {"medications": [
        {"medication_name": "Codeine phosphate", "strength": "30mg", "quantity": 28, "refills_allowed": 3}]},
        format="json")
    assert response.status_code == 400 and response.json()["code"] == "controlled_no_repeats"
    rx.refresh_from_db()
    assert rx.first_approved_by is None


def test_the_second_approval_must_match_the_first(patient, doctor, second_doctor, nominated,
                                                  django_capture_on_commit_callbacks):
    rx = make_request(patient, [CODEINE])
    approve(doctor, rx, django_capture_on_commit_callbacks)
    response = client_for(second_doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve", {"medications": [
        {"medication_name": "Codeine phosphate", "strength": "60mg", "quantity": 100}]}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "approvals_differ"


def test_a_prescriber_cannot_add_a_third_controlled_drug(patient, doctor, nominated):
    rx = make_request(patient)
    meds = [{"medication_name": n, "quantity": 1} for n in ("Tramadol", "Diazepam", "Morphine")]
    response = client_for(doctor).post(f"/api/provider/prescriptions/{rx.pk}/approve", {"medications": meds},
                                       format="json")
    assert response.status_code == 400 and response.json()["code"] == "too_many_controlled"


# --- Triage rules ------------------------------------------------------------------------------
def _triage(meds, *, request_type="repeat", urgency="routine", allergies=(), current=(), last=None):
    return rules.triage(medications=meds, request_type=request_type, urgency=urgency, allergies=allergies,
                        current_medications=current, last_issued=last or {}, now=timezone.now())


def test_triage_categories_follow_the_rules():
    plain = {"medication_name": "Metformin", "strength": "500mg", "is_repeat": True}
    assert _triage([plain]).category == "ROUTINE_REPEAT"
    assert _triage([plain], urgency="urgent", request_type="new").category == "URGENT_NEW"
    assert _triage([plain], request_type="dosage_change").category == "COMPLEX_CASE"
    high = _triage([{**plain, "strength": "2g"}])
    assert high.category == "COMPLEX_CASE" and [f.code for f in high.flags] == ["dose_out_of_range"]
    early = _triage([plain], last={"metformin": timezone.now() - timedelta(days=5)})
    assert early.category == "COMPLEX_CASE" and early.flags[0].code == "early_repeat"
    assert not _triage([plain], last={"metformin": timezone.now() - timedelta(days=30)}).flags
    allergy = _triage([{"medication_name": "Amoxicillin", "strength": "500mg"}], allergies=["Penicillin"])
    assert allergy.category == "HIGH_RISK" and allergy.flags[0].code == "allergy"
    interaction = _triage([{"medication_name": "Ibuprofen", "strength": "400mg"}], current=["Warfarin 5mg"])
    assert interaction.category == "HIGH_RISK" and interaction.flags[0].code == "interaction"
    controlled = _triage([{"medication_name": "Tramadol", "strength": "50mg"}], current=["Sertraline"])
    assert controlled.category == "CONTROLLED_SUBSTANCE"
    assert controlled.score == rules.WEIGHTS["controlled_drug"] + rules.WEIGHTS["interaction"]


def test_request_triage_reads_the_patients_allergies_and_medicines(patient, doctor, nominated, pharmacist,
                                                                   django_capture_on_commit_callbacks):
    MedicalProfile.objects.create(patient=patient, allergies=["Penicillin"])
    rx = make_request(patient, [{"medication_name": "Amoxicillin", "strength": "500mg", "quantity": 21,
                                 "is_repeat": False}], request_type="new")
    assert rx.triage_category == "HIGH_RISK"
    detail = client_for(pharmacist).get(f"/api/provider/prescriptions/triage/{rx.pk}/").json()
    assert detail["triage_info"]["category"] == "HIGH_RISK" and "Penicillin" in detail["triage_info"]["reason"]
    assert detail["medications"][0]["clinical_concern"]
    assert detail["patient"]["allergies"] == "Penicillin"
    approve(doctor, make_request(patient), django_capture_on_commit_callbacks)
    again = make_request(patient)
    assert again.triage_category == "COMPLEX_CASE"
    assert {f["code"] for f in again.triage_flags} == {"early_repeat"}


# --- Pharmacist triage endpoints ----------------------------------------------------------------
def test_triage_queue_shape_filters_and_pagination(patient, nominated, pharmacist):
    make_request(patient, urgency="urgent")
    make_request(patient, [CODEINE])
    body = client_for(pharmacist).get("/api/provider/prescriptions/triage/", {
        "status": "REQUESTED", "reviewed": "false", "page": 1, "per_page": 1}).json()
    assert body["status"] == "success" and body["total_count"] == 2 and len(body["requests"]) == 1
    assert body["pagination"] == {"page": 1, "per_page": 1, "total_pages": 2}
    assert body["stats"] == {"awaiting_review": 2, "reviewed_today": 0, "urgent_pending": 1}
    item = body["requests"][0]
    for key in ("id", "request_reference", "patient_name", "patient_hpn", "status", "urgency", "request_date",
                "medications", "triage_category", "triage_score", "pharmacist_reviewed"):
        assert key in item
    assert item["triage_category"] == "CONTROLLED_SUBSTANCE"  # highest score first
    only = client_for(pharmacist).get("/api/provider/prescriptions/triage/",
                                      {"triage_category": "URGENT_REPEAT"}).json()
    assert only["total_count"] == 1


def test_review_before_and_after_approval(patient, doctor, nominated, pharmacist, pharmacy,
                                          django_capture_on_commit_callbacks):
    rx = make_request(patient)
    url = f"/api/provider/prescriptions/triage/{rx.pk}/"
    first = client_for(pharmacist).post(url + "approve/", {"pharmacist_notes": "fine"}, format="json")
    assert first.status_code == 200 and first.json()["success"] is True
    twice = client_for(pharmacist).post(url + "approve/", {"pharmacist_notes": "again"}, format="json")
    assert twice.status_code == 409
    approve(doctor, rx, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ready = client_for(pharmacist).post(url + "approve/", {"pharmacist_notes": "checked"}, format="json")
    assert ready.status_code == 200
    assert any("ready to collect" in m.subject for m in mail.outbox)
    stats = client_for(pharmacist).get("/api/provider/prescriptions/triage/stats/").json()
    assert stats["total_reviews_completed"] == 1 and stats["approval_rate"] == 100.0
    assert set(stats) == {"total_reviews_completed", "approval_rate", "escalation_rate", "rejection_rate",
                          "intervention_rate", "average_review_time_minutes", "reviews_this_week",
                          "reviews_this_month", "urgent_pending", "routine_pending"}


def test_escalation_holds_dispensing_until_the_prescriber_decides(issued, patient, doctor, pharmacist, pharmacy,
                                                                  django_capture_on_commit_callbacks):
    data = signed_of(patient)
    url = f"/api/provider/prescriptions/triage/{issued.pk}/"
    assert client_for(pharmacist).post(url + "escalate/", {"pharmacist_notes": "x"}, format="json"
                                       ).status_code == 400  # a reason is required
    assert client_for(pharmacist).post(url + "escalate/", {
        "escalation_reason": "Renal function?", "pharmacist_notes": "eGFR unknown"}, format="json").status_code == 200
    held = client_for(pharmacist).post("/api/prescriptions/dispense/", {
        "prescription_id": data["payload"]["id"], "nonce": data["payload"]["nonce"]}, format="json")
    assert held.status_code == 409 and held.json()["code"] == "escalated"
    detail = client_for(doctor).get(f"/api/provider/prescriptions/{issued.pk}/").json()
    assert detail["pharmacist_review"]["review_action"] == "escalated"
    with django_capture_on_commit_callbacks(execute=True):
        cancel = client_for(doctor).post(f"/api/provider/prescriptions/{issued.pk}/reject",
                                         {"reason": "Stop metformin"}, format="json")
    assert cancel.status_code == 200
    issued.refresh_from_db()
    assert issued.status == "CANCELLED" and issued.prescription.status == "cancelled"
    refused = client_for(pharmacist).post("/api/prescriptions/dispense/", {
        "prescription_id": data["payload"]["id"], "nonce": data["payload"]["nonce"]}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "cancelled"


def test_an_escalation_landing_after_the_dispense_check_still_holds_the_dispense(
        issued, patient, pharmacist, other_pharmacist, monkeypatch):
    """The routed pharmacy escalates between another pharmacy's first check of the token and its
    dispense: the hold is checked again with the request locked, so nothing is dispensed."""
    from prescriptions import dispensing

    data = signed_of(patient)
    checked = dispensing.refusal
    escalations = []

    def check_then_escalate(item):
        reason = checked(item)  # the real check, then the escalation commits before the dispense goes on
        if not escalations:
            escalations.append(client_for(pharmacist).post(
                f"/api/provider/prescriptions/triage/{issued.pk}/escalate/",
                {"escalation_reason": "Renal function?", "pharmacist_notes": "x"}, format="json").status_code)
        return reason

    monkeypatch.setattr(dispensing, "refusal", check_then_escalate)
    response = client_for(other_pharmacist).post("/api/prescriptions/dispense/", {
        "prescription_id": data["payload"]["id"], "nonce": data["payload"]["nonce"]}, format="json")
    assert escalations == [200]
    assert response.status_code == 409 and response.json()["code"] == "escalated", response.json()
    assert "on hold" in response.json()["message"]
    assert SignedItem.objects.get(prescription=issued.prescription).state == ItemState.ISSUED
    issued.refresh_from_db()
    assert issued.status == "APPROVED" and issued.pharmacist_action == "escalated"


def test_pharmacist_rejection_of_an_issued_prescription_cancels_it(issued, patient, pharmacist,
                                                                   django_capture_on_commit_callbacks):
    """The patient, told it was approved, is told it was cancelled (not "not approved")."""
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(pharmacist).post(f"/api/provider/prescriptions/triage/{issued.pk}/reject/", {
            "rejection_reason": "Duplicate therapy", "pharmacist_notes": "n"}, format="json")
    assert response.status_code == 200
    assert SignedItem.objects.get(prescription=issued.prescription).state == ItemState.CANCELLED
    assert client_for(patient).get("/api/prescriptions/").json()["medications"][0]["status"] == "cancelled"
    (email,) = mail.outbox
    assert email.subject == "Your prescription was cancelled" and "no longer be collected" in email.body
    assert "not approved" not in email.body and "Duplicate" not in email.body and issued.reference in email.body


def test_only_pharmacists_see_the_triage_queue(patient, doctor):
    for user in (patient, doctor):
        assert client_for(user).get("/api/provider/prescriptions/triage/").status_code == 403
        assert client_for(user).get("/api/provider/prescriptions/triage/stats/").status_code == 403


def test_requests_limit_and_unrelated_request_types(patient, nominated):
    rx = make_request(patient, [REPEAT, {**REPEAT, "medication_name": "Atorvastatin", "strength": "20mg"}])
    assert rx.triage_category == "ROUTINE_REPEAT" and rx.controlled_count == 0


def test_the_pharmacist_checks_what_was_issued_not_what_was_asked(patient, doctor, nominated, pharmacist,
                                                                  django_capture_on_commit_callbacks):
    """The request form sends quantity 0 and no dosage: the prescriber decides them. Once issued, the
    pharmacist's queue and detail show the issued medications (strength, quantity, dosage as
    prescribed); what the patient asked for stays in ``requested_medications``."""
    asked = {"medication_name": "Metformin", "strength": "500mg", "form": "tablet", "quantity": 0, "is_repeat": True}
    rx = make_request(patient, [asked, {**asked, "medication_name": "Atorvastatin", "strength": "20mg"}])
    approve(doctor, rx, django_capture_on_commit_callbacks, body={"medications": [
        {"medication_name": "Metformin", "strength": "850mg", "form": "tablet", "quantity": 56,
         "dosage_instructions": "1 tablet twice daily"}]})
    detail = client_for(pharmacist).get(f"/api/provider/prescriptions/triage/{rx.pk}/").json()
    assert [(m["medication_name"], m["strength"], m["quantity"], m["dosage"], m["is_repeat"], m["is_controlled"])
            for m in detail["medications"]] == [("Metformin", "850mg", 56, "1 tablet twice daily", True, False)]
    assert [m["medication_name"] for m in detail["requested_medications"]] == ["Metformin", "Atorvastatin"]
    listed = client_for(pharmacist).get("/api/provider/prescriptions/triage/", {"status": "APPROVED"}).json()
    assert [(m["medication_name"], m["quantity"]) for m in listed["requests"][0]["medications"]] == [("Metformin", 56)]
    before = make_request(patient, [{**asked, "medication_name": "Ramipril", "strength": "5mg"}])
    pending = client_for(pharmacist).get(f"/api/provider/prescriptions/triage/{before.pk}/").json()
    assert [(m["medication_name"], m["quantity"]) for m in pending["medications"]] == [("Ramipril", 0)]


def test_issuing_does_not_flag_the_prescription_against_itself(patient, doctor, nominated,
                                                              django_capture_on_commit_callbacks):
    """Triage is computed again with the issued medications: the prescription being issued is not an
    earlier issue of them (every repeat was flagged "last issued 0 days ago", COMPLEX_CASE), while an
    earlier prescription still is."""
    rx = make_request(patient)
    assert rx.triage_category == "ROUTINE_REPEAT"
    approve(doctor, rx, django_capture_on_commit_callbacks)
    assert (rx.triage_category, rx.triage_flags, rx.triage_score) == ("ROUTINE_REPEAT", [], 0)
    again = make_request(patient)
    approve(doctor, again, django_capture_on_commit_callbacks)
    assert again.triage_category == "COMPLEX_CASE"
    assert [f["code"] for f in again.triage_flags] == ["early_repeat"]


def test_the_second_prescriber_is_shown_the_first_approval(patient, doctor, second_doctor, nominated,
                                                           django_capture_on_commit_callbacks):
    """The prescriber's form starts from the detail's ``medications``: awaiting a second approval,
    they are the first approval's (its quantity and dosage), so the second prescriber posting them
    as shown issues the prescription instead of being refused with approvals_differ."""
    rx = make_request(patient, [{**CODEINE, "quantity": 0}])
    first = {"medication_name": "Codeine phosphate", "strength": "30mg", "form": "tablet", "quantity": 28,
             "dosage_instructions": "1 tablet four times daily when needed", "refills_allowed": 0}
    approve(doctor, rx, django_capture_on_commit_callbacks, body={"medications": [first]})
    detail = client_for(second_doctor).get(f"/api/provider/prescriptions/{rx.pk}/").json()
    assert detail["awaiting_second_approval"] is True
    assert [(m["medication_name"], m["strength"], m["quantity"], m["dosage"], m["is_controlled"])
            for m in detail["medications"]] == [("Codeine phosphate", "30mg", 28, first["dosage_instructions"], True)]
    assert detail["requested_medications"][0]["quantity"] == 0
    form = [{"medication_name": m["medication_name"], "strength": m["strength"] or "", "form": m["form"] or "",
             "quantity": m["quantity"] or 30, "dosage_instructions": m["dosage"] or "", "refills_allowed": 0}
            for m in detail["medications"]]  # as PrescriptionRequestModal.tsx fills its form
    second = approve(second_doctor, rx, django_capture_on_commit_callbacks,
                     body={"medications": form, "clinical_notes": ""})
    assert second["outcome"] == "issued" and rx.status == "APPROVED"


def test_a_pharmacist_rejection_asking_for_an_appointment_tells_the_patient(patient, nominated, pharmacist,
                                                                           django_capture_on_commit_callbacks):
    """The triage form's "Patient requires follow-up appointment" (``requires_appointment``) reaches
    the patient's email as a prescriber's ``requires_follow_up`` does; it was dropped."""
    asked, plain = make_request(patient), make_request(patient, [{**REPEAT, "medication_name": "Ramipril"}])
    mail.outbox.clear()
    for rx, follow_up in ((asked, True), (plain, False)):
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(pharmacist).post(f"/api/provider/prescriptions/triage/{rx.pk}/reject/", {
                "rejection_reason": "Needs a review of the dose", "pharmacist_notes": "",
                "requires_appointment": follow_up}, format="json")
        assert response.status_code == 200, response.json()
        rx.refresh_from_db()
        assert rx.status == "REJECTED" and rx.requires_follow_up is follow_up
    assert [("book an appointment" in m.body) for m in mail.outbox] == [True, False]


def test_ready_to_collect_waits_for_the_signature(patient, doctor, nominated, pharmacist, monkeypatch,
                                                  django_capture_on_commit_callbacks):
    """KMS failed when the prescription was issued: its item is not signed, so a pharmacy would refuse
    it (not_signed). The pharmacist's check does not tell the patient it is ready to collect until
    it is signed."""
    from django.core.management import call_command

    from phb.aws.clients import aws_client
    from tests.aws_faults import unreachable

    rx = make_request(patient)
    with unreachable(aws_client("kms"), "Sign"):
        approve(doctor, rx, django_capture_on_commit_callbacks)
    assert SignedItem.objects.get(prescription=rx.prescription).state == ItemState.PENDING
    url = f"/api/provider/prescriptions/triage/{rx.pk}/approve/"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        early = client_for(pharmacist).post(url, {"pharmacist_notes": "checked"}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "not_signed" and early.json()["message"]
    rx.refresh_from_db()
    assert rx.pharmacist_action == "" and not mail.outbox
    call_command("sign_pending_prescriptions", stdout=open("/dev/null", "w"))  # KMS answers again
    with django_capture_on_commit_callbacks(execute=True):
        ready = client_for(pharmacist).post(url, {"pharmacist_notes": "checked"}, format="json")
    assert ready.status_code == 200
    assert [m.subject for m in mail.outbox] == ["Your prescription is ready to collect"]


def test_medicines_of_one_request_are_checked_against_each_other(patient, doctor, nominated,
                                                                  django_capture_on_commit_callbacks):
    """Warfarin and ibuprofen asked for (and issued) together are an interaction, flagged once, as
    when one of them is already taken."""
    pair = [{"medication_name": "Warfarin", "strength": "5mg", "quantity": 0, "is_repeat": False},
            {"medication_name": "Ibuprofen", "strength": "400mg", "quantity": 0, "is_repeat": False}]
    assert [f.code for f in _triage(pair, request_type="new").flags] == ["interaction"]
    rx = make_request(patient, pair, request_type="new")
    assert rx.triage_category == "HIGH_RISK"
    assert [(f["code"], f["medication"]) for f in rx.triage_flags] == [("interaction", "Ibuprofen")]
    approve(doctor, rx, django_capture_on_commit_callbacks)
    assert rx.triage_category == "HIGH_RISK" and [f["code"] for f in rx.triage_flags] == ["interaction"]
    assert not _triage([pair[0]], request_type="new").flags
