"""Planning documents from localStorage: the birth plan, baby-name favourites, the shower checklist."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from drf_spectacular.utils import extend_schema_field

from phb.api import serializers
from phb.api.fields import TextOrIntegerField

# The birth plan creator's sections, in its order, with its titles (BirthPlanCreator.tsx). A plan
# may hold any of them, each at most once; one it leaves out reads back empty.
SECTION_TITLES = {
    "atmosphere": "Labor & Delivery Atmosphere",
    "support": "Labor Support",
    "pain-management": "Pain Management Preferences",
    "labor-interventions": "Labor Interventions",
    "delivery": "Delivery Preferences",
    "c-section": "In Case of C-Section",
    "newborn-care": "Newborn Care",
    "feeding": "Feeding Plans",
}
SECTION_IDS = tuple(SECTION_TITLES)
_DATE_PREFIX = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class OptionInput(serializers.Serializer):
    id = TextOrIntegerField(max_length=64)
    text = serializers.CharField(max_length=300, allow_blank=True)
    selected = serializers.BooleanField(default=False)
    customOption = serializers.BooleanField(required=False)  # noqa: N815


@extend_schema_field({"type": "string", "enum": list(SECTION_IDS)})
class SectionIdField(serializers.CharField):
    """A section id; unknown ones are refused over the whole list (validate_sections), in one message."""


@extend_schema_field({"type": "string", "maxLength": 32, "pattern": "^$|^[0-9]{4}-[0-9]{2}-[0-9]{2}",
                      "description": "YYYY-MM-DD (anything after the date is kept as sent), or blank"})
class DueDateTextField(serializers.CharField):
    """The plan's due date as the creator's date input gives it; checked in validate_dueDate."""


class SectionInput(serializers.Serializer):
    id = SectionIdField(max_length=64)
    title = serializers.CharField(max_length=120)
    options = OptionInput(many=True, max_length=60)
    allowCustom = serializers.BooleanField(required=False)  # noqa: N815
    customText = serializers.CharField(required=False, allow_blank=True, max_length=2000)  # noqa: N815


class BirthPlanInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True, default="")
    dueDate = DueDateTextField(max_length=32, allow_blank=True, default="")  # noqa: N815
    careProvider = serializers.CharField(max_length=200, allow_blank=True, default="")  # noqa: N815
    birthPlace = serializers.CharField(max_length=200, allow_blank=True, default="")  # noqa: N815
    sections = SectionInput(many=True, allow_empty=True, max_length=len(SECTION_IDS) * 2)
    additionalNotes = serializers.CharField(max_length=5000, allow_blank=True, default="")  # noqa: N815

    def validate_dueDate(self, value: str) -> str:  # noqa: N802
        if value:
            try:
                if not _DATE_PREFIX.match(value):
                    raise ValueError(value)
                date.fromisoformat(value[:10])
            except ValueError as exc:
                raise serializers.ValidationError("Enter the due date as YYYY-MM-DD.") from exc
        return value

    def validate_sections(self, sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [s["id"] for s in sections]
        unknown = list(dict.fromkeys(i for i in ids if i not in SECTION_TITLES))
        repeated = list(dict.fromkeys(i for i in ids if i in SECTION_TITLES and ids.count(i) > 1))
        problems = []
        if unknown:
            problems.append(f"unknown section(s): {', '.join(unknown)}")
        if repeated:
            problems.append(f"section(s) given more than once: {', '.join(repeated)}")
        if problems:
            raise serializers.ValidationError(
                f"{'; '.join(problems).capitalize()}. A birth plan takes any of these sections, each at most once: "
                f"{', '.join(SECTION_IDS)}."
            )
        for section in sections:
            option_ids = [o["id"] for o in section["options"]]
            if len(option_ids) != len(set(option_ids)):
                raise serializers.ValidationError(f"Section {section['id']} repeats an option id.")
        return sections


def empty_section(section_id: str) -> dict[str, Any]:
    return {"id": section_id, "title": SECTION_TITLES[section_id], "options": [], "customText": ""}


def birth_plan_document(document: dict[str, Any]) -> dict[str, Any]:
    """A stored plan as read back: every known section in the creator's order, the ones the
    plan left out empty."""
    given = {s.get("id"): s for s in document.get("sections") or [] if isinstance(s, dict)}
    return {**document, "sections": [given.get(sid) or empty_section(sid) for sid in SECTION_IDS]}


def birth_plan_clean(body: Any) -> dict[str, Any]:
    serializer = BirthPlanInput(data=body)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    return {
        "name": data["name"],
        "dueDate": data["dueDate"],
        "careProvider": data["careProvider"],
        "birthPlace": data["birthPlace"],
        "sections": [
            {k: v for k, v in {
                "id": s["id"],
                "title": s["title"],
                "options": [dict(o) for o in s["options"]],
                "allowCustom": s.get("allowCustom"),
                "customText": s.get("customText"),
            }.items() if v is not None}
            for s in data["sections"]
        ],
        "additionalNotes": data["additionalNotes"],
    }


# --- Baby-name favourites and the baby-shower checklist (the other planning lists) ------------
CHECKLIST_CATEGORIES = ("planning", "invitations", "decorations", "food", "games", "gifts")


class FavoritesInput(serializers.Serializer):
    favorites = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=10**6), max_length=1000)

    def validate_favorites(self, value: list[int]) -> list[int]:
        return list(dict.fromkeys(value))


class ChecklistItemInput(serializers.Serializer):
    id = TextOrIntegerField(max_length=64)
    text = serializers.CharField(max_length=200)
    completed = serializers.BooleanField(default=False)
    category = serializers.ChoiceField(choices=CHECKLIST_CATEGORIES)


class ChecklistInput(serializers.Serializer):
    checklist = ChecklistItemInput(many=True, max_length=300, help_text="The whole checklist; each item's `id` unique in it.")

    def validate_checklist(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [i["id"] for i in items]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("Each checklist item needs its own id.")
        return [dict(i) for i in items]
