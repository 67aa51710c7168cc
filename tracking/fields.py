"""Input fields for tracking bodies: the forms the frontend really sends (and the API description
states), strict in range."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field

from phb.api import serializers
from phb.api.fields import CLOCK_SCHEMA, FormBlankIsText, clock_hhmm, from_json
from phb.numbers import whole_number
from phb.zones import today_in

EARLIEST_MS = 946_684_800_000  # 2000-01-01T00:00:00Z
_TOKEN_TEXT = r"^[A-Za-z][A-Za-z0-9 _\-]{0,39}$"


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TRACKING_TIME_ZONE)


def local_today() -> date:
    return today_in(local_zone())


def now_ms() -> int:
    return int(timezone.now().timestamp() * 1000)


def _latest_ms() -> int:
    return now_ms() + int(timedelta(days=1).total_seconds() * 1000)


def iso_from_ms(ms: int | Decimal) -> str:
    """``Date.prototype.toISOString`` form: ``2025-01-05T10:15:00.000Z``."""
    moment = datetime.fromtimestamp(int(ms) / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}Z"


def plain(value: Any) -> Any:
    """DynamoDB values back to JSON: Decimals become int when whole, else float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    return value


@extend_schema_field({"oneOf": [{"type": "number", "minimum": 946_684_800_000,
                                 "description": "epoch milliseconds, from 2000-01-01 to a day ahead of now"},
                                {"type": "string", "pattern": "^[0-9]{10,16}(\\.[0-9]+)?$",
                                 "description": "the same epoch milliseconds as text"},
                                {"type": "string", "format": "date-time"}]})
class EpochMsField(FormBlankIsText, serializers.Field):
    """An instant as epoch milliseconds (number or numeric string) or an ISO-8601 datetime.

    Accepted from 2000-01-01 to one day ahead of now; the internal value is int milliseconds.
    """

    default_error_messages = {
        "invalid": "Enter a time as epoch milliseconds or an ISO-8601 datetime.",
        "range": "This time is out of range.",
    }

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        try:
            if isinstance(data, (int, float, Decimal)):
                ms = int(data)
            elif isinstance(data, str) and re.fullmatch(r"[0-9]{10,16}(\.[0-9]+)?", data):
                ms = int(Decimal(data))
            elif isinstance(data, str):
                moment = datetime.fromisoformat(data.strip().replace("Z", "+00:00").replace("z", "+00:00"))
                if timezone.is_naive(moment):
                    moment = moment.replace(tzinfo=local_zone())
                ms = int(moment.timestamp() * 1000)
            else:
                self.fail("invalid")
        except (ValueError, OverflowError):  # not a time, infinite, or beyond the calendar's ends
            self.fail("invalid")
        if not EARLIEST_MS <= ms <= _latest_ms():
            self.fail("range")
        return ms

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "string", "format": "date", "pattern": "^2[0-9]{3}-",
                      "description": "A date from 2000-01-01, at most a few days (per field) ahead of today."})
class LocalDateField(FormBlankIsText, serializers.Field):
    """``YYYY-MM-DD``, or an ISO datetime read as a date in ``TRACKING_TIME_ZONE``.

    The browser's ``toISOString()`` of local midnight in Lagos is the previous day at 23:00Z;
    converting to the local zone keeps the day the user picked.
    """

    default_error_messages = {"invalid": "Enter a date as YYYY-MM-DD.", "range": "This date is out of range."}

    def __init__(self, *, allow_future_days: int = 1, **kwargs: Any) -> None:
        self.allow_future_days = allow_future_days
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> date:
        if not isinstance(data, str):
            self.fail("invalid")
        text = data.strip()
        try:
            if len(text) == 10:
                found = date.fromisoformat(text)
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
                found = moment.astimezone(local_zone()).date() if timezone.is_aware(moment) else moment.date()
        except (ValueError, OverflowError):  # OverflowError: an offset that moves it past the calendar's ends
            self.fail("invalid")
        if found < date(2000, 1, 1) or found > local_today() + timedelta(days=self.allow_future_days):
            self.fail("range")
        return found

    def to_representation(self, value: Any) -> Any:
        return value.isoformat() if isinstance(value, date) else value


