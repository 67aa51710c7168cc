"""phb.api.timestamps.iso writes what isoformat() writes."""

from __future__ import annotations

import random
import zoneinfo
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from phb.api.timestamps import iso, iso_z


def test_iso_writes_what_isoformat_writes_in_every_zone():
    """Every zone, dates from 1850 (local mean time, offsets with seconds) to 2100, with and without
    microseconds; and None."""
    pick = random.Random(7)
    zones = sorted(zoneinfo.available_timezones())
    origin = datetime(1850, 1, 1, tzinfo=ZoneInfo("UTC"))
    with_seconds = 0
    for n in range(20_000):
        zone = ZoneInfo(zones[n % len(zones)])
        moment = origin + timedelta(seconds=pick.randrange(250 * 365 * 86400),
                                    microseconds=pick.choice([0, pick.randrange(1_000_000)]))
        local = moment.astimezone(zone)
        with_seconds += local.utcoffset().seconds % 60 != 0
        assert iso(local) == local.isoformat()
        assert iso(moment) == moment.isoformat()
        assert iso(moment.replace(tzinfo=None)) == moment.replace(tzinfo=None).isoformat()
        assert iso(local.date()) == local.date().isoformat()
    assert with_seconds > 100  # the fallback was exercised
    assert iso(None) is None


def test_iso_z_writes_a_zero_offset_as_z_and_leaves_the_rest_as_isoformat():
    pick = random.Random(11)
    zones = ["UTC", "Europe/London", "Africa/Lagos", "America/New_York", "Asia/Kolkata", "Africa/Abidjan"]
    origin = datetime(1900, 1, 1, tzinfo=ZoneInfo("UTC"))
    zero = 0
    for n in range(5_000):
        moment = origin + timedelta(seconds=pick.randrange(200 * 365 * 86400),
                                    microseconds=pick.choice([0, pick.randrange(1_000_000)]))
        local = moment.astimezone(ZoneInfo(zones[n % len(zones)]))
        zero += not local.utcoffset()
        assert iso_z(local) == local.isoformat().replace("+00:00", "Z")
        assert iso_z(local.date()) == local.date().isoformat()
        assert iso_z(moment.replace(tzinfo=None)) == moment.replace(tzinfo=None).isoformat()
    assert zero > 1_000  # London in winter and Abidjan as well as UTC
    assert iso_z(datetime(2026, 12, 5, 9, 30, tzinfo=ZoneInfo("UTC"))) == "2026-12-05T09:30:00Z"
    assert iso_z(None) is None
