"""Reads of the storage area, always scoped to the caller (``fetched_by``).

Guidelines: patients see published guidelines only; professionals also see what they wrote; a
hospital admin also sees everything of their hospital. Prescription documents: the patient and
the prescriber. Imaging: the patient, and clinicians holding a live consent for that patient.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import BooleanField, Count, ExpressionWrapper, F, FilteredRelation, Q, QuerySet, Subquery, Sum
from rest_framework.exceptions import NotFound

from accounts.models import Role, User
from hospitals.models import Hospital
from hospitals.selectors import admin_hospital_of, staff_of
from phb.db import PrecompiledValues
from storage.models import (
    PUBLISHED,
    ApprovalStatus,
    ClinicalGuideline,
    GuidelineAccess,
    GuidelineBookmark,
    GuidelineCategory,
    GuidelineFileVersion,
    ImagingStudy,
    StudyStatus,
)

MOST_ACCESSED = 5


# --- Guidelines -----------------------------------------------------------------------------
def _published() -> Q:
    return Q(is_published=True, approval_status=ApprovalStatus.APPROVED)


def guideline_home_hospital(*, user: User) -> Hospital | None:
    """The hospital a professional writes guidelines for (a verified staff place), or None."""
    if user.role not in (Role.DOCTOR, Role.HOSPITAL_ADMIN):
        return None
    staff = staff_of(user=user)
    if staff is None or not staff.verified:
        return None
    return staff.hospital


def guideline_scope(*, fetched_by: User) -> QuerySet[ClinicalGuideline]:
    """Every live guideline the caller may see."""
    visible = _published()
    if fetched_by.role != Role.PATIENT:
        visible |= Q(created_by=fetched_by)
        hospital = admin_hospital_of(user=fetched_by)
        if hospital is not None:
            visible |= Q(organization=hospital)
    return ClinicalGuideline.objects.filter(is_active=True).filter(visible)


def with_viewer_bookmark(qs: QuerySet[ClinicalGuideline], *, user: User) -> QuerySet[ClinicalGuideline]:
    """With the caller's bookmark joined (at most one: a user bookmarks a guideline once), as
    ``is_bookmarked`` and ``user_notes``: what one guideline's payload shows."""
    return qs.select_related("organization", "created_by", "approved_by").annotate(
        viewer_bookmark=FilteredRelation("bookmarks", condition=Q(bookmarks__user=user, bookmarks__is_active=True)),
    ).annotate(
        is_bookmarked=ExpressionWrapper(Q(viewer_bookmark__id__isnull=False), output_field=BooleanField()),
        user_notes=F("viewer_bookmark__notes"),
    )


def _truthy(value: str) -> bool | None:
    lowered = (value or "").strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return None


