"""Medical-records benchmarks.

preview_50mb_rss_growth_mb: peak RSS of the (single) gunicorn worker while it streams a 50 MB
document preview (GET /api/secure/files/{id}/preview/) minus its RSS when idle after warm-up
requests. Target < 30 (the body is streamed from S3 in chunks, never held whole).
record_sql_queries_10 / record_sql_queries_200: SQL queries of GET /api/patient/medical-record/
for a patient with 10 and with 200 clinical entries. Target: equal.
record_export_1000_entries_ms: one GET /api/patient/medical-record/export/ of a record of 1,000
entries, in process (the entries read and their notes decrypted, the PDF built), the median of 3.
record_pdf_1000_entries_ms / record_pdf_1000_entries_multi_cell_ms: building that PDF alone, with
the record's own line setting and with fpdf2's ``multi_cell`` setting the same text (the pages are
the same: tests/records/test_export.py), the median of 3 each, interleaved; and their ratio,
record_pdf_speedup_vs_multi_cell. Target: an export costs well under a second per 1,000 entries.
"""

from __future__ import annotations

import http.client
import os
import statistics
import sys
import tempfile
import time

from common import (
    PeakRss,
    bench_env,
    count_queries,
    gunicorn_server,
    local_aws,
    prepare_database,
    rss_mb,
    setup_django,
    worker_pids,
)

RECORD = "/api/patient/medical-record/"

DOCUMENT_MB = 50


def _patient_with_entries(n: int):
    from datetime import date, timedelta

    from accounts.cookies import issue_tokens
    from records.models import ClinicalEntry, EntryKind, MedicalProfile
    from records.sessions import session_create
    from tests.factories import HospitalFactory, UserFactory, make_patient

    hospital = HospitalFactory()
    patient = make_patient(hospital=hospital)
    doctor = UserFactory(role="doctor")
    MedicalProfile.objects.create(patient=patient, blood_type="O+", allergies=["Penicillin"])
    kinds = list(EntryKind.values)
    entries = []
    for i in range(n):
        entry = ClinicalEntry(
            patient=patient, kind=kinds[i % len(kinds)], title=f"Entry {i}", occurred_on=date(2024, 1, 1) + timedelta(days=i),
            provider_name="Dr Bench", hospital=hospital, details={"dosage": "5 mg"}, created_by=doctor, updated_by=doctor,
        )
        entry.notes = f"Clinical note number {i} with some detail about the visit."
        entries.append(entry)
    ClinicalEntry.objects.bulk_create(entries)
    token, _ = session_create(holder=patient, subject=patient, kind="patient", ttl_seconds=3600)
    return patient, str(issue_tokens(user=patient).access_token), token


def _document(patient, size_mb: float) -> str:
    import uuid

    from django.core.files import File

    from records.documents import KEY_PREFIX, storage
    from records.models import PatientDocument

    doc_id = uuid.uuid4()
    size = int(size_mb * 1024 * 1024)
    with tempfile.TemporaryFile() as fh:
        fh.write(b"%PDF-1.7\n")
        block = os.urandom(1024 * 1024)
        while fh.tell() < size:
            fh.write(block[: size - fh.tell()])
        fh.seek(0)
        key = storage().save(f"{KEY_PREFIX}/{patient.pk}/{doc_id}.pdf", File(fh, name="bench.pdf"))
    PatientDocument.objects.create(id=doc_id, patient=patient, file=key, display_name="bench.pdf", extension="pdf",
                                   content_type="application/pdf", size=size, sha256="0" * 64)
    return str(doc_id)


def _get(url: str, path: str, headers: dict[str, str]) -> int:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    total = 0
    while True:
        chunk = response.read(256 * 1024)
        if not chunk:
            break
        total += len(chunk)
    status = response.status
    conn.close()
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    return total


def main() -> None:
    env = bench_env(LOG_LEVEL="WARNING")
    with local_aws(env):
        prepare_database(env)
        setup_django(env)
        owner, owner_cookie, _ = _patient_with_entries(1)
        doc_id = _document(owner, DOCUMENT_MB)
        small_doc_id = _document(owner, 0.5)
        small_patient, small_cookie, small_token = _patient_with_entries(10)
        big_patient, big_cookie, big_token = _patient_with_entries(200)

        headers = {"Cookie": f"access_token={owner_cookie}"}
        with gunicorn_server(env, workers=1) as (url, master):
            pids = worker_pids(master.pid)
            for _ in range(3):  # warm the worker: imports, S3 client and connections
                _get(url, "/api/secure/files/", headers)
                _get(url, f"/api/secure/files/{small_doc_id}/preview/", headers)
            time.sleep(0.5)
            idle = max(rss_mb(pid) for pid in pids)
            with PeakRss(pids) as peak:
                received = _get(url, f"/api/secure/files/{doc_id}/preview/", headers)
            assert received == DOCUMENT_MB * 1024 * 1024, received
            growth = max(peak.peak.values()) - idle
        print(f"preview_50mb_rss_growth_mb: {growth:.1f}")
        print(f"record_sql_queries_10: {count_queries(small_cookie, RECORD, HTTP_X_MED_ACCESS_TOKEN=small_token)}")
        print(f"record_sql_queries_200: {count_queries(big_cookie, RECORD, HTTP_X_MED_ACCESS_TOKEN=big_token)}")
        export_figures(*_patient_with_entries(1000))


def export_figures(patient, cookie: str, token: str) -> None:
    from unittest import mock

    from django.test import Client

    from records import export, selectors
    from tests.records.pdf_pages import multi_cell_text

    client = Client()
    client.cookies["access_token"] = cookie
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        response = client.get("/api/patient/medical-record/export/", HTTP_X_MED_ACCESS_TOKEN=token)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:300]
    print(f"record_export_1000_entries_ms: {statistics.median(timings) * 1000:.0f}")

    profile, entries = selectors.record_of(patient=patient)
    ours, theirs = [], []
    for _ in range(3):
        for setter, times in ((export.set_text, ours), (multi_cell_text, theirs)):
            with mock.patch.object(export, "set_text", setter):
                started = time.perf_counter()
                export.record_pdf(patient=patient, profile=profile, entries=entries)
                times.append(time.perf_counter() - started)
    print(f"record_pdf_1000_entries_ms: {statistics.median(ours) * 1000:.0f}")
    print(f"record_pdf_1000_entries_multi_cell_ms: {statistics.median(theirs) * 1000:.0f}")
    print(f"record_pdf_speedup_vs_multi_cell: {statistics.median(theirs) / statistics.median(ours):.1f}")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
