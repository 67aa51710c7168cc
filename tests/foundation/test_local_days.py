"""Today at a hospital is a date on the hospital's clock (``phb.zones``), not the server's UTC date:
at 23:30 UTC it is already tomorrow in Lagos."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import RequestFactory, override_settings
from django.utils import timezone

from accounts.birthdates import age_today
from hospitals.models import HospitalRegistration
from phb import zones
from phb.api.renderers import dumps
from storage import rows, selectors
from storage.models import ClinicalGuideline
from storage.serializers import guideline_payload
from tests.factories import HospitalFactory, UserFactory, make_hospital_admin, make_patient
from tests.helpers import client_for

# 23:30 UTC on 6 December is 00:30 on 7 December in Lagos.
NOW = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
LAGOS_TODAY, UTC_TODAY = date(2026, 12, 7), date(2026, 12, 6)


@pytest.fixture
def clock(monkeypatch):  # noqa: ANN201
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def test_a_zone_by_name_falls_back_to_the_default_hospital_zone():
    assert zones.zone_named("Europe/London") == ZoneInfo("Europe/London")
    assert zones.zone_named("") == zones.zone_named(None) == ZoneInfo("Africa/Lagos")
    assert zones.zone_named("Not/AZone") == ZoneInfo("Africa/Lagos")
    with override_settings(DEFAULT_HOSPITAL_TIME_ZONE="Asia/Tokyo"):
        assert zones.zone_named(None) == ZoneInfo("Asia/Tokyo")


@pytest.mark.django_db
def test_today_is_the_places_own_date(clock):
    assert zones.today_at(HospitalFactory(time_zone="Africa/Lagos")) == LAGOS_TODAY
    assert zones.today_at(HospitalFactory(time_zone="UTC")) == UTC_TODAY
    assert zones.today_at(HospitalFactory(time_zone="America/Lagos_typo")) == LAGOS_TODAY
    assert zones.today_at() == LAGOS_TODAY
    start, end = zones.day_bounds(LAGOS_TODAY, ZoneInfo("Africa/Lagos"))
    assert (start, end) == (datetime(2026, 12, 6, 23, 0, tzinfo=UTC), datetime(2026, 12, 7, 23, 0, tzinfo=UTC))


@pytest.mark.django_db
def test_accreditation_lasts_until_the_end_of_its_expiry_day_at_the_hospital(clock):
    lagos = HospitalFactory(time_zone="Africa/Lagos", accredited=True, accreditation_expiry=UTC_TODAY)
    london = HospitalFactory(time_zone="Europe/London", accredited=True, accreditation_expiry=UTC_TODAY)
    listed = {h["id"]: h for h in client_for(UserFactory()).get("/api/hospitals/").json()["hospitals"]}
    assert listed[lagos.id]["accreditation_status"] is False  # 6 December has ended in Lagos
    assert listed[london.id]["accreditation_status"] is True  # not yet in London
    assert client_for(None).get("/api/hospitals/").status_code == 401


@pytest.mark.django_db
def test_a_guideline_takes_effect_and_expires_on_its_hospitals_day(clock, hospital, doctor):
    hospital.time_zone = "Africa/Lagos"
    hospital.save(update_fields=["time_zone"])
    starts = ClinicalGuideline.objects.create(
        organization=hospital, created_by=doctor, title="Starts", description="d", category="clinical_protocol",
        effective_date=LAGOS_TODAY, approval_status="approved", is_published=True)
    ends = ClinicalGuideline.objects.create(
        organization=hospital, created_by=doctor, title="Ends", description="d", category="clinical_protocol",
        effective_date=date(2026, 1, 1), expiry_date=UTC_TODAY, approval_status="approved", is_published=True)
    request = RequestFactory().get("/api/clinical-guidelines/")
    found = selectors.guideline_list(fetched_by=doctor)
    items = rows.GuidelineItems(viewer=doctor, request=request)
    listed = {row["id"]: items.item(row) for row in rows.guideline_rows(found)}
    for guideline in (starts, ends):  # the list and the detail view agree
        assert dumps(listed[guideline.pk]) == dumps(guideline_payload(guideline, viewer=doctor, request=request))
    assert listed[starts.pk]["is_effective"] is True and listed[starts.pk]["is_accessible"] is True
    assert listed[ends.pk]["is_expired"] is True and listed[ends.pk]["is_effective"] is False

    body = client_for(doctor).get("/api/clinical-guidelines/").json()
    shown = {g["id"]: g for g in (body if isinstance(body, list) else body["results"])}
    assert shown[starts.pk]["is_effective"] is True and shown[ends.pk]["is_expired"] is True
    assert client_for(None).get("/api/clinical-guidelines/").status_code == 401


def test_an_age_turns_over_at_midnight_in_the_hospitals_zone(clock):
    assert age_today(date(2000, 12, 7)) == 26
    assert age_today(date(2000, 12, 8)) == 25


@pytest.mark.django_db
def test_a_registration_is_dated_by_its_hospitals_day():
    hospital = HospitalFactory(time_zone="Africa/Lagos")
    patient = make_patient(hospital=hospital)
    HospitalRegistration.objects.filter(user=patient).update(created_at=NOW)
    profile = client_for(patient).get("/api/profile/").json()
    assert profile["primaryHospital"]["registration_date"] == LAGOS_TODAY.isoformat()
    listed = client_for(patient).get("/api/hospitals/").json()
    assert listed["primary_hospital"]["registration_date"] == LAGOS_TODAY.isoformat()

    admin = make_hospital_admin(hospital=hospital)  # staff: the day she joined, at her hospital
    type(admin).objects.filter(pk=admin.pk).update(date_joined=NOW)
    listed = client_for(admin).get("/api/hospitals/").json()
    assert listed["primary_hospital"]["registration_date"] == LAGOS_TODAY.isoformat()

    other = client_for(make_patient(hospital=HospitalFactory())).get("/api/profile/").json()
    assert other["primaryHospital"]["id"] != hospital.id
    assert client_for(None).get("/api/profile/").status_code == 401
