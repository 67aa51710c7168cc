"""Guideline list items built from column values.

The list selects the columns its items need (``values()``, the organisation and people's names
joined; the caller's bookmarks of the page read beside it) and resolves the download URL's prefix once per request.
Timestamps are written in C (:func:`phb.api.timestamps.iso`) and user ids stay ``UUID`` objects,
which the JSON renderer writes as ``str()`` does. The items render byte-for-byte as
:func:`storage.serializers.guideline_payload` does for the same guideline
(``tests/storage/test_guideline_rows.py`` compares them).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.urls import reverse

from accounts.models import Role, User
from phb.api.timestamps import iso
from phb.zones import today_in, zone_named
from storage.models import shown_approval_status

COLUMNS = (
    "id", "guideline_id", "title", "description", "version", "organization_id", "organization__name",
    "organization__time_zone",
    "created_by_id", "created_by__full_name", "created_by__email", "category", "specialty", "keywords",
    "content_type", "text_content", "effective_date", "expiry_date", "is_active", "is_published",
    "approval_status", "approved_by_id", "approved_by__full_name", "approved_at", "published_at", "created_at",
    "updated_at", "access_count", "download_count", "target_roles", "priority", "file_key", "file_name",
    "file_size", "file_content_type", "file_version_id",
)
_MARK = "GUIDELINE-ID-MARK"


def guideline_rows(queryset: QuerySet) -> QuerySet:
    """``queryset`` (from ``storage.selectors.guideline_list``, annotated) as :data:`COLUMNS` rows."""
    return queryset.values(*COLUMNS)


class GuidelineItems:
    """Builds the items of one response: what is the same for every row is worked out once."""

    def __init__(self, *, viewer: User, request: Any = None, bookmarks: dict[int, str] | None = None) -> None:
        self._bookmarks = bookmarks or {}  # the viewer's notes by guideline id (``selectors.bookmark_notes``)
        path = reverse("guideline-download", kwargs={"guideline_id": _MARK})
        template = request.build_absolute_uri(path) if request is not None else path
        self._before, _, self._after = template.partition(_MARK)
        self._staff = viewer.role != Role.PATIENT
        self._today: dict[str | None, date] = {}  # by the hospital's zone: its day, on its clock

    def _today_at(self, zone_name: str | None) -> date:
        today = self._today.get(zone_name)
        if today is None:
            today = self._today[zone_name] = today_in(zone_named(zone_name))
        return today

    def item(self, row: dict[str, Any]) -> dict[str, Any]:
        today = self._today_at(row["organization__time_zone"])
        download_url = f"{self._before}{row['guideline_id']}{self._after}"
        expiry, effective_date = row["expiry_date"], row["effective_date"]
        expired = bool(expiry and expiry < today)
        effective = bool(effective_date and effective_date <= today) and not expired
        has_file = bool(row["file_key"] and row["file_version_id"])
        creator_id, approver_id = row["created_by_id"], row["approved_by_id"]
        return {
            "id": row["id"],
            "guideline_id": row["guideline_id"],
            "title": row["title"],
            "description": row["description"],
            "version": row["version"],
            "organization": row["organization_id"],
            "organization_name": row["organization__name"],
            "created_by": creator_id,
            "created_by_name": row["created_by__full_name"] if creator_id is not None else "",
            # Staff see a colleague's work address; patients do not.
            "created_by_email": row["created_by__email"] if creator_id is not None and self._staff else "",
            "category": row["category"],
            "specialty": row["specialty"],
            "keywords": list(row["keywords"] or []),
            "content_type": row["content_type"],
            "text_content": row["text_content"],
            "effective_date": iso(effective_date),
            "expiry_date": iso(expiry),
            "is_active": row["is_active"],
            "is_published": row["is_published"],
            "approval_status": shown_approval_status(row["approval_status"], is_published=row["is_published"]),
            "approved_by": approver_id,
            "approved_by_name": row["approved_by__full_name"] if approver_id else None,
            "approved_at": iso(row["approved_at"]),
            "published_at": iso(row["published_at"]),
            "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"]),
            "access_count": row["access_count"],
            "download_count": row["download_count"],
            "target_roles": list(row["target_roles"] or []),
            "priority": row["priority"],
            "file_path": row["file_name"] if has_file else None,
            "file_name": row["file_name"] if has_file else None,
            "file_size": row["file_size"] if has_file else None,
            "file_content_type": row["file_content_type"] if has_file else None,
            "file_url": download_url if has_file else None,
            "download_url": download_url,
            "is_expired": expired,
            "is_effective": effective,
            "is_accessible": row["is_active"] and row["is_published"] and effective,
            "is_bookmarked": row["id"] in self._bookmarks,
            "user_notes": self._bookmarks.get(row["id"]) or None,
        }
