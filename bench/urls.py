"""The real URLs plus the load benchmark's reference views, served by the same gunicorn.

- ``bench/constant/``: a bare Django view returning constant JSON (the throughput baseline).
- ``bench/floor/account/?user=<id>``: the bare view plus the one query every authenticated API
  request makes: the account (with its primary registration and hospital), by primary key, with
  the SQL authentication runs, its rows fetched and dropped. No DRF, no token, no model instances.
- ``bench/floor/appointments/?user=<id>&limit=<n>``: that, plus the patient's appointment page
  with the SQL of ``GET /api/appointments/`` (the same columns, joins, order and size), its rows
  written by orjson as they come (arrays of column values; no item is built).
- ``bench/floor/medical-record/?user=<id>``: the account query, then the record's SQL: the patient's
  page of entries (200, as ``GET /api/patient/medical-record/``), her medical profile, and the
  audit row the read writes; the rows written the same way. (The endpoint also checks its
  medical-access session; the floor does not.)
- ``bench/floor/guidelines/?user=<id>&category=<c>``: the account query, then the SQL of
  ``GET /api/clinical-guidelines/?category=<c>`` for that staff member's scope (a page of 100) and
  her bookmarks of the page, the rows written the same way.

Each floor does what any implementation of its endpoint must do on this stack (the PostgreSQL round
trips, the rows, the response), so its ratio to the bare view bounds the endpoint's from above. One
exception: the patient's appointment list no longer reads its columns. It serves the items kept in
its rows (``appointments.list_items``), so it can pass its floor, which still reads the columns.
The floors read whatever user id they are given, so they exist only in this benchmark URL
configuration, and they run on PostgreSQL only, as ``bench_load.py`` does.
"""

import uuid
from typing import Any

import orjson
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import path

from phb.urls import urlpatterns as real_urlpatterns

_compiled: dict[str, Any] = {}


def constant_json(request):
    return JsonResponse({"status": "ok", "value": 42})


def _sql(name: str, build) -> str:
    """The SQL of ``build(sentinel)``'s queryset, compiled once, with its one parameter."""
    found = _compiled.get(name)
    if found is None:
        queryset = build(uuid.UUID(int=0))
        sql, params = queryset.query.get_compiler(using="default").as_sql()
        if len(params) != 1:
            raise ValueError(f"{name}: expected one parameter, got {len(params)}")
        found = _compiled[name] = sql
    return found


def _account_sql() -> str:
    from hospitals.selectors import users_with_primary_registration

    return _sql("account", lambda key: users_with_primary_registration().filter(pk=key))


def _appointments_sql(limit: int) -> str:
    from appointments import rows
    from appointments.models import Appointment
    from phb.api.pagination import APPOINTMENTS

    return _sql(f"appointments:{limit}", lambda key: rows.patient_rows(
        Appointment.objects.filter(patient_id=key).order_by(*APPOINTMENTS.ordering))[: limit + 1])


def _user(request) -> uuid.UUID:
    return uuid.UUID(request.GET["user"])


def floor_account(request):
    user = _user(request)
    with connection.cursor() as cursor:
        cursor.execute(_account_sql(), [user])
        cursor.fetchall()
    return JsonResponse({"status": "ok", "value": 42})


def floor_appointments(request):
    user = _user(request)
    limit = int(request.GET.get("limit", "100"))
    with connection.cursor() as cursor:
        cursor.execute(_account_sql(), [user])
        cursor.fetchall()
        cursor.execute(_appointments_sql(limit), [user])
        page = cursor.fetchall()[:limit]
    body = orjson.dumps(page, default=str)
    return HttpResponse(body, content_type="application/json")


def _record_sql() -> tuple[str, str]:
    from phb.api.pagination import RECORD_ENTRIES
    from records.models import ClinicalEntry, MedicalProfile
    from records.selectors import EntryRow

    entries = _sql("entries", lambda key: ClinicalEntry.objects.filter(patient_id=key).values(*EntryRow.COLUMNS)
                   .order_by(*RECORD_ENTRIES.ordering)[: RECORD_ENTRIES.default + 1])
    return entries, _sql("medical_profile", lambda key: MedicalProfile.objects.filter(patient_id=key))


def floor_medical_record(request):
    from phb.db import PrecompiledInsert
    from records.models import AuditEvent

    insert = _compiled.get("audit") or _compiled.setdefault("audit", PrecompiledInsert(AuditEvent))
    user = _user(request)
    entries_sql, profile_sql = _record_sql()
    with connection.cursor() as cursor:
        cursor.execute(_account_sql(), [user])
        cursor.fetchall()
        cursor.execute(entries_sql, [user])
        page = cursor.fetchall()[:200]
        cursor.execute(profile_sql, [user])
        profile = cursor.fetchall()
    insert.insert(AuditEvent(actor_id=user, actor_role="patient", patient_id=user, action="read",
                             object_type="medical_record", object_id=str(user)))
    body = orjson.dumps({"profile": profile, "entries": page}, default=str)
    return HttpResponse(body, content_type="application/json")


def _guidelines_sql(user: uuid.UUID, category: str) -> tuple[str, tuple]:
    """The guideline list's page query for one caller and category: its scope takes the caller's
    own values, so it is compiled with them (once per caller and category)."""
    key = f"guidelines:{user}:{category}"
    found = _compiled.get(key)
    if found is None:
        from accounts.models import User
        from phb.api.pagination import GUIDELINES
        from storage import rows, selectors

        queryset = selectors.guideline_list(fetched_by=User.objects.get(pk=user), filters={"category": category})
        sql, params = rows.guideline_rows(queryset)[: GUIDELINES.default + 1].query.get_compiler(using="default").as_sql()
        found = _compiled[key] = (sql, params)
    return found


def floor_guidelines(request):
    user = _user(request)
    sql, params = _guidelines_sql(user, request.GET["category"])
    with connection.cursor() as cursor:
        cursor.execute(_account_sql(), [user])
        cursor.fetchall()
        cursor.execute(sql, params)
        page = cursor.fetchall()
        ids = [row[0] for row in page]
        cursor.execute("SELECT guideline_id, notes FROM storage_guidelinebookmark"
                       " WHERE user_id = %s AND is_active AND guideline_id = ANY(%s)", [user, ids])
        marks = cursor.fetchall()
    body = orjson.dumps({"page": page, "bookmarks": marks}, default=str)
    return HttpResponse(body, content_type="application/json")


urlpatterns = [
    path("bench/constant/", constant_json),
    path("bench/floor/account/", floor_account),
    path("bench/floor/appointments/", floor_appointments),
    path("bench/floor/medical-record/", floor_medical_record),
    path("bench/floor/guidelines/", floor_guidelines),
    *real_urlpatterns,
]
