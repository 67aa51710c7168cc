"""Serialisation per row, in process (CPU time, no database round trip): what the appointment list
does with each fetched row.

- before: the ORM's model instances for the row and its four ``select_related`` relations
  (``Model.from_db`` on the fetched tuples), the instance payload, DRF's JSON renderer;
- now: the row as a dict of its selected columns (what ``values()`` builds), the item from
  column values (``appointments.rows``), the orjson renderer.

appointment_row_us_before / appointment_row_us: CPU microseconds per row, 1,000 rows, best of 5.
appointment_row_speedup: before ÷ now.

With ``DATABASE_URL`` on PostgreSQL, also what reading a timestamp costs (``phb.pgtypes``):
timestamp_load_us_django / _python / _c: CPU microseconds per ``timestamptz`` value fetched
(200 rows of four, best of 7 interleaved rounds) with Django's loader, the Python loader used where
the C one cannot be, and psycopg's C loader that the service's connections use;
timestamp_load_speedup_c_vs_django: Django's ÷ C.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phb.settings.bench")
POSTGRES_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith("postgres") else None
os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

import django  # noqa: E402

django.setup()

from rest_framework.renderers import JSONRenderer  # noqa: E402

from accounts.models import User  # noqa: E402
from appointments import rows  # noqa: E402
from appointments.models import Appointment  # noqa: E402
from appointments.presenters import appointment_payload  # noqa: E402
from hospitals.models import Department, Hospital  # noqa: E402
from phb.api.renderers import FastJSONRenderer, dumps  # noqa: E402

ROWS = 1000


def _tuple(instance) -> tuple[list[str], tuple]:
    names = [f.attname for f in instance._meta.concrete_fields]
    return names, tuple(getattr(instance, n) for n in names)


def orm_rows(instances: list[Appointment]) -> list[Appointment]:
    """What select_related("patient", "hospital", "department", "doctor") builds per fetched row."""
    out = []
    for a in instances:
        names, values = a._bench_tuple
        row = Appointment.from_db("default", names, values)
        for relation, (model, rel_names, rel_values) in a._bench_related.items():
            setattr(row, relation, model.from_db("default", rel_names, rel_values))
        out.append(row)
    return out


def data() -> tuple[list[Appointment], list[dict]]:
    hospital = Hospital(id=1, name="Bench General", time_zone="Africa/Lagos")
    department = Department(id=2, name="General Medicine", hospital=hospital)
    doctor = User(full_name="Ngozi Okafor")
    instances, values = [], []
    for n in range(ROWS):
        start = datetime(2031, 1, 6, 9, tzinfo=UTC) + timedelta(hours=n)
        a = Appointment(patient_id=doctor.id, hospital=hospital, department=department, doctor=doctor if n % 3 else None,
                        start=start, end=start + timedelta(minutes=30), status="confirmed", priority="normal",
                        chief_complaint=f"Follow-up {n}", symptoms_data=[{"name": "cough"}], fee_amount=Decimal("3500"),
                        payment_status="paid", created_at=start, updated_at=start)
        a._bench_tuple = _tuple(a)
        patient = User(full_name="Ada Obi")
        a._bench_related = {name: (type(obj), *_tuple(obj)) for name, obj in
                            (("patient", patient), ("hospital", hospital), ("department", department),
                             ("doctor", doctor)) if obj is not None and (name != "doctor" or a.doctor_id)}
        instances.append(a)
        values.append({
            "id": a.id, "appointment_id": a.appointment_id, "start": a.start, "end": a.end,
            "appointment_type": a.appointment_type, "status": a.status, "priority": a.priority, "doctor_id": a.doctor_id,
            "doctor__full_name": doctor.full_name if a.doctor_id else None, "hospital_id": 1, "hospital__name": hospital.name,
            "hospital__time_zone": hospital.time_zone, "department_id": 2, "department__name": department.name,
            "chief_complaint": a.chief_complaint, "symptoms_data": a.symptoms_data, "fee_amount": a.fee_amount,
            "currency": a.currency, "payment_status": a.payment_status, "reschedule_count": 0,
            "cancellation_reason": "", "created_at": a.created_at, "updated_at": a.updated_at,
        })
    return instances, values


def cpu_us_per_row(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best * 1e6 / ROWS


def main() -> None:
    instances, values = data()
    assert dumps([rows.patient_item(v) for v in values]) == dumps([appointment_payload(a) for a in instances])
    columns = list(values[0])
    tuples = [tuple(v[c] for c in columns) for v in values]
    before = cpu_us_per_row(lambda: JSONRenderer().render([appointment_payload(a) for a in orm_rows(instances)]))
    now = cpu_us_per_row(lambda: FastJSONRenderer().render([rows.patient_item(dict(zip(columns, t, strict=True)))
                                                             for t in tuples]))
    print(f"appointment_row_us_before: {before:.1f}")
    print(f"appointment_row_us: {now:.1f}")
    print(f"appointment_row_speedup: {before / now:.1f}")


def timestamp_loading(url: str) -> None:
    import psycopg
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    from phb import pgtypes

    class DjangoTzLoader(BaseTzLoader):  # what Django registers for a UTC connection
        timezone = UTC

    loaders = {"django": DjangoTzLoader, "python": pgtypes.loader_for(UTC), "c": pgtypes.C_LOADER}
    query = ("SELECT now() + g * interval '1 minute', now() - g * interval '1 second', now(), "
             "now() + g * interval '1.5 microseconds' FROM generate_series(1, 200) AS g")
    best = dict.fromkeys(loaders, float("inf"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        for _ in range(7):
            for name, loader in loaders.items():
                if loader is None:
                    continue
                conn.adapters.register_loader("timestamptz", loader)
                started = time.process_time()
                for _ in range(100):
                    conn.execute(query).fetchall()
                best[name] = min(best[name], time.process_time() - started)
    per_value = {name: seconds * 1e6 / (100 * 200 * 4) for name, seconds in best.items()}
    for name, us in per_value.items():
        print(f"timestamp_load_us_{name}: {us:.3f}")
    print(f"timestamp_load_speedup_c_vs_django: {per_value['django'] / per_value['c']:.1f}")


if __name__ == "__main__":
    main()
    if POSTGRES_URL:
        timestamp_loading(POSTGRES_URL)
