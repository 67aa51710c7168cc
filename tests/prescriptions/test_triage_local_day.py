"""The triage queue's "reviewed today" counts the pharmacy's day, on the pharmacy's clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from prescriptions.models import PharmacistAction, PrescriptionRequest
from tests.helpers import client_for
from tests.prescriptions.conftest import make_request

pytestmark = pytest.mark.django_db

# 23:30 UTC on 6 December is 00:30 on 7 December in Lagos.
NOW = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)


def _reviewed_today(pharmacist) -> int:  # noqa: ANN001
    body = client_for(pharmacist).get("/api/provider/prescriptions/triage/").json()
    return body["stats"]["reviewed_today"]


def test_reviewed_today_is_the_pharmacys_local_day(patient, nominated, pharmacy, pharmacist, monkeypatch):
    yesterday_in_lagos = make_request(patient)  # 23:00 on 6 December in Lagos
    today_in_lagos = make_request(patient)  # 00:10 on 7 December in Lagos
    for rx, at in ((yesterday_in_lagos, datetime(2026, 12, 6, 22, 0, tzinfo=UTC)),
                   (today_in_lagos, datetime(2026, 12, 6, 23, 10, tzinfo=UTC))):
        PrescriptionRequest.objects.filter(pk=rx.pk).update(
            pharmacist_action=PharmacistAction.APPROVED, pharmacist_reviewed_at=at, pharmacist_reviewed_by=pharmacist)
    monkeypatch.setattr(timezone, "now", lambda: NOW)

    pharmacy.time_zone = "Africa/Lagos"
    pharmacy.save(update_fields=["time_zone"])
    assert _reviewed_today(pharmacist) == 1

    pharmacy.time_zone = "UTC"  # a pharmacy whose day is the UTC day counts both
    pharmacy.save(update_fields=["time_zone"])
    assert _reviewed_today(pharmacist) == 2
