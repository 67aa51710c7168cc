"""The audit trail's admin changelist on a large trail (PostgreSQL only).

A fresh database with ``AUDIT_ROWS`` (default 1,000,000) audit events, analysed as autovacuum
would. In process, each figure the median of 3 requests of a superuser, the page rendered:

audit_admin_changelist_ms: the changelist as it opens. Target < 200.
audit_admin_search_ms: a search by an exact id (a patient's, an actor's, a request's in turn). Target < 200.
audit_admin_filtered_ms: filtered to one action (a third of the trail, counted exactly).
..._django_default_ms: the same requests through a ModelAdmin with Django's defaults for the same
list (filters over every distinct value, a date hierarchy, ``=`` search, "N total"), for the ratio.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from common import manage
from loadgen import fresh_database, postgres_url

ROWS = int(os.environ.get("AUDIT_ROWS", "1000000"))

FILL = """
INSERT INTO records_auditevent (id, occurred_at, actor_id, actor_role, patient_id, action, object_type,
                                object_id, request_id)
SELECT gen_random_uuid(), now() - make_interval(mins => i), gen_random_uuid(), 'doctor', gen_random_uuid(),
       (ARRAY['read', 'export', 'update'])[1 + mod(i, 3)], 'medical_record', i::text, md5(i::text)
FROM generate_series(1, %s) AS i
"""


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
        from django.contrib import admin
        from django.contrib.messages.storage.fallback import FallbackStorage
        from django.contrib.sessions.backends.base import SessionBase
        from django.db import connection
        from django.test import RequestFactory

        from records.models import AuditEvent
        from tests.factories import UserFactory

        with connection.cursor() as cursor:
            cursor.execute(FILL, [ROWS])
            cursor.execute("ANALYZE records_auditevent")
            cursor.execute("SELECT patient_id::text, actor_id::text, request_id FROM records_auditevent "
                           "ORDER BY occurred_at LIMIT 1")
            patient, actor, request_id = cursor.fetchone()
        staff = UserFactory(is_staff=True, is_superuser=True)
        factory = RequestFactory()

        def request_for(query: str):
            request = factory.get("/admin/records/auditevent/" + query)
            request.user = staff
            request.session = SessionBase()
            request._messages = FallbackStorage(request)
            return request

        class DjangoDefaultAuditAdmin(admin.ModelAdmin):
            list_display = ("occurred_at", "action", "object_type", "object_id", "actor_role", "actor_id", "patient_id")
            list_filter = ("action", "object_type", "actor_role", "occurred_at")
            search_fields = ("=actor_id", "=patient_id", "=object_id", "=request_id")
            date_hierarchy = "occurred_at"

        ours = admin.site._registry[AuditEvent].changelist_view
        default = DjangoDefaultAuditAdmin(AuditEvent, admin.site).changelist_view
        searches = [f"?q={patient}", f"?q={actor}", f"?q={request_id}"]
        for name, view in (("", ours), ("_django_default", default)):
            view(request_for("")).render()  # first use: templates, caches
            print(f"audit_admin_changelist{name}_ms: {median_ms(view, request_for, ''):.0f}")
            search = statistics.median(median_ms(view, request_for, query) for query in searches)
            print(f"audit_admin_search{name}_ms: {search:.0f}")
            print(f"audit_admin_filtered{name}_ms: {median_ms(view, request_for, '?action__exact=read' if name else '?action=read'):.0f}")
        print(f"audit_admin_rows: {ROWS}")
        connection.close()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    sys.exit(main())
