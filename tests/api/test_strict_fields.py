"""Strict request fields (``phb.api.fields``): a JSON value of another type than the API
description states is a 400 naming the field; forms and query strings are text and parsed as DRF
does."""

from __future__ import annotations

import ast
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.http import QueryDict
from rest_framework.test import APIRequestFactory

from phb.api import serializers
from phb.api.errors import exception_handler

ROOT = Path(__file__).resolve().parents[2]


class Everything(serializers.Serializer):
    text = serializers.CharField(required=False)
    email = serializers.EmailField(required=False)
    code = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    slug = serializers.SlugField(required=False)
    link = serializers.URLField(required=False)
    ref = serializers.UUIDField(required=False)
    day = serializers.DateField(required=False)
    moment = serializers.DateTimeField(required=False)
    clock = serializers.TimeField(required=False)
    count = serializers.IntegerField(required=False)
    ratio = serializers.FloatField(required=False)
    amount = serializers.DecimalField(max_digits=6, decimal_places=2, required=False)
    flag = serializers.BooleanField(required=False)
    colour = serializers.ChoiceField(choices=["red", "blue"], required=False)
    level = serializers.ChoiceField(choices=[1, 2, 3], required=False)
    counts = serializers.ListField(child=serializers.IntegerField(), required=False)


GOOD = {
    "text": "hello",
    "email": "a@example.com",
    "code": "ABC",
    "slug": "a-slug",
    "link": "https://example.com/x",
    "ref": str(uuid.UUID(int=7)),
    "day": "2025-03-04",
    "moment": "2025-03-04T09:30:00Z",
    "clock": "09:30",
    "count": 5,
    "ratio": 1.5,
    "amount": 12.5,
    "flag": True,
    "colour": "red",
    "level": 2,
    "counts": [1, 2],
}

WRONG_TYPE = [
    ("text", 5), ("text", 1.5), ("text", True), ("text", ["a"]), ("text", {"a": 1}),
    ("email", 5), ("code", 123), ("slug", 5), ("link", 5),
    ("ref", 7), ("ref", True),
    ("day", 20250304), ("moment", 1741080600), ("clock", 930),
    ("count", "5"), ("count", True), ("count", 5.5), ("count", [5]),
    ("ratio", "1.5"), ("ratio", False),
    ("amount", "12.5"), ("amount", True),
    ("flag", 1), ("flag", 0), ("flag", "true"), ("flag", "yes"), ("flag", None),
    ("colour", 1), ("colour", ["red"]),
    ("level", "2"), ("level", True), ("level", 2.5),
    ("counts", ["1"]), ("counts", [True]),
]


def _validate(data):
    serializer = Everything(data=data)
    serializer.is_valid()
    return serializer


def test_right_types_are_accepted():
    serializer = _validate(GOOD)
    assert serializer.errors == {}
    data = serializer.validated_data
    assert data["count"] == 5 and data["flag"] is True and data["level"] == 2
    assert data["amount"] == Decimal("12.50") and data["ref"] == uuid.UUID(int=7)


def test_an_integral_float_is_an_integer():
    assert _validate({"count": 5.0}).validated_data["count"] == 5


@pytest.mark.parametrize(("name", "value"), WRONG_TYPE)
def test_a_json_value_of_another_type_is_refused(name, value):
    serializer = _validate({**GOOD, name: value})
    assert set(serializer.errors) == {name}, serializer.errors


@pytest.mark.parametrize(("name", "value"), WRONG_TYPE)
def test_the_400_names_the_field(name, value):
    serializer = _validate({name: value})
    assert not serializer.is_valid()
    try:
        serializer.is_valid(raise_exception=True)
    except serializers.ValidationError as exc:
        response = exception_handler(exc, {})
    assert response.status_code == 400
    assert response.data["message"].startswith(f"{name}: ")
    assert name in response.data["errors"]


def test_null_is_refused_unless_allowed():
    class Nullable(serializers.Serializer):
        count = serializers.IntegerField(allow_null=True)
        text = serializers.CharField(allow_null=True)

    serializer = Nullable(data={"count": None, "text": None})
    assert serializer.is_valid(), serializer.errors
    assert _validate({"count": None}).errors.keys() == {"count"}


