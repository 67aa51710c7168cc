"""The DynamoDB-backed entry types: their input bodies, their items and their output shapes.

One :class:`Kind` per sync ``type``. The body a type's own endpoint takes is exactly the
``data`` of a sync item of that type. Validation produces *canonical data*: plain JSON values
(Decimals as strings, dates as ISO strings), which is also what the outbox stores, so a queued
write is rebuilt from the same data when it is delivered.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from phb.api import serializers
from tracking.dynamo import keys
from tracking.fields import (
    ChoiceOrScaleField,
    ClockTimeField,
    EpochMsField,
    LocalDateField,
    RoundedDecimalField,
    TokenListField,
    WholeNumberField,
    iso_from_ms,
    local_today,
    plain,
)

# --- Value sets ------------------------------------------------------------------------------
# W19 words (contract §5.1, DailyHealthLog.tsx) plus the TypeScript enums' own words.
MOODS = {"terrible", "very_poor", "poor", "bad", "low", "sad", "neutral", "okay", "ok", "fair", "good", "happy",
         "great", "excellent", "very_good", "anxious", "irritable", "calm"}
LEVELS = {"none", "very_low", "low", "normal", "moderate", "medium", "high", "very_high"}
SLEEP_QUALITY = {"very_poor", "poor", "fair", "good", "very_good", "excellent"}
FLOW = {"none", "spotting", "light", "medium", "moderate", "heavy", "very_heavy"}
SEVERITY = {"none", "mild", "moderate", "severe", "very_severe"}
ANXIETY = {"none", "mild", "low", "moderate", "high", "severe"}
INTENSITY = {"light", "low", "moderate", "vigorous", "high", "intense"}
CYCLE_MUCUS = {"dry", "sticky", "creamy", "watery", "egg-white", "unknown"}
FERTILITY_MUCUS = {"none", "dry", "sticky", "creamy", "watery", "egg_white", "unknown"}
TEST_RESULTS = {"positive", "negative", "faint", "faint_positive", "peak", "high", "low", "invalid", "not_taken"}


def _canonical(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    return value


def _day_ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


def version_of(item: dict[str, Any] | None) -> int:
    """The version of an entry kept per date or week: 0 when there is none, 1 for one written
    before versions were kept (every write raises it: :func:`next_version`)."""
    return 0 if item is None else int(item.get("version", 1))


def next_version(item: dict[str, Any] | None, *, clock_ms: int) -> int:
    """The version a write gives an entry stored now as ``item`` (None: no entry, or a deleted
    one): above its current version and at least ``clock_ms``, the write's time in milliseconds.
    A deleted entry leaves nothing behind, so the clock is what keeps a date's or week's new
    entry above every version its deleted one had: a device still holding one of those meets a
    conflict rather than overwriting the new entry (docs/tracking.md, "Versions and conflicts")."""
    return max(version_of(item) + 1, clock_ms)


def _to_dynamo(value: Any, *, decimal_fields: frozenset[str], name: str) -> Any:
    if value is None:
        return None
    if name in decimal_fields:
        return Decimal(str(value))
    return value


@cache
def _field_names(serializer_class: type[serializers.Serializer]) -> tuple[str, ...]:
    return tuple(serializer_class().fields)


@dataclass(frozen=True)
class Kind(ABC):
    """One entry type. Subclasses give the serializer, the key and the item."""

    name: str
    prefix: str
    data_type: str
    serializer: type[serializers.Serializer]
    insert: bool = False  # a new entity per write (ULID) rather than an upsert on a natural key

    # Validation ---------------------------------------------------------------------------------
    def validate(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise serializers.ValidationError({"data": ["Expected an object."]})
        serializer = self.serializer(data=body)
        serializer.is_valid(raise_exception=True)
        return _canonical(dict(serializer.validated_data))

    # Keys ---------------------------------------------------------------------------------------
    @abstractmethod
    def new_entity_id(self, data: dict[str, Any]) -> str:
        """The entity id a write of ``data`` goes to."""

    def sk(self, entity_id: str) -> str:
        return f"{self.prefix}{entity_id}"

    def entity_id_of(self, sk: str) -> str:
        return sk[len(self.prefix):]

    # Items --------------------------------------------------------------------------------------
    def action(self, *, table: str, pk: str, entity_id: str, data: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """The conditional put that inserts a new entity (insert kinds only)."""
        raise TypeError(f"{self.name} entries are upserted per natural key, not inserted")

    @abstractmethod
    def payload(self, item: dict[str, Any]) -> dict[str, Any]:
        """The stored item shaped like the frontend's record."""