class RoundedDecimalField(FormBlankIsText, serializers.Field):
    """A number rounded to ``places`` decimals (floats accepted), kept as ``Decimal``. In a JSON body
    it is a JSON number (the trackers send ``parseFloat``/``Number`` values), not text."""

    default_error_messages = {
        "invalid": "A number is required.",
        "min_value": "Ensure this value is greater than or equal to {min_value}.",
        "max_value": "Ensure this value is less than or equal to {max_value}.",
    }

    def __init__(self, *, places: int, min_value: float | int, max_value: float | int, **kwargs: Any) -> None:
        self.places = places
        self.min_value = Decimal(str(min_value))
        self.max_value = Decimal(str(max_value))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or data is None or data == "" or (isinstance(data, str) and from_json(self)):
            self.fail("invalid")
        try:
            value = Decimal(str(data).strip())
        except (InvalidOperation, ValueError):
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        self._check_range(value)  # first: quantizing 1e30 to a few places is itself an error
        value = value.quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_UP)
        self._check_range(value)
        return value

    def _check_range(self, value: Decimal) -> None:
        if value < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        if value > self.max_value:
            self.fail("max_value", max_value=self.max_value)

    def to_representation(self, value: Any) -> Any:
        return plain(value)


class WholeNumberField(RoundedDecimalField):
    """An integer; a float such as a timer's 12.4 seconds is rounded rather than refused (and the
    API description says a number)."""

    def __init__(self, *, min_value: int, max_value: int, **kwargs: Any) -> None:
        super().__init__(places=0, min_value=min_value, max_value=max_value, **kwargs)

    def to_internal_value(self, data: Any) -> int:  # type: ignore[override]
        return int(super().to_internal_value(data))


class RoundedDecimalFieldSchema(OpenApiSerializerFieldExtension):
    """A JSON number within the field's range (a value in range stays in range when rounded)."""

    target_class = RoundedDecimalField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        field = self.target
        schema: dict[str, Any] = {"type": "number", "minimum": plain(field.min_value), "maximum": plain(field.max_value)}
        if field.places == 0:
            schema["description"] = "Rounded to a whole number."
        else:
            schema["description"] = f"Rounded to {field.places} decimal place{'s' if field.places > 1 else ''}."
        return schema


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "integer"}]})
class ChoiceOrScaleField(FormBlankIsText, serializers.Field):
    """One of ``choices`` (case-insensitive) or, when ``scale`` is given, a whole number in it.

    The W19 form sends words outside the frontend's own TypeScript enums and its sliders send
    numbers, so both forms are accepted; anything else is refused with the allowed words.
    """

    default_error_messages = {"invalid": "“{value}” is not a valid choice. Use one of: {choices}."}

    def __init__(self, *, choices: set[str] | frozenset[str], scale: tuple[int, int] | None = None, **kwargs: Any) -> None:
        self.choices = frozenset(choices)
        self.scale = scale
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str | int:
        if self.scale and not isinstance(data, bool) and isinstance(data, (int, float)) and float(data).is_integer():
            if self.scale[0] <= int(data) <= self.scale[1]:
                return int(data)
        if isinstance(data, str):
            text = data.strip().lower().replace(" ", "_")
            if text in self.choices:
                return text
            number = whole_number(text, max_digits=3)
            if self.scale and number is not None and self.scale[0] <= number <= self.scale[1]:
                return number
        self.fail("invalid", value=str(data)[:40], choices=", ".join(sorted(self.choices)))

    def to_representation(self, value: Any) -> Any:
        return value


class TokenListField(serializers.ListField):
    """A short list of symptom names stored as lower-case tokens (``"Back pain"`` is
    ``back_pain``); duplicates dropped, order kept. Each item's pattern (also the API
    description's) is the whole rule."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("required", False)
        child = serializers.RegexField(_TOKEN_TEXT, max_length=40, error_messages={
            "invalid": "Enter a name: a letter, then letters, digits, spaces, _ or - (at most 40)."})
        super().__init__(child=child, **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        out: list[str] = []
        for value in super().to_internal_value(data):
            token = value.lower().replace(" ", "_")
            if token not in out:
                out.append(token)
        return out


@extend_schema_field(CLOCK_SCHEMA)
class ClockTimeField(FormBlankIsText, serializers.Field):
    """``HH:MM`` or ``HH:MM:SS`` (seconds dropped)."""

    default_error_messages = {"invalid": "Enter a time as HH:MM."}

    def to_internal_value(self, data: Any) -> str:
        clock = clock_hhmm(data)
        if clock is None:
            self.fail("invalid")
        return clock

    def to_representation(self, value: Any) -> Any:
        return value
