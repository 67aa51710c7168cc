"""Clinical notes are envelope-encrypted with KMS: the database column holds no plaintext."""

from __future__ import annotations

import base64

import pytest
from django.db import connection

from phb.aws.clients import count_aws_calls
from records.crypto import DecryptionError, clear_key_cache, decrypt_many, decrypt_text, encrypt_text
from records.models import ClinicalEntry
from tests.helpers import client_for
from tests.records.conftest import MED_HEADER, RECORD_URL

pytestmark = pytest.mark.django_db

SECRET_NOTE = "Patient disclosed HIV status; counselled on adherence to tenofovir"


def _raw_notes(entry_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT notes_encrypted FROM records_clinicalentry WHERE id = %s", [entry_id.hex
                       if connection.vendor == "sqlite" else entry_id])
        return cursor.fetchone()[0]


def test_notes_column_holds_no_plaintext_and_decrypts_back(open_record, doctor, patient, appointment):
    response = client_for(doctor).post(
        f"/api/professional/patients/{patient.pk}/medical-records/",
        {"kind": "encounter", "title": "Follow-up", "date": "2025-02-01", "notes": SECRET_NOTE},
        format="json",
    )
    assert response.status_code == 201
    entry = ClinicalEntry.objects.get()
    stored = _raw_notes(entry.pk)
    assert stored.startswith("kms1:")
    for fragment in ("HIV", "tenofovir", "adherence", SECRET_NOTE):
        assert fragment not in stored
        assert fragment.encode().hex() not in stored

    clear_key_cache()  # the read must go back to KMS for the data key
    client, token = open_record(patient)
    with count_aws_calls() as calls:
        data = client.get(RECORD_URL, **{MED_HEADER: token}).json()["data"]
    assert data["encounters"][0]["notes"] == SECRET_NOTE
    assert calls["kms.Decrypt"] == 1


def test_ciphertext_is_bound_to_its_row():
    token = encrypt_text("note", context="records.ClinicalEntry.notes:a")
    assert decrypt_text(token, context="records.ClinicalEntry.notes:a") == "note"
    with pytest.raises(DecryptionError):
        decrypt_text(token, context="records.ClinicalEntry.notes:b")


def test_tampered_ciphertext_refused():
    token = encrypt_text("note", context="c")
    blob = bytearray(base64.urlsafe_b64decode(token.removeprefix("kms1:")))
    blob[-5] ^= 0x01  # one bit of the sealed text
    with pytest.raises(DecryptionError):
        decrypt_text("kms1:" + base64.urlsafe_b64encode(bytes(blob)).decode(), context="c")


def test_data_keys_are_reused_and_cached():
    clear_key_cache()
    with count_aws_calls() as calls:
        tokens = [encrypt_text(f"note {i}", context=str(i)) for i in range(50)]
        assert [decrypt_text(t, context=str(i)) for i, t in enumerate(tokens)] == [f"note {i}" for i in range(50)]
    assert calls["kms.GenerateDataKey"] == 1
    assert calls.get("kms.Decrypt", 0) == 0
    clear_key_cache()
    with count_aws_calls() as calls:
        decrypt_text(tokens[0], context="0")
        decrypt_text(tokens[1], context="1")
    assert calls["kms.Decrypt"] == 1


def _tampered(token: str) -> str:
    blob = bytearray(base64.urlsafe_b64decode(token.removeprefix("kms1:")))
    blob[-5] ^= 0x01
    return "kms1:" + base64.urlsafe_b64encode(bytes(blob)).decode()