def test_blank_choice_when_allowed():
    class Blank(serializers.Serializer):
        colour = serializers.ChoiceField(choices=["red"], allow_blank=True)

    assert Blank(data={"colour": ""}).is_valid()


def test_form_and_query_text_is_parsed_as_text():
    query = QueryDict("count=5&ratio=1.5&amount=12.5&flag=true&level=2&text=5&day=2025-03-04&counts=1&counts=2")
    serializer = _validate(query)
    assert serializer.errors == {}
    data = serializer.validated_data
    assert data["count"] == 5 and data["flag"] is True and data["level"] == 2 and data["text"] == "5"
    assert data["counts"] == [1, 2]
    assert _validate(QueryDict("count=five")).errors.keys() == {"count"}
    assert _validate(QueryDict("flag=False")).validated_data["flag"] is False


@pytest.mark.parametrize("text", ["1", "0", "yes", "on", ""])
def test_a_form_or_query_boolean_is_true_or_false(text):
    assert _validate(QueryDict(f"flag={text}")).errors.keys() == {"flag"}


@pytest.mark.parametrize("name", ["count", "ratio", "day", "ref", "colour", "text"])
def test_an_empty_query_value_is_not_left_out(name):
    """``?count=`` is the empty text the API description rules out, not "not given"."""
    assert _validate(QueryDict(f"{name}=")).errors.keys() == {name}


def test_an_empty_query_value_is_blank_where_blank_is_allowed():
    class Filters(serializers.Serializer):
        search = serializers.CharField(required=False, allow_blank=True)

    assert Filters(data=QueryDict("search=")).is_valid()


def test_nested_serializers_and_lists_are_strict():
    class Outer(serializers.Serializer):
        inner = Everything()
        many = Everything(many=True)

    serializer = Outer(data={"inner": {"count": "5"}, "many": [{"flag": 1}]})
    assert not serializer.is_valid()
    assert serializer.errors["inner"].keys() == {"count"}
    assert serializer.errors["many"][0].keys() == {"flag"}


def test_the_schema_states_the_json_types():
    from drf_spectacular.openapi import AutoSchema

    from phb.api.fields import JS_SAFE_INTEGER, TextOrIntegerField
    from phb.api.schema import VISIBLE_TEXT_PATTERN

    mapped = AutoSchema()._map_serializer_field
    assert mapped(serializers.DecimalField(max_digits=5, decimal_places=1), "request")["type"] == "number"
    assert mapped(serializers.IntegerField(), "request")["type"] == "integer"
    assert mapped(TextOrIntegerField(max_length=64), "request")["oneOf"] == [
        {"type": "string", "maxLength": 64, "minLength": 1, "pattern": VISIBLE_TEXT_PATTERN},
        {"type": "integer", "minimum": -JS_SAFE_INTEGER, "maximum": JS_SAFE_INTEGER},
    ]


@pytest.mark.parametrize(("value", "expected"), [("item-1", "item-1"), (1733221234567, "1733221234567"), (0, "0")])
def test_text_or_integer_accepts_both_as_text(value, expected):
    from phb.api.fields import TextOrIntegerField

    class Item(serializers.Serializer):
        id = TextOrIntegerField(max_length=64)

    serializer = Item(data={"id": value})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["id"] == expected


@pytest.mark.parametrize("value", [True, 1.5, 2**53, ["a"], None, ""])
def test_text_or_integer_refuses_the_rest(value):
    from phb.api.fields import TextOrIntegerField

    class Item(serializers.Serializer):
        id = TextOrIntegerField(max_length=64)

    serializer = Item(data={"id": value})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"id"}


