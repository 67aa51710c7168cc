"""Symptom lists and clock times take exactly what the API description's patterns allow: a value
the pattern allows is taken, one it rules out is a 400 naming the field (what schema fuzzing
checks both ways)."""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from phb.api import serializers
from tracking.fields import ClockTimeField, EpochMsField, TokenListField


class _Entry(serializers.Serializer):
    symptoms = TokenListField()
    bedtime = ClockTimeField(required=False)
    started = EpochMsField(required=False)


def _read(**data):
    entry = _Entry(data=data)
    return entry.validated_data if entry.is_valid() else entry.errors


def _taken(**data) -> bool:
    return _Entry(data=data).is_valid()


@pytest.mark.parametrize(("sent", "stored"), [
    (["back_pain", "Back pain", "fatigue"], ["back_pain", "fatigue"]),
    (["Nausea", "leg-cramps", "x1"], ["nausea", "leg-cramps", "x1"]),
])
def test_symptom_names_are_taken_as_tokens(sent, stored):
    assert _read(symptoms=sent)["symptoms"] == stored


@pytest.mark.parametrize("name", [" back_pain", "1st", "\U000886d8w", "back\tpain", "é", "a" * 41, ""])
def test_a_symptom_name_outside_the_pattern_is_refused(name):
    errors = _read(symptoms=["fatigue", name])
    assert "symptoms" in errors and 1 in errors["symptoms"], errors


@pytest.mark.parametrize(("sent", "stored"), [("08:30", "08:30"), ("23:59:59", "23:59")])
def test_clock_times(sent, stored):
    assert _read(symptoms=[], bedtime=sent)["bedtime"] == stored


@pytest.mark.parametrize("sent", [" 08:30", "24:00", "\u0661\u0662:\u0663\u0660", "8:30", "08:30:60"])
def test_a_clock_time_outside_the_pattern_is_refused(sent):
    assert not _taken(symptoms=[], bedtime=sent)


def test_the_description_states_the_same_rules():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    pregnancy = schema["paths"]["/api/womens-health/pregnancy/"]["post"]["requestBody"]["content"]["application/json"]
    ref = pregnancy["schema"]["$ref"].rsplit("/", 1)[-1]
    item = schema["components"]["schemas"][ref]["properties"]["symptoms_experienced"]["items"]
    pattern = re.compile(item["pattern"])
    for name in ("back_pain", "Back pain", "x1"):
        assert pattern.search(name) and _taken(symptoms=[name])
    for name in (" back_pain", "1st", "é"):
        assert not pattern.search(name) and not _taken(symptoms=[name])


def test_epoch_milliseconds_as_text_are_ascii_digits_only():
    assert _read(symptoms=[], started="1733221234567")["started"] == 1733221234567
    assert _read(symptoms=[], started=1733221234567)["started"] == 1733221234567
    for sent in (" 1733221234567", "\u0661" * 13, "1733221234567 "):
        assert not _taken(symptoms=[], started=sent), sent
