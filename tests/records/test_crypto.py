"""Clinical notes are envelope-encrypted with KMS: the database column holds no plaintext."""

from __future__ import annotations

import base64

import pytest
from django.db import connection

from phb.aws.clients import count_aws_calls
from records.crypto import DecryptionError, clear_key_cache, decrypt_text, encrypt_text
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
