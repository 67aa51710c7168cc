"""Planning documents from localStorage: the birth plan, baby-name favourites, the shower checklist."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

SECTION_IDS = (
    "atmosphere",
    "support",
    "pain-management",
    "labor-interventions",
    "delivery",
    "c-section",
    "newborn-care",
    "feeding",
)


class OptionInput(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    text = serializers.CharField(max_length=300, allow_blank=True)
    selected = serializers.BooleanField(default=False)
    customOption = serializers.BooleanField(required=False)  # noqa: N815

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("id"), int) and not isinstance(data.get("id"), bool):
            data = {**data, "id": str(data["id"])}
        return super().to_internal_value(data)


class SectionInput(serializers.Serializer):
    id = serializers.ChoiceField(choices=SECTION_IDS)
    title = serializers.CharField(max_length=120)
    options = OptionInput(many=True, max_length=60)
    allowCustom = serializers.BooleanField(required=False)  # noqa: N815
    customText = serializers.CharField(required=False, allow_blank=True, max_length=2000)  # noqa: N815


class BirthPlanInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, allow_blank=True, default="")
    dueDate = serializers.CharField(max_length=32, allow_blank=True, default="")  # noqa: N815
    careProvider = serializers.CharField(max_length=200, allow_blank=True, default="")  # noqa: N815
    birthPlace = serializers.CharField(max_length=200, allow_blank=True, default="")  # noqa: N815
    sections = SectionInput(many=True)
    additionalNotes = serializers.CharField(max_length=5000, allow_blank=True, default="")  # noqa: N815

    def validate_dueDate(self, value: str) -> str:  # noqa: N802
        if value:
            try:
                serializers.DateField().to_internal_value(value[:10])
            except serializers.ValidationError as exc:
                raise serializers.ValidationError("Enter the due date as YYYY-MM-DD.") from exc
        return value

    def validate_sections(self, sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [s["id"] for s in sections]
        if sorted(ids) != sorted(SECTION_IDS):
            raise serializers.ValidationError(
                f"A birth plan has exactly these 8 sections, each once: {', '.join(SECTION_IDS)}."
            )
        for section in sections:
            option_ids = [o["id"] for o in section["options"]]
            if len(option_ids) != len(set(option_ids)):
                raise serializers.ValidationError(f"Section {section['id']} repeats an option id.")
        return sections


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
    id = serializers.CharField(max_length=64)
    text = serializers.CharField(max_length=200)
    completed = serializers.BooleanField(default=False)
    category = serializers.ChoiceField(choices=CHECKLIST_CATEGORIES)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("id"), int) and not isinstance(data.get("id"), bool):
            data = {**data, "id": str(data["id"])}
        return super().to_internal_value(data)


class ChecklistInput(serializers.Serializer):
    checklist = ChecklistItemInput(many=True, max_length=300)

    def validate_checklist(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [i["id"] for i in items]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError("Each checklist item needs its own id.")
        return [dict(i) for i in items]
