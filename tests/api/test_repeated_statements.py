"""No read runs the same SQL statement twice: every parameterless GET of the API, asked by each demo
role (``seed_demo``), on its second call (first-use caches aside). A statement seen twice is a
lookup that two layers made on their own, such as a view checking the caller's staff place and the
selector that scopes by it (``phb.related`` keeps that one per request), or a query run per row."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver
from django.utils import timezone

from accounts.models import User
from tests.helpers import client_for, repeated_statements
from tests.routes import routes
from tracking.models import WomensHealthProfile

pytestmark = pytest.mark.django_db

ROLES = ("patient@phb.test", "doctor@phb.test", "admin@phb.test", "pharmacist@phb.test")


def _paths() -> list[str]:
    return sorted({f"/{route}" for route in routes(get_resolver().url_patterns)
                   if route.startswith("api/") and "<" not in route})


def test_no_read_repeats_a_statement():
    call_command("seed_demo", stdout=io.StringIO())
    # The women's-health area opens after its own one-time code: the demo patient has passed it.
    WomensHealthProfile.objects.update_or_create(user=User.objects.get(email=ROLES[0]),
                                                 defaults={"verified_at": timezone.now()})
    paths = _paths()
    assert len(paths) > 50
    repeated: dict[str, list[str]] = {}
    answered = Counter()
    for email in ROLES:
        client = client_for(User.objects.get(email=email))
        for path in paths:
            client.get(path)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
            assert response.status_code < 500, (email, path)
            answered[response.status_code // 100] += 1
            twice = [sql[:200] for sql in repeated_statements(queries)]
            if twice:
                repeated[f"{email} {path}"] = twice
    assert answered[2] > 100  # most of the reads answered, so the sweep read real pages
    assert repeated == {}