def test_every_input_module_uses_the_strict_fields():
    """``from rest_framework import serializers`` would bring DRF's coercing fields back."""
    offenders = []
    packages = [d for d in ROOT.iterdir() if (d / "__init__.py").exists() and d.name not in ("tests", "e2e", "bench")]
    assert {"accounts", "phb", "tracking"} <= {d.name for d in packages}
    for path in (p for package in packages for p in package.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "migrations" in relative.parts:
            continue
        if relative.parts[:2] == ("phb", "api") and relative.name in ("fields.py", "serializers.py", "schema.py"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "rest_framework" and any(
                    alias.name == "serializers" for alias in node.names):
                offenders.append(str(relative))
            elif isinstance(node, ast.ImportFrom) and node.module in ("rest_framework.serializers",
                                                                      "rest_framework.fields"):
                offenders.append(str(relative))
    assert offenders == []


def test_a_view_refuses_a_wrong_typed_json_body():
    """Through DRF's request parsing: JSON is strict, the same values as a form are text."""
    from rest_framework.decorators import api_view, authentication_classes, parser_classes, permission_classes
    from rest_framework.parsers import MultiPartParser
    from rest_framework.response import Response

    def count(request):
        serializer = Everything(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response({"count": serializer.validated_data.get("count")})

    def unauthenticated(function):
        return api_view(["POST"])(authentication_classes([])(permission_classes([])(function)))

    view = unauthenticated(lambda request: count(request))
    upload_view = unauthenticated(parser_classes([MultiPartParser])(lambda request: count(request)))

    factory = APIRequestFactory()
    refused = view(factory.post("/x", {"count": "5"}, format="json"))
    assert refused.status_code == 400 and refused.data["message"].startswith("count: ")
    assert view(factory.post("/x", {"count": 5}, format="json")).data == {"count": 5}
    form = view(factory.post("/x", {"count": "5"}, format="multipart"))
    assert form.status_code == 415 and form.data["code"] == "unsupported_media_type"  # JSON unless a view says
    assert upload_view(factory.post("/x", {"count": "5"}, format="multipart")).data == {"count": 5}


def test_only_the_upload_views_take_forms():
    """Every other view takes JSON alone: a form would read "false" or "null" as text."""
    from django.urls import get_resolver
    from rest_framework.parsers import FormParser, MultiPartParser

    from tests.routes import walk

    views = (pattern.callback.cls for _, pattern, _ in walk(get_resolver().url_patterns)
             if hasattr(pattern.callback, "cls"))
    taking_forms = {
        f"{cls.__module__}.{cls.__name__}" for cls in views
        if any(issubclass(type(parser), (MultiPartParser, FormParser)) for parser in cls().get_parsers())
    }
    assert taking_forms == {
        "records.document_views.DocumentUploadView",
        "storage.views.GuidelineUploadView",
        "storage.views.GuidelineFileView",
    }


def test_tracking_numbers_are_json_numbers_and_whole_numbers_are_rounded():
    from tracking.fields import RoundedDecimalField, WholeNumberField

    class Entry(serializers.Serializer):
        weight_kg = RoundedDecimalField(places=1, min_value=20, max_value=300, required=False)
        kicks = WholeNumberField(min_value=0, max_value=1000, required=False)

    good = Entry(data={"weight_kg": 70.25, "kicks": 12.4})
    assert good.is_valid(), good.errors
    assert good.validated_data == {"weight_kg": Decimal("70.3"), "kicks": 12}
    for body in ({"weight_kg": "70.2"}, {"kicks": "12"}, {"weight_kg": True}):
        refused = Entry(data=body)
        assert not refused.is_valid() and set(refused.errors) == set(body), body
    assert Entry(data=QueryDict("weight_kg=70.2&kicks=12")).is_valid()


class Bounded(serializers.Serializer):
    name = serializers.CharField(max_length=5, required=False)
    email = serializers.EmailField(max_length=12, required=False)


@pytest.mark.parametrize("body", [
    {"name": "abcde "}, {"name": "\u0085abcde"}, {"name": " abc  "}, {"email": " a@example.ng"},
])
def test_max_length_is_of_the_text_as_sent_not_as_trimmed(body):
    """The API description says ``maxLength`` of the JSON string; trimming comes after."""
    serializer = Bounded(data=body)
    assert not serializer.is_valid()
    field = next(iter(body))
    assert "no more than" in str(serializer.errors[field][0])


def test_text_within_its_length_is_still_trimmed():
    serializer = Bounded(data={"name": " abc ", "email": "a@example.ng"})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data == {"name": "abc", "email": "a@example.ng"}