# --- Kick sessions -----------------------------------------------------------------------------
class KickSessionInput(serializers.Serializer):
    date = EpochMsField(help_text="Session start: ISO-8601 or epoch ms")
    kicks = WholeNumberField(min_value=0, max_value=1000)
    duration = WholeNumberField(min_value=0, max_value=86_400, help_text="Seconds")


class KickSessions(Kind):
    def new_entity_id(self, data: dict[str, Any]) -> str:
        return keys.ulid(data["date"])

    def action(self, *, table: str, pk: str, entity_id: str, data: dict[str, Any], now_ms: int) -> dict[str, Any]:
        item = {
            "pk": pk,
            "sk": self.sk(entity_id),
            "data_type": self.data_type,
            "ts": int(data["date"]),
            "kicks": int(data["kicks"]),
            "duration": int(data["duration"]),
            "completed": int(data["kicks"]) >= 10,
            "created_at": now_ms,
        }
        return {"Put": {"TableName": table, "Item": item}}

    def payload(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.entity_id_of(item["sk"]),
            "date": iso_from_ms(item["ts"]),
            "kicks": plain(item["kicks"]),
            "duration": plain(item["duration"]),
            "completed": bool(item.get("completed", plain(item["kicks"]) >= 10)),
        }


# --- Contractions ------------------------------------------------------------------------------
MAX_CONTRACTION_SECONDS = 1800


class ContractionInput(serializers.Serializer):
    startTime = EpochMsField()  # noqa: N815 - the frontend's key
    endTime = EpochMsField(required=False, allow_null=True)  # noqa: N815

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("endTime")
        if end is not None:
            if end < attrs["startTime"]:
                raise serializers.ValidationError({"endTime": ["endTime must not be before startTime."]})
            if end - attrs["startTime"] > MAX_CONTRACTION_SECONDS * 1000:
                raise serializers.ValidationError({"endTime": ["A contraction longer than 30 minutes is not plausible."]})
        return attrs


class Contractions(Kind):
    def new_entity_id(self, data: dict[str, Any]) -> str:
        return keys.ulid(data["startTime"])

    @staticmethod
    def duration_of(data: dict[str, Any]) -> int | None:
        end = data.get("endTime")
        return None if end is None else round((int(end) - int(data["startTime"])) / 1000)

    def action(self, *, table: str, pk: str, entity_id: str, data: dict[str, Any], now_ms: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": pk,
            "sk": self.sk(entity_id),
            "data_type": self.data_type,
            "ts": int(data["startTime"]),
            "created_at": now_ms,
        }
        if data.get("endTime") is not None:
            item["end_ms"] = int(data["endTime"])
            item["duration"] = self.duration_of(data)
        return {"Put": {"TableName": table, "Item": item}}

    def payload(self, item: dict[str, Any], *, interval: int | None = None) -> dict[str, Any]:
        return {
            "id": self.entity_id_of(item["sk"]),
            "startTime": plain(item["ts"]),
            "endTime": plain(item.get("end_ms")),
            "duration": plain(item.get("duration")),
            "interval": interval,
        }


def contraction_intervals(items_oldest_first: list[dict[str, Any]]) -> list[int | None]:
    """Start-to-start seconds from the previous contraction (None for the first)."""
    out: list[int | None] = []
    previous: int | None = None
    for item in items_oldest_first:
        start = int(item["ts"])
        out.append(None if previous is None else round((start - previous) / 1000))
        previous = start
    return out


def contraction_alert(payloads_oldest_first: list[dict[str, Any]]) -> bool:
    """The frontend's alert: the last three each under 5 minutes apart and over 60 s long."""
    last = payloads_oldest_first[-3:]
    if len(last) < 3:
        return False
    return all(
        p["interval"] is not None and p["interval"] < 300 and p["duration"] is not None and p["duration"] > 60
        for p in last
    )


