"""JSON columns decoded by orjson come back exactly as Django's own decoding gives them."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest
from django.db import models
from django.db.models import TextField
from django.db.models.functions import Cast

from hospitals.models import Department
from phb.jsonfield import JSONField
from tests.factories import DepartmentFactory

STRINGS = ["", "plain", "ünïcödé", "日本語", "emoji 🩺", 'quote " and \\ backslash', "tab\tnew\nline",
           "\u2028", "\x00nul", "\ud800 lone surrogate", "19 digits 1234567890123456789"]
INTEGERS = [0, -0, 1, -1, 2**31, 10**17, 10**18 - 1, 2**63 - 1, -(2**63), 2**63, 2**64 - 1, 2**64, -(2**64),
            10**30, -(10**40)]
FLOATS = [0.0, -0.0, 0.1, 1.5, 1e-7, 1e-300, 5e-324, 1.7976931348623157e308, 1e22, 123456789.123456789,
          float("nan"), float("inf"), float("-inf")]


def document(pick: random.Random, depth: int = 0) -> Any:
    kind = pick.randrange(8 if depth < 6 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return pick.random() < 0.5
    if kind == 2:
        return pick.choice(INTEGERS) if pick.random() < 0.5 else pick.randrange(-(10**12), 10**12)
    if kind == 3:
        return pick.choice(FLOATS) if pick.random() < 0.5 else pick.uniform(-1e6, 1e6)
    if kind in (4, 5):
        return pick.choice(STRINGS)
    if kind == 6:
        return [document(pick, depth + 1) for _ in range(pick.randrange(5))]
    return {pick.choice(STRINGS): document(pick, depth + 1) for _ in range(pick.randrange(5))}


def same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down (1 is not 1.0), NaN equal to NaN, -0.0 not 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


def test_same_values_as_djangos_decoding_on_varied_documents():
    ours, django_field = JSONField(), models.JSONField()
    pick = random.Random(20261204)
    for _ in range(5_000):
        value = document(pick)
        for text in (json.dumps(value), json.dumps(value, separators=(",", ":"), ensure_ascii=False)):
            assert same(ours.from_db_value(text, None, None), django_field.from_db_value(text, None, None)), text
    for raw in ("not json", "{", "5 mg", None):  # text a key lookup extracts on SQLite, or nothing
        assert same(ours.from_db_value(raw, None, None), django_field.from_db_value(raw, None, None))


def test_values_that_orjson_reads_differently_take_djangos_path():
    field = JSONField()
    assert field.from_db_value("18446744073709551616", None, None) == 2**64
    assert type(field.from_db_value('{"n": -99999999999999999999}', None, None)["n"]) is int
    assert math.isnan(field.from_db_value("NaN", None, None))
    assert field.from_db_value('"\\ud800"', None, None) == "\ud800"


@pytest.mark.django_db
def test_round_trip_through_the_database():
    value = {"big": 2**70, "neg": -(2**64) - 1, "small": 12, "f": 0.1, "z": -0.0, "s": "🩺 \"q\"",
             "nested": [[1, 2.5, None, True], {"k": []}]}
    department = DepartmentFactory(operating_hours=value)
    read = Department.objects.values_list("operating_hours", flat=True).get(pk=department.pk)
    stored = (Department.objects.annotate(text=Cast("operating_hours", TextField()))
              .values_list("text", flat=True).get(pk=department.pk))  # as the database writes it out
    assert same(read, models.JSONField().from_db_value(stored, None, None))
    assert read["big"] == 2**70 and read["neg"] == -(2**64) - 1 and type(read["f"]) is float
    assert Department.objects.filter(pk=department.pk, operating_hours__big=2**70).exists()
    assert same(Department.objects.values_list("operating_hours__nested", flat=True).get(pk=department.pk),
                value["nested"])


def test_schema_is_djangos():
    name, path, args, kwargs = JSONField(default=dict, blank=True).deconstruct()
    assert path == "django.db.models.JSONField"
    assert kwargs == models.JSONField(default=dict, blank=True).deconstruct()[3]
