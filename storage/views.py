"""HTTP endpoints: clinical guidelines (contract §6.1, G1–G17) and prescription documents (imaging
studies are in ``imaging_views``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import renderers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from phb.api import pagination
from phb.api.access import Access
from phb.api.errors import ApiError, ServiceUnavailable
from phb.api.schema import JSON_ARRAY
from phb.api.serializers import validated
from phb.api.views import ApiView, ScopedAPIView
from storage import objects, rows, selectors, services
from storage.filetypes import GUIDELINE_TYPES
from storage.models import GuidelineAccessAction
from storage.prescription_documents import prescription_document_url
from storage.serializers import (
    BookmarkInput,
    FileReplaceInput,
    GuidelineDownloadInput,
    GuidelineInput,
    GuidelineUploadInput,
    access_payload,
    bookmark_payload,
    file_version_payload,
    guideline_payload,
)

logger = logging.getLogger("storage.views")

# Room for the form fields next to the file in a multipart body.
_MULTIPART_OVERHEAD = 1024 * 1024
# A download answers in the file's own type (text guidelines as text/plain).
GUIDELINE_FILE_MEDIA_TYPES = sorted({kind.content_type for kind in GUIDELINE_TYPES} | {"text/plain"})
_LIST_FIELDS = ("keywords", "target_roles")


class BinaryRenderer(renderers.BaseRenderer):
    """Lets a client that asks for the file's own type (``Accept: application/pdf``) through
    content negotiation; errors on such a request are still JSON."""

    media_type = "*/*"
    format = "bin"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
        response = (renderer_context or {}).get("response")
        if response is not None:
            response["Content-Type"] = "application/json"
        return json.dumps(data, default=str).encode()


def _form_fields(data: Any) -> dict[str, Any]:
    """The non-file fields of a multipart (or JSON) body as a plain dict."""
    if not hasattr(data, "getlist"):
        if not isinstance(data, Mapping):
            raise ValidationError({"non_field_errors": ["Send the guideline as a JSON object or a form."]})
        return {k: v for k, v in data.items() if k != "file"}
    out: dict[str, Any] = {}
    for key in data.keys():
        if key == "file":
            continue
        out[key] = data.getlist(key) if key in _LIST_FIELDS else data.get(key)
    return out


def _refuse_oversized(request: Request, limit: int) -> None:
    """Answer 413 from the Content-Length before Django spools a huge body to disk."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit + _MULTIPART_OVERHEAD:
        raise ApiError(f"The file must be smaller than {limit // (1024 * 1024)} MB.", status_code=413,
                       code="file_too_large")


def _uploaded_file(request: Request):
    upload = request.FILES.get("file")
    if upload is None:
        raise ApiError("file: choose a file to upload.", code="invalid", errors={"file": ["This field is required."]})
    return upload