# --- Upserts on a natural key ------------------------------------------------------------------
class _UpsertKind(Kind):
    """Items keyed by a date or week: the body replaces the item, or with ``merge`` only the
    attributes it names change (fertility: the calendar marks ovulation on a day's entry)."""

    merge: bool = False
    decimal_fields: frozenset[str] = frozenset()
    key_field: str = "date"

    def new_entity_id(self, data: dict[str, Any]) -> str:
        return str(data[self.key_field])

    def fields(self) -> list[str]:
        return [name for name in _field_names(self.serializer) if name != self.key_field]

    def ts_of(self, entity_id: str) -> int:
        return _day_ms(entity_id)

    def changes(self, *, entity_id: str, data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """Attributes to SET and to REMOVE: a full replace, or a merge of what the body names."""
        set_values: dict[str, Any] = {"data_type": self.data_type, "ts": self.ts_of(entity_id)}
        remove: list[str] = []
        for name in self.fields():
            value = _to_dynamo(data.get(name), decimal_fields=self.decimal_fields, name=name)
            if name in data and value is not None:
                set_values[name] = value
            elif not self.merge or (name in data and value is None):
                remove.append(name)
        return set_values, remove

    def after(self, *, before: dict[str, Any] | None, pk: str, entity_id: str, data: dict[str, Any],
              now_ms: int) -> dict[str, Any]:
        """The item after this body is applied to ``before`` (None: no item yet)."""
        set_values, remove = self.changes(entity_id=entity_id, data=data)
        item = dict(before or {"pk": pk, "sk": self.sk(entity_id), "created_at": now_ms})
        item.update(set_values)
        item["updated_at"] = now_ms
        for name in remove:
            item.pop(name, None)
        return item

    def payload(self, item: dict[str, Any]) -> dict[str, Any]:
        entity_id = self.entity_id_of(item["sk"])
        out: dict[str, Any] = {"id": entity_id, self.key_field: entity_id}
        for name in self.fields():
            out[name] = plain(item.get(name))
        out["created_at"] = iso_from_ms(item["created_at"]) if item.get("created_at") is not None else None
        out["updated_at"] = iso_from_ms(item["updated_at"]) if item.get("updated_at") is not None else None
        out["version"] = version_of(item)
        return out


class CycleDayInput(serializers.Serializer):
    date = LocalDateField()
    periodDay = serializers.BooleanField(default=False)  # noqa: N815
    cervicalMucus = serializers.CharField(default="unknown", max_length=20)  # noqa: N815
    temperature = RoundedDecimalField(places=2, min_value=34, max_value=43, required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    def validate_cervicalMucus(self, value: str) -> str:  # noqa: N802
        token = value.strip().lower().replace("_", "-") or "unknown"
        if token not in CYCLE_MUCUS:
            raise serializers.ValidationError(f"Use one of: {', '.join(sorted(CYCLE_MUCUS))}.")
        return token


class CycleDays(_UpsertKind):
    decimal_fields = frozenset({"temperature"})
    # What :meth:`payload` reads: the days are fetched with this projection and nothing else.
    payload_attributes = ("sk", "periodDay", "cervicalMucus", "temperature", "notes", "version")

    def payload(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "date": self.entity_id_of(item["sk"]),
            "periodDay": bool(item.get("periodDay", False)),
            "cervicalMucus": item.get("cervicalMucus", "unknown"),
            "temperature": plain(item.get("temperature")),
            "notes": item.get("notes", ""),
            "version": version_of(item),
        }


class DailyLogInput(serializers.Serializer):
    date = LocalDateField()
    symptoms = TokenListField()
    mood = ChoiceOrScaleField(choices=MOODS, scale=(1, 10), required=False, allow_null=True)
    energy_level = ChoiceOrScaleField(choices=LEVELS, scale=(1, 10), required=False, allow_null=True)
    sleep_duration_hours = RoundedDecimalField(places=2, min_value=0, max_value=24, required=False, allow_null=True)
    sleep_quality = ChoiceOrScaleField(choices=SLEEP_QUALITY, scale=(1, 10), required=False, allow_null=True)
    sleep_bedtime = ClockTimeField(required=False, allow_null=True)
    sleep_wake_time = ClockTimeField(required=False, allow_null=True)
    exercise_performed = serializers.BooleanField(required=False, allow_null=True)
    exercise_duration_minutes = WholeNumberField(min_value=0, max_value=1440, required=False, allow_null=True)
    exercise_intensity = ChoiceOrScaleField(choices=INTENSITY, scale=(1, 10), required=False, allow_null=True)
    water_intake_liters = RoundedDecimalField(places=2, min_value=0, max_value=20, required=False, allow_null=True)
    water_goal_met = serializers.BooleanField(required=False, allow_null=True)
    menstrual_flow = ChoiceOrScaleField(choices=FLOW, required=False, allow_null=True)
    menstrual_cramps = serializers.BooleanField(required=False, allow_null=True)
    cramp_severity = ChoiceOrScaleField(choices=SEVERITY, scale=(0, 10), required=False, allow_null=True)
    breast_tenderness = serializers.BooleanField(required=False, allow_null=True)
    stress_level = ChoiceOrScaleField(choices=LEVELS, scale=(1, 10), required=False, allow_null=True)
    anxiety_level = ChoiceOrScaleField(choices=ANXIETY, scale=(0, 10), required=False, allow_null=True)
    caffeine_intake_mg = WholeNumberField(min_value=0, max_value=5000, required=False, allow_null=True)
    headache = serializers.BooleanField(required=False, allow_null=True)
    nausea = serializers.BooleanField(required=False, allow_null=True)
    fatigue = serializers.BooleanField(required=False, allow_null=True)
    weight_kg = RoundedDecimalField(places=1, min_value=20, max_value=300, required=False, allow_null=True)
    basal_body_temperature = RoundedDecimalField(places=2, min_value=34, max_value=43, required=False, allow_null=True)
    daily_notes = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=2000)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and "caffeine_intake_mg" not in data and "caffeine_intake" in data:
            data = {**data, "caffeine_intake_mg": data["caffeine_intake"]}
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        water = attrs.get("water_intake_liters")
        if attrs.get("water_goal_met") is None and water is not None:
            attrs["water_goal_met"] = water >= 2
        return attrs


class DailyLogs(_UpsertKind):
    decimal_fields = frozenset({"sleep_duration_hours", "water_intake_liters", "weight_kg", "basal_body_temperature"})


# A fertility entry for a day still to come is a prediction (the calendar marks an expected
# ovulation day); it may say only that, and reads back with ``is_prediction: true``.
FERTILITY_PREDICTION_DAYS = 366
FERTILITY_PREDICTION_FIELDS = frozenset({"date", "cycle_day", "ovulation_test_taken", "ovulation_test_result", "notes"})


class FertilityInput(serializers.Serializer):
    date = LocalDateField(allow_future_days=FERTILITY_PREDICTION_DAYS)
    is_prediction = serializers.BooleanField(read_only=True)
    cycle_day = WholeNumberField(min_value=1, max_value=90, required=False, allow_null=True)
    basal_body_temperature = RoundedDecimalField(places=2, min_value=34, max_value=43, required=False, allow_null=True)
    temperature_time = ClockTimeField(required=False, allow_null=True)
    cervical_mucus = ChoiceOrScaleField(choices=FERTILITY_MUCUS | {"egg-white"}, required=False, allow_null=True)
    cervical_position = ChoiceOrScaleField(choices={"low", "medium", "high"}, required=False, allow_null=True)
    cervical_firmness = ChoiceOrScaleField(choices={"firm", "medium", "soft"}, required=False, allow_null=True)
    ovulation_test_taken = serializers.BooleanField(required=False, allow_null=True)
    ovulation_test_result = ChoiceOrScaleField(choices=TEST_RESULTS, required=False, allow_null=True)
    pregnancy_test_taken = serializers.BooleanField(required=False, allow_null=True)
    pregnancy_test_result = ChoiceOrScaleField(choices=TEST_RESULTS, required=False, allow_null=True)
    sexual_activity = serializers.BooleanField(required=False, allow_null=True)
    contraception_used = serializers.BooleanField(required=False, allow_null=True)
    ovulation_pain = serializers.BooleanField(required=False, allow_null=True)
    breast_tenderness = serializers.BooleanField(required=False, allow_null=True)
    libido_level = ChoiceOrScaleField(choices=LEVELS, scale=(1, 10), required=False, allow_null=True)
    fertility_symptoms = TokenListField()
    notes = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=2000)

    def validate_cervical_mucus(self, value: Any) -> Any:
        return "egg_white" if value == "egg-white" else value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["is_prediction"] = attrs["date"] > local_today()
        if attrs["is_prediction"]:
            observed = sorted(name for name, value in attrs.items()
                              if name not in FERTILITY_PREDICTION_FIELDS | {"is_prediction"} and value not in (None, [], ""))
            if observed:
                raise serializers.ValidationError({name: [
                    "This day has not come yet: a future day takes only an expected ovulation "
                    "(ovulation_test_taken, ovulation_test_result), cycle_day and notes."] for name in observed})
        return attrs


