"""The Django admin shows and reads datetimes on the hospitals' clock, not the server's UTC; the API
and everything after an admin request stay on UTC."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.utils import timezone

from appointments.models import Appointment
from tests.factories import DepartmentFactory, HospitalFactory, make_patient
from tests.helpers import client_for

LAGOS = ZoneInfo("Africa/Lagos")


def _appointment(*, hospital, start: datetime) -> Appointment:
    department = DepartmentFactory(hospital=hospital)
    return Appointment.objects.create(patient=make_patient(hospital=hospital), hospital=hospital,
                                      department=department, start=start, end=start + timedelta(minutes=30),
                                      status="confirmed")


def _signed_in(admin_user):
    client = client_for(None)
    client.force_login(admin_user)
    return client


@pytest.mark.django_db
def test_an_appointment_page_shows_its_time_on_the_hospital_clock(admin_user):
    start = datetime(2031, 3, 4, 9, 30, tzinfo=LAGOS)  # 08:30 UTC
    appointment = _appointment(hospital=HospitalFactory(), start=start)

    page = _signed_in(admin_user).get(f"/admin/appointments/appointment/{appointment.pk}/change/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "9:30 a.m." in text and "8:30 a.m." not in text


@pytest.mark.django_db
def test_the_changelist_writes_each_start_on_its_own_hospitals_clock(admin_user):
    start = datetime(2031, 3, 4, 9, 30, tzinfo=LAGOS)
    _appointment(hospital=HospitalFactory(), start=start)
    _appointment(hospital=HospitalFactory(time_zone="Europe/London"), start=start)  # 08:30 in London

    page = _signed_in(admin_user).get("/admin/appointments/appointment/")

    text = page.content.decode()
    assert "2031-03-04 09:30 WAT" in text
    assert "2031-03-04 08:30 GMT" in text


@pytest.mark.django_db
def test_the_today_filter_is_the_day_on_the_hospital_clock(admin_user, monkeypatch):
    """At 23:30 UTC it is already tomorrow in Lagos: the changelist's "Today" then holds an
    appointment late that Lagos day, and not one earlier that UTC evening."""
    monkeypatch.setattr(timezone, "now", lambda: datetime(2031, 3, 4, 23, 30, tzinfo=ZoneInfo("UTC")))
    hospital = HospitalFactory()
    late_lagos_day = _appointment(hospital=hospital, start=datetime(2031, 3, 5, 23, 15, tzinfo=LAGOS))
    earlier_that_evening = _appointment(hospital=hospital, start=datetime(2031, 3, 4, 22, 0, tzinfo=LAGOS))
    client = _signed_in(admin_user)

    changelist = client.get("/admin/appointments/appointment/").content.decode()
    today = re.search(r'href="(\?start__gte=[^"]+)"[^>]*>\s*Today', changelist)
    assert today, "no Today link in the date filter"
    page = client.get("/admin/appointments/appointment/" + html.unescape(today.group(1))).content.decode()

    assert str(late_lagos_day.appointment_id) in page
    assert str(earlier_that_evening.appointment_id) not in page


@pytest.mark.django_db
@override_settings(ADMIN_TIME_ZONE="Asia/Kolkata")
def test_the_admins_zone_is_a_setting(admin_user):
    appointment = _appointment(hospital=HospitalFactory(), start=datetime(2031, 3, 4, 9, 30, tzinfo=LAGOS))

    page = _signed_in(admin_user).get(f"/admin/appointments/appointment/{appointment.pk}/change/")

    assert "2 p.m." in page.content.decode()  # 08:30 UTC


@pytest.mark.django_db
def test_the_zone_goes_back_to_utc_after_an_admin_request(admin_user):
    client = _signed_in(admin_user)
    assert client.get("/admin/").status_code == 200
    assert timezone.get_current_timezone_name() == "UTC"
    assert client.get("/admin/does-not-exist/").status_code in {302, 404}
    assert timezone.get_current_timezone_name() == "UTC"
