"""Explicit prescribing rules: request limits, controlled drugs and the triage categories.

Everything here is a pure function of its arguments, so a test can read each rule.

Controlled drugs are matched exactly as the frontend matches them (case-insensitive substrings,
``prescriptionsService.ts``). Triage flags, with their weights:

- ``controlled_drug`` (40): a controlled drug is on the request;
- ``allergy`` (50): a medication matches one of the patient's recorded allergies (by name, or by
  class: a penicillin allergy flags amoxicillin);
- ``interaction`` (35): a medication interacts with one the patient already takes, or with another
  of the same request (the table below);
- ``dose_out_of_range`` (25): a strength above the usual single-dose maximum (the table below);
- ``early_repeat`` (15): a repeat of a medication issued less than ``EARLY_REPEAT_DAYS`` ago.

Category, first match wins: ``CONTROLLED_SUBSTANCE``; ``HIGH_RISK`` (allergy or interaction);
``COMPLEX_CASE`` (dose out of range, early repeat, or a dosage change); otherwise
``URGENT_``/``ROUTINE_`` + ``REPEAT``/``NEW``. Score: the weights of the flags, plus 10 when urgent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_MEDICATIONS = 10
MAX_CONTROLLED = 2
EARLY_REPEAT_DAYS = 21
# Controlled drugs (UK Schedules 2-4): a prescription is valid 28 days and carries no repeats.
CONTROLLED_VALID_DAYS = 28

CONTROLLED_PATTERNS = (
    "opioid", "morphine", "codeine", "tramadol", "oxycodone", "fentanyl", "hydrocodone", "amphetamine",
    "methylphenidate", "diazepam", "lorazepam", "alprazolam", "clonazepam", "zolpidem", "temazepam",
)

# Drug classes, for allergies recorded by class.
CLASSES: dict[str, tuple[str, ...]] = {
    "penicillin": ("penicillin", "amoxicillin", "ampicillin", "flucloxacillin", "co-amoxiclav", "piperacillin"),
    "sulfonamide": ("sulfamethoxazole", "co-trimoxazole", "sulfasalazine"),
    "nsaid": ("ibuprofen", "naproxen", "diclofenac", "aspirin", "celecoxib"),
    "cephalosporin": ("cefalexin", "ceftriaxone", "cefuroxime"),
    "opioid": ("morphine", "codeine", "tramadol", "oxycodone", "fentanyl", "hydrocodone"),
}

# Pairs that interact significantly (either order).
INTERACTIONS: tuple[tuple[str, str, str], ...] = (
    ("warfarin", "aspirin", "bleeding risk"),
    ("warfarin", "ibuprofen", "bleeding risk"),
    ("warfarin", "naproxen", "bleeding risk"),
    ("warfarin", "clarithromycin", "raised INR"),
    ("simvastatin", "clarithromycin", "myopathy"),
    ("simvastatin", "amlodipine", "myopathy at high statin doses"),
    ("lisinopril", "spironolactone", "hyperkalaemia"),
    ("methotrexate", "trimethoprim", "bone-marrow toxicity"),
    ("sildenafil", "isosorbide", "severe hypotension"),
    ("sildenafil", "nitroglycerin", "severe hypotension"),
    ("tramadol", "sertraline", "serotonin syndrome"),
    ("tramadol", "fluoxetine", "serotonin syndrome"),
    ("clopidogrel", "omeprazole", "reduced antiplatelet effect"),
    ("metformin", "contrast", "lactic acidosis"),
)

# Usual maximum single-dose strength, in mg.
MAX_SINGLE_DOSE_MG: dict[str, float] = {
    "paracetamol": 1000, "ibuprofen": 800, "amoxicillin": 1000, "metformin": 1000, "atorvastatin": 80,
    "simvastatin": 80, "amlodipine": 10, "lisinopril": 40, "omeprazole": 40, "sertraline": 200,
    "codeine": 60, "tramadol": 100, "morphine": 60, "diazepam": 10, "warfarin": 10, "aspirin": 300,
    "prednisolone": 60, "levothyroxine": 0.3, "ciprofloxacin": 750, "azithromycin": 500,
}

WEIGHTS = {"allergy": 50, "controlled_drug": 40, "interaction": 35, "dose_out_of_range": 25, "early_repeat": 15}
URGENT_WEIGHT = 10

_STRENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mcg|µg|ug|mg|g)\b", re.IGNORECASE)


def is_controlled(name: str) -> bool:
    lowered = (name or "").lower()
    return any(pattern in lowered for pattern in CONTROLLED_PATTERNS)


def controlled_count(names: Iterable[str]) -> int:
    return sum(1 for name in names if is_controlled(name))


def strength_mg(strength: str) -> float | None:
    """``"500mg"`` → 500.0, ``"1 g"`` → 1000.0, ``"50mcg"`` → 0.05; None when not a mass."""
    match = _STRENGTH.match(strength or "")
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2).lower()
    return value * {"g": 1000.0, "mg": 1.0}.get(unit, 0.001)


def _drug_key(name: str, table: Iterable[str]) -> str | None:
    lowered = (name or "").lower()
    return next((key for key in table if key in lowered), None)


def _classes_of(name: str) -> set[str]:
    lowered = (name or "").lower()
    return {cls for cls, members in CLASSES.items() if any(member in lowered for member in members)}


@dataclass
class Flag:
    code: str
    medication: str
    reason: str


@dataclass
class Triage:
    category: str
    score: int
    flags: list[Flag] = field(default_factory=list)

    @property
    def reason(self) -> str:
        if not self.flags:
            return "No clinical flags: routine processing."
        return "; ".join(f.reason for f in self.flags)

    def flags_json(self) -> list[dict]:
        return [{"code": f.code, "medication": f.medication, "reason": f.reason} for f in self.flags]


def allergy_flag(name: str, allergies: Iterable[str]) -> Flag | None:
    lowered = (name or "").lower()
    classes = _classes_of(name)
    for allergy in allergies:
        term = (allergy or "").strip().lower()
        if not term:
            continue
        first_word = lowered.split(" ")[0] if lowered else ""
        if term in lowered or (len(first_word) >= 4 and first_word in term) or term in classes \
                or _classes_of(term) & classes:
            return Flag("allergy", name, f"{name}: recorded allergy ({allergy})")
    return None


def interaction_flag(name: str, current: Iterable[str]) -> Flag | None:
    lowered = (name or "").lower()
    for other in current:
        other_lower = (other or "").lower()
        for a, b, effect in INTERACTIONS:
            if (a in lowered and b in other_lower) or (b in lowered and a in other_lower):
                return Flag("interaction", name, f"{name} with {other}: {effect}")
    return None


def dose_flag(name: str, strength: str) -> Flag | None:
    key = _drug_key(name, MAX_SINGLE_DOSE_MG)
    mg = strength_mg(strength)
    if key is None or mg is None:
        return None
    if mg > MAX_SINGLE_DOSE_MG[key]:
        return Flag("dose_out_of_range", name, f"{name} {strength}: above the usual maximum of "
                                               f"{MAX_SINGLE_DOSE_MG[key]:g} mg per dose")
    return None


def early_repeat_flag(name: str, *, is_repeat: bool, last_issued: dict[str, datetime], now: datetime) -> Flag | None:
    if not is_repeat:
        return None
    issued = last_issued.get((name or "").strip().lower())
    if issued is not None and now - issued < timedelta(days=EARLY_REPEAT_DAYS):
        days = (now - issued).days
        return Flag("early_repeat", name, f"{name}: last issued {days} days ago (repeats after {EARLY_REPEAT_DAYS})")
    return None


def triage(*, medications: list[dict], request_type: str, urgency: str, allergies: Iterable[str],
           current_medications: Iterable[str], last_issued: dict[str, datetime], now: datetime) -> Triage:
    """The triage of one request. ``medications`` items have ``medication_name``, ``strength``,
    ``is_repeat``; ``last_issued`` maps a lower-cased medication name to when it was last issued."""
    allergies, current = list(allergies), list(current_medications)
    flags: list[Flag] = []
    for index, item in enumerate(medications):
        name = item.get("medication_name", "")
        if is_controlled(name):
            flags.append(Flag("controlled_drug", name, f"{name}: controlled drug"))
        # the patient's current medicines, and those before it on this request (each pair flagged once)
        earlier = [str(other.get("medication_name", "")) for other in medications[:index]]
        for flag in (allergy_flag(name, allergies), interaction_flag(name, current + earlier),
                     dose_flag(name, item.get("strength", "")),
                     early_repeat_flag(name, is_repeat=bool(item.get("is_repeat")) or request_type == "repeat",
                                       last_issued=last_issued, now=now)):
            if flag is not None:
                flags.append(flag)
    codes = {f.code for f in flags}
    if "controlled_drug" in codes:
        category = "CONTROLLED_SUBSTANCE"
    elif codes & {"allergy", "interaction"}:
        category = "HIGH_RISK"
    elif codes & {"dose_out_of_range", "early_repeat"} or request_type == "dosage_change":
        category = "COMPLEX_CASE"
    else:
        category = f"{'URGENT' if urgency == 'urgent' else 'ROUTINE'}_{'REPEAT' if request_type == 'repeat' else 'NEW'}"
    score = sum(WEIGHTS[f.code] for f in flags) + (URGENT_WEIGHT if urgency == "urgent" else 0)
    return Triage(category=category, score=min(score, 999), flags=flags)