def test_decrypt_many_answers_as_decrypt_text_and_unwraps_each_key_once():
    clear_key_cache()
    first = [encrypt_text(f"note {i}", context=str(i)) for i in range(20)]
    clear_key_cache()  # a second data key for the rest
    second = [encrypt_text(f"other {i}", context=f"o{i}") for i in range(5)]
    items = [(t, str(i)) for i, t in enumerate(first)] + [(t, f"o{i}") for i, t in enumerate(second)]
    broken = [(first[0], "wrong row"), (_tampered(first[1]), "1"), ("kms1:!!", "x"), ("plain text", "x"),
              (first[2][:-8], "2"), ("kms1:é" + first[3][5:], "3"), ("kms1:" + first[4][7:], "4"),
              ("kms1:" + base64.urlsafe_b64encode(b"\xff\xff" + bytes(40)).decode(), "6"), ("", "7")]
    clear_key_cache()
    with count_aws_calls() as calls:
        got = decrypt_many(items[:10] + broken + items[10:])
    assert calls["kms.Decrypt"] == 2  # one per data key, not one per entry
    assert got == [f"note {i}" for i in range(10)] + [None] * len(broken) + \
        [f"note {i}" for i in range(10, 20)] + [f"other {i}" for i in range(5)]
    for (token, context), answer in zip(items + broken, decrypt_many(items + broken), strict=True):
        try:
            expected = decrypt_text(token, context=context)
        except DecryptionError:
            expected = None
        assert answer == expected
    assert decrypt_many([]) == []


def test_a_record_lists_an_entry_whose_notes_cannot_be_decrypted(patient, caplog):
    from records.selectors import entry_rows, with_notes

    good = ClinicalEntry.objects.create(patient=patient, kind="encounter", title="Good", occurred_on="2025-01-02")
    bad = ClinicalEntry.objects.create(patient=patient, kind="encounter", title="Bad", occurred_on="2025-01-01")
    ClinicalEntry.objects.create(patient=patient, kind="encounter", title="None", occurred_on="2024-12-31")
    ClinicalEntry.objects.filter(pk=good.pk).update(
        notes_encrypted=encrypt_text("seen and well", context=f"records.ClinicalEntry.notes:{good.pk}"))
    ClinicalEntry.objects.filter(pk=bad.pk).update(  # another row's ciphertext: refused
        notes_encrypted=encrypt_text("copied", context=f"records.ClinicalEntry.notes:{good.pk}"))
    rows = list(entry_rows(patient=patient).order_by("-occurred_on"))
    with caplog.at_level("ERROR", logger="records.selectors"):
        listed = with_notes(rows)
    assert [(entry.title, notes) for entry, notes in listed] == [("Good", "seen and well"), ("Bad", ""), ("None", "")]
    assert [r.event for r in caplog.records] == ["notes_decrypt_failed"]
    assert caplog.records[0].entry == str(bad.pk)


def test_record_reads_use_constant_queries(open_record, doctor, patient, appointment, django_assert_max_num_queries):
    from django.test.utils import CaptureQueriesContext

    def create(n: int) -> None:
        for i in range(n):
            entry = ClinicalEntry(patient=patient, kind="lab_result", title=f"Test {i}", occurred_on="2025-01-01",
                                  created_by=doctor, updated_by=doctor)
            entry.notes = f"note {i}"
            entry.save()

    client, token = open_record(patient)
    create(3)
    with CaptureQueriesContext(connection) as few:
        assert client.get(RECORD_URL, **{MED_HEADER: token}).status_code == 200
    create(40)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(RECORD_URL, **{MED_HEADER: token}).json()["data"]["lab_results"]) == 43
    assert len(few.captured_queries) == len(many.captured_queries)


def test_a_note_kms_cannot_seal_is_a_503_and_stores_nothing(doctor, patient, appointment):
    """KMS unreachable while a doctor adds an entry with notes: a 503 with a message the screen
    shows (it was a 500), no entry without its notes, no audit row."""
    from phb.aws.clients import aws_client
    from records.models import AuditEvent
    from tests.aws_faults import unreachable

    with unreachable(aws_client("kms"), "GenerateDataKey"):
        response = client_for(doctor).post(
            f"/api/professional/patients/{patient.pk}/medical-records/",
            {"kind": "encounter", "title": "Review", "date": "2025-01-10", "notes": SECRET_NOTE}, format="json",
        )
    assert response.status_code == 503, response.content
    assert response.json()["message"] == "Clinical notes cannot be saved just now. Try again shortly."
    assert not ClinicalEntry.objects.exists()
    assert not AuditEvent.objects.filter(action="write").exists()
