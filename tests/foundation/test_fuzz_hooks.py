"""The fuzzer's negative check (fuzz/hooks.py) lets a 2xx pass only for a body that was the sole
negated part and satisfies the service's own schema as sent; every other case goes to
Schemathesis' check."""

from __future__ import annotations

import json

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.case import Case
from schemathesis.generation.meta import (
    CaseMetadata,
    ComponentInfo,
    CoverageScenario,
    GenerationInfo,
    PhaseInfo,
)
from schemathesis.generation.modes import GenerationMode

from fuzz.hooks import json_body_satisfies_schema, only_the_body_was_negated

GUIDELINE = {"title": "Sepsis", "description": "Sepsis six", "category": "emergency"}


@pytest.fixture(scope="module")
def guideline_create():
    raw = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    return schemathesis.openapi.from_dict(raw)["/api/clinical-guidelines/"]["POST"]


def _meta(*negated: ParameterLocation) -> CaseMetadata:
    components = {location: ComponentInfo(mode=GenerationMode.NEGATIVE) for location in negated}
    return CaseMetadata(
        generation=GenerationInfo(time=0.0, mode=GenerationMode.NEGATIVE),
        components=components,
        phase=PhaseInfo.coverage(CoverageScenario.OBJECT_MISSING_REQUIRED_PROPERTY,
                                 "Missing required property: description"),
    )


def test_a_complete_body_with_an_extra_property_satisfies_the_schema(guideline_create):
    # Inner spaces included: Schemathesis' reading of the visible-text pattern keeps them valid.
    case = guideline_create.Case(body={**GUIDELINE, "priority": "", "errors": {}}, media_type="application/json")
    assert json_body_satisfies_schema(case)


@pytest.mark.parametrize("body", [
    {"title": "Sepsis", "category": "emergency"},               # description missing
    {**GUIDELINE, "description": 5},                            # a number for text
    {**GUIDELINE, "description": " \t\u3000"},                 # nothing left once trimmed
    {**GUIDELINE, "category": "astrology"},                     # outside the enum
    {**GUIDELINE, "keywords": "sepsis"},                        # text for a list
    [GUIDELINE],                                                # not an object
    b'{"title": "Sepsis"',                                      # raw bytes, not JSON
])
def test_a_schema_violating_body_does_not(guideline_create, body):
    assert not json_body_satisfies_schema(guideline_create.Case(body=body, media_type="application/json"))


def test_a_non_json_body_is_left_to_schemathesis(guideline_create):
    case = guideline_create.Case(body=GUIDELINE, media_type="multipart/form-data")
    assert not json_body_satisfies_schema(case)


def _case(operation, *negated: ParameterLocation) -> Case:
    return Case(operation=operation, method="POST", path=operation.path, body=GUIDELINE,
                media_type="application/json", meta=_meta(*negated) if negated else None)


def test_only_a_negated_body_counts(guideline_create):
    assert only_the_body_was_negated(_case(guideline_create, ParameterLocation.BODY))
    for other in (ParameterLocation.QUERY, ParameterLocation.HEADER, ParameterLocation.PATH):
        assert not only_the_body_was_negated(_case(guideline_create, ParameterLocation.BODY, other))
    assert not only_the_body_was_negated(_case(guideline_create, ParameterLocation.QUERY))
    assert not only_the_body_was_negated(_case(guideline_create))