class Fertility(_UpsertKind):
    merge = True
    decimal_fields = frozenset({"basal_body_temperature"})

    def payload(self, item: dict[str, Any]) -> dict[str, Any]:
        out = super().payload(item)
        out["is_prediction"] = bool(item.get("is_prediction"))
        return out


class PregnancyWeekInput(serializers.Serializer):
    pregnancy_week = WholeNumberField(min_value=1, max_value=42)
    current_weight_kg = RoundedDecimalField(places=1, min_value=20, max_value=300, required=False, allow_null=True)
    belly_circumference_cm = RoundedDecimalField(places=1, min_value=20, max_value=250, required=False, allow_null=True)
    baby_kicks_count = WholeNumberField(min_value=0, max_value=10_000, required=False, allow_null=True)
    symptoms_experienced = TokenListField()
    mood_rating = WholeNumberField(min_value=1, max_value=10, default=5)
    prenatal_vitamins_taken = serializers.BooleanField(required=False, allow_null=True)
    exercise_minutes = WholeNumberField(min_value=0, max_value=1440, required=False, allow_null=True)
    exercise_performed = serializers.BooleanField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=2000)
    data_completeness_score = WholeNumberField(min_value=0, max_value=100, required=False, allow_null=True)

    # The tracker's form starts these at 0 and sends 0 when left alone: not measured.
    UNMEASURED_ZERO = ("current_weight_kg", "belly_circumference_cm")

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, **{name: None for name in self.UNMEASURED_ZERO
                               if data.get(name) is not None and not isinstance(data.get(name), bool)
                               and str(data.get(name)).strip() in ("0", "0.0", "0.00")}}
        return super().to_internal_value(data)


