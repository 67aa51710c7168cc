"""Distances on the sphere and the bounding box that finds candidates in one indexed query.

The box is exact for a spherical cap (Matuschek's formula): ``lat ± r/R`` and
``lon ± asin(sin(r/R) / cos(lat))``. Across the antimeridian it becomes two longitude ranges;
when the cap reaches a pole every longitude is a candidate. Candidates are then measured with
the haversine formula in SQL (:func:`distance_km`), so the box only has to be a superset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import F, FloatField, Q, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import ASin, Cast, Cos, Least, Radians, Sin, Sqrt

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_km(latitude: float, longitude: float, *, lat: str = "latitude",
                lon: str = "longitude") -> CombinedExpression:
    """The haversine distance in km from (latitude, longitude) to each row's ``lat``/``lon``, as
    an SQL expression (the formula of :func:`haversine_km`), so the database orders and cuts by it.
    The columns may be floats or decimals."""
    row_lat = Radians(Cast(F(lat), FloatField()))
    half_lat = Sin((row_lat - Value(math.radians(latitude))) / Value(2.0))
    half_lon = Sin((Radians(Cast(F(lon), FloatField())) - Value(math.radians(longitude))) / Value(2.0))
    a = half_lat * half_lat + Value(math.cos(math.radians(latitude))) * Cos(row_lat) * half_lon * half_lon
    return Value(2 * EARTH_RADIUS_KM, output_field=FloatField()) * ASin(Least(Value(1.0), Sqrt(a)),
                                                                       output_field=FloatField())


@dataclass(frozen=True)
class Box:
    lat_min: float
    lat_max: float
    lon_ranges: tuple[tuple[float, float], ...]  # each (min, max) within [-180, 180]

    def q(self, *, lat: str = "latitude", lon: str = "longitude") -> Q:
        lon_q = Q()
        for low, high in self.lon_ranges:
            lon_q |= Q(**{f"{lon}__gte": low, f"{lon}__lte": high})
        return Q(**{f"{lat}__gte": self.lat_min, f"{lat}__lte": self.lat_max}) & lon_q

    def contains(self, latitude: float, longitude: float) -> bool:
        return self.lat_min <= latitude <= self.lat_max and any(
            low <= longitude <= high for low, high in self.lon_ranges)


def bounding_box(latitude: float, longitude: float, radius_km: float) -> Box:
    """Every point within ``radius_km`` of (latitude, longitude) lies in the returned box."""
    angular = radius_km / EARTH_RADIUS_KM
    if angular >= math.pi:
        return Box(-90.0, 90.0, ((-180.0, 180.0),))
    dlat = math.degrees(angular)
    lat_min, lat_max = latitude - dlat, latitude + dlat
    if lat_min <= -90.0 or lat_max >= 90.0:  # the cap covers a pole: every longitude
        return Box(max(lat_min, -90.0), min(lat_max, 90.0), ((-180.0, 180.0),))
    dlon = math.degrees(math.asin(min(1.0, math.sin(angular) / math.cos(math.radians(latitude)))))
    low, high = longitude - dlon, longitude + dlon
    if high - low >= 360.0:
        return Box(lat_min, lat_max, ((-180.0, 180.0),))
    if low < -180.0:
        return Box(lat_min, lat_max, ((low + 360.0, 180.0), (-180.0, high)))
    if high > 180.0:
        return Box(lat_min, lat_max, ((low, 180.0), (-180.0, high - 360.0)))
    return Box(lat_min, lat_max, ((low, high),))
