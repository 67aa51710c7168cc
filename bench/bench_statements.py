"""Two statements of the request path, in process (CPU time of this process, round trip included),
each against the way the ORM writes it. On the database of ``DATABASE_URL`` (a throwaway test
database; SQLite in memory when unset, where ``__any`` is written as ``IN``: the two lookup
figures then run the same SQL and differ by the ORM's work alone).

- page_ids_lookup_us_in / page_ids_lookup_us_any: the caller's bookmarks among a page of 50
  guidelines (``storage.selectors.bookmark_notes``) with ``guideline_id__in=ids`` (one placeholder
  per id) and with ``guideline_id__any=ids`` (``phb.lookups``: one array parameter);
  page_ids_lookup_speedup: in ÷ any.
- audit_insert_us_orm / audit_insert_us: one audit row (``records.audit``) written by
  ``save(force_insert=True)`` and by ``phb.db.PrecompiledInsert``; audit_insert_speedup.

Medians of 9 interleaved rounds of 300 calls.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ROUNDS, CALLS = 9, 300


def medians(candidates: dict[str, Callable[[], object]]) -> dict[str, float]:
    timings: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(ROUNDS):
        for name, call in candidates.items():
            for _ in range(20):
                call()
            started = time.process_time()
            for _ in range(CALLS):
                call()
            timings[name].append((time.process_time() - started) * 1e6 / CALLS)
    return {name: statistics.median(values) for name, values in timings.items()}


def main() -> None:
    from phb.api import page_sql
    from phb.db import PrecompiledInsert
    from records.models import AuditEvent
    from storage.models import ClinicalGuideline, GuidelineBookmark
    from storage.selectors import bookmark_notes
    from tests.factories import DepartmentFactory, HospitalFactory, make_doctor

    hospital = HospitalFactory()
    doctor = make_doctor(department=DepartmentFactory(hospital=hospital))
    ids = []
    for n in range(50):
        guideline = ClinicalGuideline.objects.create(organization=hospital, created_by=doctor, title=f"G{n}",
                                                     category="prevention")
        ids.append(guideline.pk)
        if n % 5 == 0:
            GuidelineBookmark.objects.create(guideline=guideline, user=doctor, notes="read")

    def with_in() -> dict:  # bookmark_notes as written with ``__in``
        marks = GuidelineBookmark.objects.filter(user=doctor, is_active=True, guideline_id__in=ids)
        columns, ordering, size = ("guideline_id", "notes"), ("guideline_id",), len(ids)
        found = page_sql.page_rows(marks, columns=columns, ordering=ordering, size=size,
                                   build=lambda: marks.values(*columns).order_by(*ordering)[:size])
        return {row["guideline_id"]: row["notes"] for row in found}

    assert with_in() == bookmark_notes(user=doctor, guideline_ids=ids) and len(with_in()) == 10
    lookup = medians({"in": with_in, "any": lambda: bookmark_notes(user=doctor, guideline_ids=ids)})
    for name, us in lookup.items():
        print(f"page_ids_lookup_us_{name}: {us:.0f}")
    print(f"page_ids_lookup_speedup: {lookup['in'] / lookup['any']:.2f}")

    insert = PrecompiledInsert(AuditEvent)

    def event() -> AuditEvent:
        return AuditEvent(actor_id=doctor.pk, actor_role="doctor", patient_id=uuid.uuid4(), action="read",
                          object_type="medical_record", object_id="1", request_id="r", ip_address="127.0.0.1")

    audit = medians({"orm": lambda: event().save(force_insert=True), "precompiled": lambda: insert.insert(event())})
    print(f"audit_insert_us_orm: {audit['orm']:.0f}")
    print(f"audit_insert_us: {audit['precompiled']:.0f}")
    print(f"audit_insert_speedup: {audit['orm'] / audit['precompiled']:.2f}")


if __name__ == "__main__":
    from bench.common import run_in_test_database

    run_in_test_database(main)