def _validated_guideline(request: Request, *, partial: bool = False) -> dict[str, Any]:
    serializer = GuidelineInput(data=_form_fields(request.data), partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- Guidelines ---------------------------------------------------------------------------
class GuidelineListView(ApiView):
    """G1 list (bare array) and G3 create from JSON (a guideline with a file is G4, the upload);
    any other body is a 415: a form cannot say the list its ``keywords`` are."""

    access = Access.STAFF

    @extend_schema(operation_id="clinical_guidelines_list", parameters=pagination.PARAMETERS, responses={200: JSON_ARRAY},
                   summary="G1 guidelines (bare array, paged)",
                   description="Most recently updated first. " + pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        found = selectors.guideline_list(fetched_by=request.user, filters=request.query_params)
        return _guideline_page(request, found)

    @extend_schema(request=GuidelineInput, responses={201: dict}, summary="G3 create a guideline from JSON")
    def post(self, request: Request) -> Response:
        _refuse_oversized(request, settings.CLINICAL_GUIDELINE_MAX_BYTES)
        data = _validated_guideline(request)
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        created = services.guideline_create(author=request.user, data=data, upload=upload)
        found = selectors.guideline_get(fetched_by=request.user, guideline_id=created.guideline_id)
        return Response(guideline_payload(found, viewer=request.user, request=request), status=status.HTTP_201_CREATED)


class GuidelineUploadView(ApiView):
    """G4: multipart ``file`` plus the form fields (arrays comma-joined); any other body is a 415."""

    access = Access.STAFF

    parser_classes = [MultiPartParser]

    @extend_schema(request=GuidelineUploadInput, responses={201: dict},
                   summary="G4 upload a guideline file (multipart)")
    def post(self, request: Request) -> Response:
        _refuse_oversized(request, settings.CLINICAL_GUIDELINE_MAX_BYTES)
        upload = _uploaded_file(request)
        data = _validated_guideline(request)
        created = services.guideline_create(author=request.user, data=data, upload=upload)
        found = selectors.guideline_get(fetched_by=request.user, guideline_id=created.guideline_id)
        payload = guideline_payload(found, viewer=request.user, request=request)
        return Response({"message": "Guideline uploaded.", "guideline": payload, **payload},
                        status=status.HTTP_201_CREATED)


class GuidelineDetailView(ApiView):
    """G2 read (logged as a view), G6 edit from JSON (as G3: a form cannot say the list its
    ``keywords`` are; any other body is a 415), G7 delete."""

    access = Access.STAFF

    @extend_schema(operation_id="clinical_guideline_retrieve", responses={200: dict}, summary="G2 one guideline")
    def get(self, request: Request, guideline_id: str) -> Response:
        guideline = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        services.guideline_record_access(guideline=guideline, user=request.user, action=GuidelineAccessAction.VIEW,
                                         request=request)
        guideline.access_count += 1
        return Response(guideline_payload(guideline, viewer=request.user, request=request))

    @extend_schema(request=GuidelineInput, responses={200: dict}, summary="G6 edit a guideline")
    def put(self, request: Request, guideline_id: str) -> Response:
        return self._update(request, guideline_id)

    @extend_schema(request=GuidelineInput, responses={200: dict}, summary="G6 edit some fields")
    def patch(self, request: Request, guideline_id: str) -> Response:
        return self._update(request, guideline_id)

    def _update(self, request: Request, guideline_id: str) -> Response:
        guideline = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        data = _validated_guideline(request, partial=True)
        services.guideline_update(guideline=guideline, by=request.user, data=data)
        found = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        return Response(guideline_payload(found, viewer=request.user, request=request))

    @extend_schema(request=None, responses={204: None}, summary="G7 delete (archive) a guideline")
    def delete(self, request: Request, guideline_id: str) -> Response:
        guideline = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        services.guideline_delete(guideline=guideline, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GuidelineFileView(ApiView):
    """G5: a new file for the guideline (a new S3 version; the old one stays in ``versions/``)."""

    access = Access.STAFF

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=FileReplaceInput, responses={200: dict}, summary="G5 replace the file (new S3 version)")
    def post(self, request: Request, guideline_id: str) -> Response:
        _refuse_oversized(request, settings.CLINICAL_GUIDELINE_MAX_BYTES)
        guideline = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        serializer = FileReplaceInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.guideline_replace_file(guideline=guideline, by=request.user, upload=serializer.validated_data["file"],
                                        version=serializer.validated_data.get("version") or None)
        found = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        payload = guideline_payload(found, viewer=request.user, request=request)
        return Response({"message": "File updated.", "guideline": payload, **payload})


class GuidelineVersionsView(ApiView):
    """Every file the guideline has had, newest first (authors and the hospital's admins)."""

    access = Access.STAFF

    @extend_schema(responses={200: JSON_ARRAY}, summary="Earlier files of a guideline")
    def get(self, request: Request, guideline_id: str) -> Response:
        guideline = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        if not selectors.guideline_can_edit(user=request.user, guideline=guideline):
            raise ApiError("Only the author or the hospital's admin can see earlier files.", status_code=403,
                           code="permission_denied")
        page = pagination.paginate(request, selectors.guideline_versions(guideline=guideline),
                                   spec=pagination.FILE_VERSIONS)
        return page.response([
            file_version_payload(v, current_version_id=guideline.file_version_id, request=request)
            for v in page.items
        ])


class GuidelineApproveView(ApiView):
    access = Access.STAFF

    @extend_schema(request=None, responses={200: dict}, summary="G8 approve (hospital admin)")
    def post(self, request: Request, guideline_id: str) -> Response:
        guideline = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        services.guideline_approve(guideline=guideline, by=request.user)
        found = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        return Response(guideline_payload(found, viewer=request.user, request=request))


class GuidelinePublishView(ApiView):
    access = Access.STAFF

    @extend_schema(request=None, responses={200: dict}, summary="G9 publish (hospital admin)")
    def post(self, request: Request, guideline_id: str) -> Response:
        guideline = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        services.guideline_publish(guideline=guideline, by=request.user)
        found = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        return Response(guideline_payload(found, viewer=request.user, request=request))


class GuidelineDownloadView(ApiView):
    """G10: the file's bytes, streamed from S3 in 64 KiB chunks, with its type and file name.
    ``?version_id=`` gives an earlier file (authors and the hospital's admins)."""

    access = Access.STAFF

    renderer_classes = [renderers.JSONRenderer, BinaryRenderer]

    @extend_schema(responses={(200, media): bytes for media in GUIDELINE_FILE_MEDIA_TYPES},
                   summary="G10 download the file (in its own content type)")
    def get(self, request: Request, guideline_id: str) -> HttpResponse:
        validated(GuidelineDownloadInput, request.query_params)
        guideline = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        version_id = request.query_params.get("version_id", "")
        if version_id and version_id != guideline.file_version_id:
            if not selectors.guideline_can_edit(user=request.user, guideline=guideline):
                raise ApiError("Only the author or the hospital's admin can download earlier files.",
                               status_code=403, code="permission_denied")
            version = selectors.guideline_file_version(guideline=guideline, version_id=version_id)
            key, file_name, content_type = version.key, version.file_name, version.content_type
        elif guideline.has_file:
            version_id = guideline.file_version_id
            key, file_name, content_type = guideline.file_key, guideline.file_name, guideline.file_content_type
        elif guideline.text_content:
            services.guideline_record_access(guideline=guideline, user=request.user,
                                             action=GuidelineAccessAction.DOWNLOAD, request=request)
            response = HttpResponse(guideline.text_content.encode(), content_type="text/plain; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{guideline.guideline_id}.txt"'
            return response
        else:
            raise ApiError("This guideline has no file yet.", status_code=404, code="no_file")
        try:
            chunks, length = objects.open_stream(storage_name=objects.GUIDELINES, key=key, version_id=version_id)
        except objects.ObjectMissing:
            raise ApiError("The file is no longer available.", status_code=404, code="no_file") from None
        except objects.ObjectArchived:
            logger.warning("guideline file archived", extra={"event": "guideline_file_archived",
                                                             "guideline_id": guideline.guideline_id})
            raise ApiError("This file is archived and cannot be downloaded until it is restored. "
                           "Ask the hospital's administrator.", status_code=409, code="file_archived") from None
        except (ClientError, BotoCoreError) as exc:
            logger.warning("guideline file unavailable", extra={"event": "guideline_file_unavailable",
                                                                "guideline_id": guideline.guideline_id})
            raise ServiceUnavailable("The file cannot be downloaded just now. Try again shortly.",
                                     code="storage_unavailable") from exc
        services.guideline_record_access(guideline=guideline, user=request.user,
                                         action=GuidelineAccessAction.DOWNLOAD, request=request)
        response = StreamingHttpResponse(chunks, content_type=content_type)
        response["Content-Length"] = str(length)
        response["Content-Disposition"] = f'attachment; filename="{file_name}"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


class GuidelineBookmarkView(ApiView):
    """G11 add (no body, or a JSON object with optional ``notes``), G12 remove."""

    access = Access.STAFF

    @extend_schema(request=BookmarkInput, responses={201: dict}, summary="G11 bookmark")
    def post(self, request: Request, guideline_id: str) -> Response:
        guideline = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        serializer = BookmarkInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        bookmark = services.guideline_bookmark_add(user=request.user, guideline=guideline,
                                                   notes=serializer.validated_data.get("notes", ""), request=request)
        return Response(bookmark_payload(bookmark), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, summary="G12 remove the bookmark")
    def delete(self, request: Request, guideline_id: str) -> Response:
        guideline = selectors.guideline_get(fetched_by=request.user, guideline_id=guideline_id)
        services.guideline_bookmark_remove(user=request.user, guideline=guideline)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyBookmarksView(ApiView):
    """G13: the guidelines the caller bookmarked."""

    access = Access.STAFF

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: JSON_ARRAY},
                   summary="G13 my bookmarked guidelines (paged)", description=pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        return _guideline_page(request, selectors.guideline_bookmarked(fetched_by=request.user))


def _guideline_page(request: Request, found) -> Response:
    page = pagination.paginate(request, found, spec=pagination.GUIDELINES, columns=rows.COLUMNS)
    marks = selectors.bookmark_notes(user=request.user, guideline_ids=[r["id"] for r in page.items])
    items = rows.GuidelineItems(viewer=request.user, request=request, bookmarks=marks)
    return page.response([items.item(r) for r in page.items])


class GuidelineCategoriesView(ApiView):
    """G14."""

    access = Access.STAFF

    @extend_schema(responses={200: JSON_ARRAY}, summary="G14 categories with counts")
    def get(self, request: Request) -> Response:
        return Response(selectors.guideline_categories(fetched_by=request.user))


class GuidelineStatsView(ApiView):
    """G15."""

    access = Access.STAFF

    @extend_schema(responses={200: dict}, summary="G15 statistics")
    def get(self, request: Request) -> Response:
        return Response(selectors.guideline_stats(fetched_by=request.user))


class GuidelineAccessLogView(ApiView):
    """G16: a hospital admin sees accesses to their hospital's guidelines, others their own."""

    access = Access.STAFF

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: JSON_ARRAY}, summary="G16 access log (paged)",
                   description=pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        found = selectors.guideline_access_list(fetched_by=request.user,
                                                guideline_id=request.query_params.get("guideline_id", ""))
        page = pagination.paginate(request, found, spec=pagination.GUIDELINE_ACCESSES)
        return page.response([access_payload(a) for a in page.items])


class GuidelineBookmarkListView(ApiView):
    """G17: a hospital admin sees bookmarks on their hospital's guidelines, others their own."""

    access = Access.STAFF

    @extend_schema(parameters=pagination.PARAMETERS, responses={200: JSON_ARRAY}, summary="G17 bookmarks (paged)",
                   description=pagination.DESCRIPTION)
    def get(self, request: Request) -> Response:
        page = pagination.paginate(request, selectors.guideline_bookmark_list(fetched_by=request.user),
                                   spec=pagination.BOOKMARKS)
        return page.response([bookmark_payload(b) for b in page.items])


# --- Prescription documents -------------------------------------------------------------------
class PrescriptionDocumentView(ScopedAPIView):
    """A 5-minute signed URL of the prescription's PDF, for its patient and its prescriber."""

    access = Access.OWN | Access.STAFF

    def scoped_queryset(self, user):
        return selectors.prescriptions_with_documents_for(fetched_by=user)

    @extend_schema(responses={200: dict}, summary="Signed URL of the prescription PDF (5 minutes)")
    def get(self, request: Request, prescription_id) -> Response:
        prescription = self.get_scoped_object(request, pk=prescription_id)
        return Response(prescription_document_url(prescription=prescription, fetched_by=request.user,
                                                  request=request))
