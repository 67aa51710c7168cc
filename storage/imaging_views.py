"""HTTP endpoints of imaging studies: list, start a DICOM upload (presigned POST), complete it,
read one study and download it; files in S3 through ``storage.imaging``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from phb.api import pagination
from phb.api.access import Access
from phb.api.schema import JSON_ARRAY
from phb.api.views import ApiView
from storage import imaging, selectors
from storage.serializers import ImagingStartInput, study_payload


def _patient_id(text: str | None) -> uuid.UUID | None:
    """``?patient_id=``: a patient's id (a UUID, as the upload takes it), or None when not given."""
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise ValidationError({"patient_id": ["Must be a valid UUID."]}) from exc


class ImagingStudyListView(ApiView):
    """GET: studies the caller may see (``?patient_id=`` for a clinician). POST: start an upload."""

    access = Access.OWN | Access.STAFF

    @extend_schema(operation_id="imaging_studies_list", responses={200: JSON_ARRAY}, summary="Imaging studies")
    def get(self, request: Request) -> Response:
        patient_id = _patient_id(request.query_params.get("patient_id"))
        page = pagination.paginate(request, selectors.imaging_study_list(fetched_by=request.user, patient_id=patient_id),
                                   spec=pagination.RECENT_FIRST)
        imaging.imaging_list_audit(studies=page.items, fetched_by=request.user, request=request)
        return page.response([study_payload(s) for s in page.items])

    @extend_schema(request=ImagingStartInput, responses={201: dict}, summary="Start a DICOM upload (presigned POST)")
    def post(self, request: Request) -> Response:
        serializer = ImagingStartInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        study, upload = imaging.imaging_study_start(
            clinician=request.user, patient_id=data["patient_id"], size=data["size"], sha256=data["sha256"],
            description=data.get("description", ""), request=request,
        )
        return Response({**study_payload(study), "upload": upload,
                         "max_bytes": settings.MEDICAL_IMAGING_MAX_BYTES}, status=status.HTTP_201_CREATED)


class ImagingStudyDetailView(ApiView):
    access = Access.OWN | Access.STAFF

    @extend_schema(operation_id="imaging_study_retrieve", responses={200: dict}, summary="One imaging study")
    def get(self, request: Request, study_id) -> Response:
        study = selectors.imaging_study_get(fetched_by=request.user, study_id=study_id)
        imaging.imaging_study_audit_read(study=study, fetched_by=request.user, request=request)
        return Response(study_payload(study))


class ImagingStudyCompleteView(ApiView):
    access = Access.STAFF

    @extend_schema(request=None, responses={200: dict}, summary="Check the upload and list the study")
    def post(self, request: Request, study_id) -> Response:
        study = imaging.imaging_study_complete(clinician=request.user, study_id=study_id, request=request)
        return Response(study_payload(study))


class ImagingStudyDownloadView(ApiView):
    """A 5-minute SigV4 signed GET URL of the study's DICOM file."""

    access = Access.OWN | Access.STAFF

    @extend_schema(responses={200: dict}, summary="Signed URL of the DICOM file (5 minutes)")
    def get(self, request: Request, study_id) -> Response:
        study = selectors.imaging_study_get(fetched_by=request.user, study_id=study_id)
        return Response(imaging.imaging_study_url(study=study, fetched_by=request.user, request=request))
