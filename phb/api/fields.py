"""Input fields shared by every area."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from phb.api.schema import VISIBLE_TEXT_PATTERN

# Dates the service reasons about: far enough either way for any real record or booking, and far
# from ``date.max``, where adding a slot length or converting a time zone would overflow.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)
OUT_OF_RANGE = f"Enter a date between {EARLIEST_DATE.year} and {LATEST_DATE.year}."


# A wall-clock time as the frontend's time inputs send it: ``HH:MM``, or ``HH:MM:SS``.
CLOCK_PATTERN = "([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?"
CLOCK_SCHEMA = {"type": "string", "pattern": f"^{CLOCK_PATTERN}$"}
_CLOCK = re.compile(CLOCK_PATTERN)


def clock_hhmm(value: object) -> str | None:
    """``HH:MM`` of an ``HH:MM`` or ``HH:MM:SS`` string (seconds dropped); None for anything else."""
    return value[:5] if isinstance(value, str) and _CLOCK.fullmatch(value) else None


def check_calendar_range(value: date | datetime) -> None:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise serializers.ValidationError(OUT_OF_RANGE, code="date_out_of_range")


# --- Strict request fields ---------------------------------------------------------------------
# DRF's fields coerce: a number sent for a text field becomes text, ``0``/``"yes"`` become
# booleans, ``"5"`` an integer. In a JSON body every value already has its type, and the API
# description states it, so a value of another JSON type is refused with a 400 naming the field.
# Forms and query strings carry text only (a ``QueryDict``): there the fields parse text as DRF
# does. Serializers get these through ``phb.api.serializers`` (import it instead of
# ``rest_framework.serializers``).


def from_json(field: serializers.Field) -> bool:
    """Whether ``field`` is reading a JSON value rather than form or query-string text."""
    return not hasattr(getattr(field.root, "initial_data", None), "getlist")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


class FormBlankIsText:
    """DRF reads an empty form or query value (``?limit=``) as "not given" (or null); the API
    description does not, so it is validated as the empty text it is (unless blank is allowed)."""

    def get_value(self, dictionary: Any) -> Any:
        if (hasattr(dictionary, "getlist") and dictionary.get(self.field_name) == ""  # type: ignore[attr-defined]
                and not getattr(self, "allow_blank", False)):
            return ""
        return super().get_value(dictionary)  # type: ignore[misc]


class _Strict(FormBlankIsText):
    """Refuses a JSON value unless ``json_value_ok`` accepts it (with the error ``error_key``)."""

    error_key = "invalid"

    def json_value_ok(self, value: Any) -> bool:
        return isinstance(value, str)

    def refuse(self, value: Any) -> None:
        self.fail(self.error_key)  # type: ignore[attr-defined]

    def to_internal_value(self, data: Any) -> Any:
        if from_json(self) and not self.json_value_ok(data):  # type: ignore[arg-type]
            self.refuse(data)
        # The API description's ``maxLength`` is of the text as sent: DRF would check it only after
        # trimming, and so take longer text whose extra characters are leading or trailing spaces.
        max_length = getattr(self, "max_length", None)
        if max_length is not None and isinstance(data, str) and len(data) > max_length:
            self.fail("max_length", max_length=max_length)  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class CharField(_Strict, serializers.CharField):
    pass


class EmailField(_Strict, serializers.EmailField):
    pass


class RegexField(_Strict, serializers.RegexField):
    """The regular expression (also the API description's pattern) says exactly what is accepted:
    nothing is trimmed before it is matched."""

    def __init__(self, regex: Any, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(regex, **kwargs)


class SlugField(_Strict, serializers.SlugField):
    pass


class URLField(_Strict, serializers.URLField):
    pass


class UUIDField(_Strict, serializers.UUIDField):
    pass


class DateField(_Strict, serializers.DateField):
    default_error_messages = {"not_text": "Enter the date as text: YYYY-MM-DD."}
    error_key = "not_text"


class DateTimeField(_Strict, serializers.DateTimeField):
    default_error_messages = {"not_text": "Enter the date and time as ISO 8601 text."}
    error_key = "not_text"


class TimeField(_Strict, serializers.TimeField):
    default_error_messages = {"not_text": "Enter the time as text: hh:mm[:ss]."}
    error_key = "not_text"


class IntegerField(_Strict, serializers.IntegerField):
    """A JSON integer (``5.0`` too, which JSON Schema counts as one); not ``"5"``, ``true`` or ``5.5``."""

    def json_value_ok(self, value: Any) -> bool:
        return _is_number(value) and (not isinstance(value, float) or value.is_integer())


class FloatField(_Strict, serializers.FloatField):
    def json_value_ok(self, value: Any) -> bool:
        return _is_number(value)


class DecimalField(_Strict, serializers.DecimalField):
    """A JSON number. (Documented as one: ``coerce_to_string`` only shapes output, which input
    serializers do not produce.)"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("coerce_to_string", False)
        super().__init__(*args, **kwargs)

    def json_value_ok(self, value: Any) -> bool:
        return _is_number(value)


class BooleanField(_Strict, serializers.BooleanField):
    """``true`` or ``false``; not ``0``/``1`` or ``"yes"``. As form or query-string text: ``true``
    or ``false`` (any case), what a boolean in the API description is sent as."""

    def json_value_ok(self, value: Any) -> bool:
        return isinstance(value, bool)

    def to_internal_value(self, data: Any) -> Any:
        if not from_json(self):
            if isinstance(data, bool):  # DRF's own reading of a box left out of a form
                return data
            text = data.lower() if isinstance(data, str) else None
            if text not in ("true", "false"):
                self.fail("invalid")
            return text == "true"
        return super().to_internal_value(data)


class ChoiceField(_Strict, serializers.ChoiceField):
    """One of the choices with the choice's own JSON type: ``"1"`` is not the choice ``1``."""

    error_key = "invalid_choice"

    def json_value_ok(self, value: Any) -> bool:
        if value == "" and self.allow_blank:
            return True
        choice = self.choice_strings_to_values.get(str(value), _NO_CHOICE)
        if isinstance(choice, str):
            return isinstance(value, str)
        return type(choice) is type(value)

    def refuse(self, value: Any) -> None:
        self.fail("invalid_choice", input=value)


_NO_CHOICE = object()

# JavaScript's safe integers: ids the frontend makes with ``Date.now()`` fit, and so does any id
# it sends as a number.
JS_SAFE_INTEGER = 2**53 - 1


class TextOrIntegerField(CharField):
    """Text, or an integer read as its digits: ids the frontend sends either way (a list item's
    ``Date.now()`` id, a numeric body-part id). Documented as ``oneOf`` a string or an integer."""

    default_error_messages = {"invalid": "Enter text or a whole number."}

    def json_value_ok(self, value: Any) -> bool:
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)
                                          and abs(value) <= JS_SAFE_INTEGER)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, int) and self.json_value_ok(data):
            data = str(data)
        return super().to_internal_value(data)


class TextOrIntegerFieldSchema(OpenApiSerializerFieldExtension):
    target_class = TextOrIntegerField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field = self.target
        text: dict[str, Any] = {"type": "string"}
        if field.max_length is not None:
            text["maxLength"] = field.max_length
        if field.min_length is not None:
            text["minLength"] = field.min_length
        elif not field.allow_blank:
            text["minLength"] = 1
        if not field.allow_blank and field.trim_whitespace:
            text["pattern"] = VISIBLE_TEXT_PATTERN
        number = {"type": "integer", "minimum": -JS_SAFE_INTEGER, "maximum": JS_SAFE_INTEGER}
        return {"oneOf": [text, number]}


# The same range in the API description: a year from 1900 to 2200.
CALENDAR_DATE_SCHEMA = {"type": "string", "format": "date", "pattern": "^(19[0-9]{2}|2[01][0-9]{2}|2200)-",
                        "description": "A date from 1900-01-01 to 2200-12-31."}


@extend_schema_field(CALENDAR_DATE_SCHEMA)
class CalendarDateField(DateField):
    """A ``DateField`` limited to the years the service works with."""

    def to_internal_value(self, value: Any) -> date:
        parsed = super().to_internal_value(value)
        check_calendar_range(parsed)
        return parsed
