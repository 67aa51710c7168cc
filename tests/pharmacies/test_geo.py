"""The bounding box never misses a point within the radius: across the antimeridian, near and at
the poles, and for large radii. Checked against the haversine distance over seeded samples."""

from __future__ import annotations

import math
import random

import pytest

from phb.geo import EARTH_RADIUS_KM, bounding_box, haversine_km


def test_haversine_known_distances():
    assert haversine_km(0, 0, 0, 1) == pytest.approx(111.195, abs=0.01)
    assert haversine_km(0, 179.9, 0, -179.9) == pytest.approx(22.24, abs=0.01)  # across the antimeridian
    assert haversine_km(89.9, 0, 89.9, 180) == pytest.approx(22.24, abs=0.01)  # across the pole
    assert haversine_km(90, 0, -90, 0) == pytest.approx(math.pi * EARTH_RADIUS_KM)


def test_box_splits_across_the_antimeridian():
    east = bounding_box(0.0, 179.9, 50)
    assert len(east.lon_ranges) == 2 and east.contains(0.0, -179.9) and east.contains(0.0, 179.95)
    assert not east.contains(0.0, 0.0) and not east.contains(0.0, 178.0)
    west = bounding_box(-17.0, -179.95, 30)
    assert len(west.lon_ranges) == 2 and west.contains(-17.0, 179.9)


def test_box_near_a_pole_takes_every_longitude():
    box = bounding_box(89.8, 10.0, 50)
    assert box.lon_ranges == ((-180.0, 180.0),) and box.lat_max == 90.0
    assert box.contains(89.9, -170.0)
    south = bounding_box(-89.95, 0.0, 10)
    assert south.lat_min == -90.0 and south.contains(-89.99, 120.0)


def test_box_is_narrow_away_from_the_poles():
    box = bounding_box(6.6, 3.35, 10)
    (low, high), = box.lon_ranges
    assert high - low < 0.2 and box.lat_max - box.lat_min < 0.2


@pytest.mark.parametrize("center", [(0.0, 0.0), (0.0, 179.99), (0.0, -179.99), (60.0, 179.5), (-60.0, -179.5),
                                    (85.0, 45.0), (89.99, -100.0), (-89.5, 170.0), (45.0, 90.0)])
@pytest.mark.parametrize("radius", [1.0, 25.0, 500.0, 3000.0])
def test_every_point_within_the_radius_is_inside_the_box(center, radius):
    rng = random.Random(hash((center, radius)) & 0xFFFF)
    box = bounding_box(*center, radius)
    inside = 0
    for _ in range(3000):
        # sample around the centre (a quarter of them near the radius' edge), wrapped onto the sphere
        spread = math.degrees(radius / EARTH_RADIUS_KM) * 1.3
        lat = max(-90.0, min(90.0, center[0] + rng.uniform(-spread, spread)))
        lon = ((center[1] + rng.uniform(-180, 180) if abs(lat) > 80 else center[1] + rng.uniform(
            -spread / max(0.01, math.cos(math.radians(lat))), spread / max(0.01, math.cos(math.radians(lat)))))
               + 180) % 360 - 180
        if haversine_km(center[0], center[1], lat, lon) <= radius:
            inside += 1
            assert box.contains(lat, lon), (center, radius, lat, lon)
    assert inside > 0
