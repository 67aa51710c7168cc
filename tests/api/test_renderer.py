"""The orjson renderer writes the same bytes as DRF's JSONRenderer, for every kind of value the
views hand it, and the error envelope is unchanged."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from phb.api.renderers import FastJSONRenderer
from tests.helpers import client_for

VALUES = [
    {"a": 1, "b": [1, 2.5, None, True, False], "c": "ünïcode ✓ “q” <tag> & \u2028 \u2029 \\ \" \n \t \x00"},
    [dt.datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), dt.datetime(2030, 1, 2, 3, 4, 5),
     dt.datetime(2030, 6, 1, 9, 30, tzinfo=ZoneInfo("Africa/Lagos")), dt.date(2030, 1, 2), dt.time(9, 30, 1)],
    {"d": Decimal("12.50"), "u": uuid.UUID("12345678-1234-5678-1234-567812345678"), "td": dt.timedelta(seconds=90)},
    {1: "int key", "nested": {"deep": [[[{"x": -0.0}]]]}, "big": 2**63 - 1, "small": -(2**63), "f": 0.1},
    {"huge": 2**64 + 1, "float": 1.1, "floats": [36.4, 1e15, 123456.789, -2.5]},
    ReturnDict({"detail": ErrorDetail("Bad.", code="invalid")}, serializer=None),
    ReturnList([{"lazy": gettext_lazy("Not found.")}], serializer=None),
    {"dash": "8:00 – 9:00 … € ‘q’", "ls": ["\u2028"], "ps": "x\u2029"},  # E2-led characters with and without LS/PS
    [{"a": {2: "b", 3.5: None}}, {True: 1, None: 2}],  # keys JSON writes as strings, deep in a list
    (1, 2, 3), "plain", 0, [], {},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_same_bytes_as_drf(value):
    assert FastJSONRenderer().render(value) == JSONRenderer().render(value)


def test_uuid_keys_render_as_their_text():
    # DRF's encoder refuses them; the fast renderer writes them as str() does (a per-doctor map, say).
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert FastJSONRenderer().render({"by_doctor": {key: 3}}) == b'{"by_doctor":{"12345678-1234-5678-1234-567812345678":3}}'


def test_exponent_floats_differ_only_in_spelling():
    # orjson writes 1e-7 where Python writes 1e-07: the same number to every JSON parser.
    import json

    value = {"small": 1e-7, "large": 1e300}
    assert json.loads(FastJSONRenderer().render(value)) == json.loads(JSONRenderer().render(value)) == value


def test_nothing_renders_as_empty_body():
    assert FastJSONRenderer().render(None) == b""


@pytest.mark.django_db
def test_error_envelope_and_content_type_unchanged(patient):
    response = client_for(None).get("/api/profile/")
    assert response.status_code == 401 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["message"] and body["error"] == body["message"] and "code" in body
    missing = client_for(patient).get("/api/appointments/APT-NOPE0000/")
    assert missing.status_code == 404 and missing.json()["message"]
    bad = client_for(patient).get("/api/appointments/?limit=x")
    assert bad.status_code == 400 and bad.json()["message"] == "limit must be a whole number." and bad.json()["limit"]