class PregnancyWeeks(_UpsertKind):
    key_field = "pregnancy_week"
    decimal_fields = frozenset({"current_weight_kg", "belly_circumference_cm"})

    def new_entity_id(self, data: dict[str, Any]) -> str:
        return f"{int(data['pregnancy_week']):02d}"

    def ts_of(self, entity_id: str) -> int:
        return int(entity_id)

    def payload(self, item: dict[str, Any]) -> dict[str, Any]:
        out = super().payload(item)
        out["pregnancy_week"] = int(self.entity_id_of(item["sk"]))
        out["id"] = out["pregnancy_week"]
        return out


# --- Search history (its own table) ------------------------------------------------------------
_SPACES = re.compile(r"\s+")


def normalise_term(term: str) -> str:
    """The key under which case-insensitive duplicates collapse."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", term)).strip().casefold()


class SearchInput(serializers.Serializer):
    term = serializers.CharField(max_length=200, allow_blank=True, trim_whitespace=True)
    timestamp = EpochMsField(required=False)

    def validate_term(self, value: str) -> str:
        return _SPACES.sub(" ", value).strip()


class Searches(Kind):
    def new_entity_id(self, data: dict[str, Any]) -> str:
        return hashlib.sha256(normalise_term(data["term"]).encode()).hexdigest()

    def action(self, *, table: str, pk: str, entity_id: str, data: dict[str, Any], now_ms: int) -> dict[str, Any]:
        ts = int(data.get("timestamp") or now_ms)
        term_norm = normalise_term(data["term"])
        item = {
            "pk": pk,
            "sk": keys.term_key(term_norm),
            "term": data["term"],
            "term_norm": term_norm,
            "ts": ts,
            "term_day": datetime.fromtimestamp(ts / 1000, tz=UTC).date().isoformat(),
        }
        return {"Put": {"TableName": table, "Item": item}}

    def payload(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"term": item["term"], "timestamp": plain(item["ts"])}


KICK_SESSIONS = KickSessions("kick_session", keys.KICK, "KICK_SESSION", KickSessionInput, insert=True)
CONTRACTIONS = Contractions("contraction", keys.CONTRACTION, "CONTRACTION", ContractionInput, insert=True)
CYCLE_DAYS = CycleDays("cycle_day", keys.CYCLE_DAY, "CYCLE_DAY", CycleDayInput)
DAILY_LOGS = DailyLogs("daily_log", keys.DAILY_LOG, "DAILY_LOG", DailyLogInput)
FERTILITY = Fertility("fertility", keys.FERTILITY, "FERTILITY", FertilityInput)
PREGNANCY_WEEKS = PregnancyWeeks("pregnancy_week", keys.PREGNANCY_WEEK, "PREGNANCY_WEEK", PregnancyWeekInput)
SEARCHES = Searches("search", keys.TERM, "SEARCH", SearchInput)

KINDS: dict[str, Kind] = {k.name: k for k in (KICK_SESSIONS, CONTRACTIONS, CYCLE_DAYS, DAILY_LOGS, FERTILITY,
                                              PREGNANCY_WEEKS, SEARCHES)}
# Entries kept one per date or week (upserts, not new entries nor searches): they carry ``version``.
VERSIONED = frozenset(k.name for k in KINDS.values() if not k.insert and k is not SEARCHES)
VERSIONED_PREFIXES = tuple(KINDS[name].prefix for name in sorted(VERSIONED))