def guideline_list(*, fetched_by: User, filters: dict[str, str] | None = None) -> QuerySet[ClinicalGuideline]:
    """G1 with its filters: category, specialty, approval_status, priority, is_published, search;
    recently updated first. The guidelines' own rows: the caller's bookmarks of a page are
    :func:`bookmark_notes`."""
    filters = filters or {}
    qs = guideline_scope(fetched_by=fetched_by)
    for name in ("category", "priority"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    status = filters.get("approval_status")
    if status == PUBLISHED:  # a shown state: approved and published
        qs = qs.filter(approval_status=ApprovalStatus.APPROVED, is_published=True)
    elif status:
        qs = qs.filter(approval_status=status)
    if filters.get("specialty"):
        qs = qs.filter(specialty__iexact=filters["specialty"].strip())
    published = _truthy(filters.get("is_published", ""))
    if published is not None:
        qs = qs.filter(is_published=published)
    term = (filters.get("search") or "").strip()
    if term:
        qs = qs.filter(
            Q(title__icontains=term) | Q(description__icontains=term) | Q(specialty__icontains=term)
            | Q(keywords__icontains=term) | Q(guideline_id__iexact=term)
        )
    return qs.order_by("-updated_at", "-id")


# The caller's bookmarks among a page's ids, on every list of guidelines: compiled once per connection
# (``phb.db``), the ids as one array parameter (``phb.lookups``).
_bookmarks_among = PrecompiledValues(
    lambda user_id, ids: GuidelineBookmark.objects.filter(user_id=user_id, is_active=True, guideline_id__any=ids)
    .values_list("guideline_id", "notes"),
    sentinels=(uuid.UUID(int=0), [-1]),
)


def bookmark_notes(*, user: User, guideline_ids: list[int]) -> dict[int, str]:
    """The caller's notes on those of ``guideline_ids`` she bookmarked (each bookmarked one is a
    key). One query on her bookmarks' index, its SQL compiled once per connection."""
    if not guideline_ids:
        return {}
    return dict(_bookmarks_among.rows(user.pk, list(guideline_ids)))


def guideline_get(*, fetched_by: User, guideline_id: str) -> ClinicalGuideline:
    found = with_viewer_bookmark(guideline_scope(fetched_by=fetched_by), user=fetched_by).filter(
        guideline_id=guideline_id
    ).first()
    if found is None:
        raise NotFound("Guideline not found.")
    return found


def guideline_can_edit(*, user: User, guideline: ClinicalGuideline) -> bool:
    """The author, or an admin of the owning hospital."""
    if guideline.created_by_id == user.pk:
        return True
    return guideline_can_review(user=user, guideline=guideline)


def guideline_can_review(*, user: User, guideline: ClinicalGuideline) -> bool:
    """Approve and publish: only an admin of the owning hospital."""
    hospital = admin_hospital_of(user=user)
    return hospital is not None and hospital.pk == guideline.organization_id


def guideline_versions(*, guideline: ClinicalGuideline) -> QuerySet[GuidelineFileVersion]:
    return guideline.file_versions.select_related("uploaded_by").order_by("-uploaded_at", "-id")


def guideline_file_version(*, guideline: ClinicalGuideline, version_id: str) -> GuidelineFileVersion:
    found = guideline.file_versions.filter(version_id=version_id).first()
    if found is None:
        raise NotFound("That version of the file does not exist.")
    return found


def guideline_bookmarked(*, fetched_by: User) -> QuerySet[ClinicalGuideline]:
    """G13: guidelines the caller bookmarked and may still see, recently updated first (their
    notes: :func:`bookmark_notes`)."""
    qs = guideline_scope(fetched_by=fetched_by).filter(
        bookmarks__user=fetched_by, bookmarks__is_active=True
    )
    return qs.order_by("-updated_at", "-id")


def guideline_categories(*, fetched_by: User) -> list[dict[str, Any]]:
    """G14: every category with how many visible guidelines it holds."""
    counts = {
        row["category"]: row["n"]
        for row in guideline_scope(fetched_by=fetched_by).values("category").annotate(n=Count("id")).order_by()
    }
    return [
        {"category": value, "display_name": label, "count": counts.get(value, 0)}
        for value, label in GuidelineCategory.choices
    ]


def guideline_stats(*, fetched_by: User) -> dict[str, Any]:
    """G15 over the guidelines the caller can see."""
    qs = guideline_scope(fetched_by=fetched_by)
    totals = qs.aggregate(
        total=Count("id"),
        published=Count("id", filter=Q(is_published=True)),
        drafts=Count("id", filter=Q(is_published=False)),
        pending=Count("id", filter=Q(approval_status=ApprovalStatus.PENDING_REVIEW)),
        downloads=Sum("download_count"),
    )
    categories = [
        {"category": row["category"], "count": row["n"]}
        for row in qs.values("category").annotate(n=Count("id")).order_by("-n", "category")
    ]
    most = qs.filter(access_count__gt=0).order_by("-access_count", "-id")[:MOST_ACCESSED]
    top = [{"guideline_id": g.guideline_id, "title": g.title, "access_count": g.access_count} for g in most]
    return {
        "total_guidelines": totals["total"] or 0,
        "published_guidelines": totals["published"] or 0,
        "draft_guidelines": totals["drafts"] or 0,
        "pending_approval": totals["pending"] or 0,
        "total_downloads": totals["downloads"] or 0,
        "categories": categories,
        # The stats card shows the first; the list is the top few.
        "most_accessed": top[0] if top else None,
        "most_accessed_list": top,
    }


def guideline_access_list(*, fetched_by: User, guideline_id: str = "") -> QuerySet[GuidelineAccess]:
    """G16: a hospital admin sees accesses to their hospital's guidelines; anyone else their own."""
    hospital = admin_hospital_of(user=fetched_by)
    if hospital is not None:
        qs = GuidelineAccess.objects.filter(guideline__organization=hospital)
    else:
        qs = GuidelineAccess.objects.filter(user=fetched_by)
    if guideline_id:
        # The guideline's key found first (one row, by its unique code), so one guideline's log is
        # read from its index in the list's order rather than found among every access.
        found = ClinicalGuideline.objects.filter(guideline_id=guideline_id).order_by().values("pk")
        qs = qs.filter(guideline=Subquery(found))
    return qs.select_related("guideline")


def guideline_bookmark_list(*, fetched_by: User) -> QuerySet[GuidelineBookmark]:
    """G17: a hospital admin sees bookmarks on their hospital's guidelines; anyone else their own."""
    hospital = admin_hospital_of(user=fetched_by)
    if hospital is not None:
        qs = GuidelineBookmark.objects.filter(guideline__organization=hospital, guideline__is_active=True)
    else:
        qs = GuidelineBookmark.objects.filter(user=fetched_by, guideline__in=guideline_scope(fetched_by=fetched_by))
    return qs.select_related("guideline").filter(is_active=True).order_by("-bookmarked_at", "-id")


# --- Prescription documents ---------------------------------------------------------------------
def prescriptions_with_documents_for(*, fetched_by: User) -> QuerySet:
    """Prescriptions whose document the caller may fetch: theirs as patient or as prescriber."""
    from appointments.models import Prescription

    return Prescription.objects.select_related(
        "patient", "prescriber", "appointment__hospital", "appointment__department"
    ).filter(Q(patient=fetched_by) | Q(prescriber=fetched_by))


# --- Imaging ----------------------------------------------------------------------------------
def _clinician_can_access(*, clinician: User, patient_id: Any) -> bool:
    if clinician.role != Role.DOCTOR:
        return False
    from records.selectors import clinician_can_access_patient

    return clinician_can_access_patient(clinician=clinician, patient=patient_id)


def imaging_patient_for(*, clinician: User, patient_id: Any) -> User:
    """The patient a clinician may upload for or read about; 404 without a live consent (or for
    an id that is not a patient's, a UUID)."""
    try:
        key = patient_id if isinstance(patient_id, uuid.UUID) else uuid.UUID(str(patient_id))
    except ValueError:
        raise NotFound("Patient not found.") from None
    patient = User.objects.filter(pk=key, role=Role.PATIENT, is_active=True).first()
    if patient is None or not _clinician_can_access(clinician=clinician, patient_id=patient.pk):
        raise NotFound("Patient not found.")
    return patient


def imaging_study_list(*, fetched_by: User, patient_id: Any = None) -> QuerySet[ImagingStudy]:
    """A patient: their available studies. A clinician: one patient's studies (with access), or
    without ``patient_id`` the studies they uploaded for patients they may still see."""
    if fetched_by.role == Role.PATIENT:
        return ImagingStudy.objects.filter(patient=fetched_by, status=StudyStatus.AVAILABLE)
    if fetched_by.role != Role.DOCTOR:
        return ImagingStudy.objects.none()
    if patient_id:
        patient = imaging_patient_for(clinician=fetched_by, patient_id=patient_id)
        return ImagingStudy.objects.filter(patient=patient).filter(
            Q(status=StudyStatus.AVAILABLE) | Q(uploaded_by=fetched_by)
        )
    from records.selectors import clinician_can_access_patient

    mine = ImagingStudy.objects.filter(uploaded_by=fetched_by)
    allowed = [
        pid for pid in set(mine.values_list("patient_id", flat=True))
        if clinician_can_access_patient(clinician=fetched_by, patient=pid)
    ]
    return mine.filter(patient_id__in=allowed)


def imaging_study_get(*, fetched_by: User, study_id: Any) -> ImagingStudy:
    study = ImagingStudy.objects.select_related("patient").filter(pk=study_id).first()
    if study is None:
        raise NotFound("Study not found.")
    if fetched_by.role == Role.PATIENT:
        if study.patient_id == fetched_by.pk and study.status == StudyStatus.AVAILABLE:
            return study
        raise NotFound("Study not found.")
    if not _clinician_can_access(clinician=fetched_by, patient_id=study.patient_id):
        raise NotFound("Study not found.")
    if study.status != StudyStatus.AVAILABLE and study.uploaded_by_id != fetched_by.pk:
        raise NotFound("Study not found.")
    return study
