"""HTTP endpoints of the patient's own documents (contract §2: M7–M10): list, preview, upload and
delete, files in S3 through `records.documents`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from phb import filetypes
from phb.api import pagination, serializers
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.views import ApiView, ScopedAPIView
from records import documents, presenters, selectors
from records.audit import audit_record
from records.models import PatientDocument
from records.views import iso, record_accessed


# --- M7–M10: patient documents -----------------------------------------------------------------
def _file(doc: PatientDocument) -> dict[str, Any]:
    return {
        "file_id": str(doc.id),
        "display_name": doc.display_name,
        "original_extension": f".{doc.extension}",
        "content_type": doc.content_type.split(";")[0],
        "size": doc.size,
        "size_display": presenters.human_size(doc.size),
        "created_at": iso(doc.created_at),
        "file_path": f"/api/secure/files/{doc.id}/preview/",
    }


class _DocumentsView(ScopedAPIView):
    access = Access.OWN

    def scoped_queryset(self, user: Any):
        return selectors.documents_of(fetched_by=user)


class DocumentListView(_DocumentsView):
    """M7."""

    def get(self, request: Request) -> Response:
        page = pagination.paginate(request, self.scoped_queryset(request.user), spec=pagination.DOCUMENTS)
        audit_record(actor=request.user, patient=request.user, action="list", object_type="document",
                     object_id="", request=request)
        return page.response({"success": True, "data": {"files": [_file(d) for d in page.items]}})


class DocumentPreviewView(_DocumentsView):
    """M8: the bytes, streamed from S3 in chunks."""

    @extend_schema(responses={(200, media): bytes for media in sorted(
        {kind.content_type.split(";")[0] for kind in filetypes.ALL_TYPES})},
        summary="M8 the document's bytes (in its own content type)")
    def get(self, request: Request, file_id) -> StreamingHttpResponse:
        doc: PatientDocument = self.get_scoped_object(request, pk=file_id)
        opened = documents.document_open(document=doc)
        audit_record(actor=request.user, patient=request.user, action="read", object_type="document",
                     object_id=str(doc.pk), request=request)
        record_accessed()
        response = StreamingHttpResponse(opened.chunks, content_type=doc.content_type)
        if opened.length is not None:
            response["Content-Length"] = str(opened.length)
        safe_name = doc.display_name.replace('"', "")
        response["Content-Disposition"] = f'inline; filename="{safe_name}"'
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store, private"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


class _DocumentUploadInput(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), min_length=1,
                                  max_length=settings.PATIENT_UPLOAD_MAX_FILES)


class DocumentUploadView(ApiView):
    """M9: multipart, repeated field ``files``."""

    access = Access.OWN
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": _DocumentUploadInput}, responses={201: dict},
                   summary="M9 upload documents (201 when at least one was kept)")
    def post(self, request: Request) -> Response:
        limit = settings.PATIENT_UPLOAD_MAX_FILES * (settings.PATIENT_UPLOAD_MAX_BYTES + 64 * 1024)
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise ApiError("The upload is too large.", status_code=413, code="too_large", success=False,
                           successful_uploads=0)
        files = request.FILES.getlist("files") if hasattr(request, "FILES") else []
        try:
            result = documents.documents_upload(patient=request.user, files=files, request=request)
        except ApiError as exc:
            exc.extra.setdefault("success", False)
            exc.extra.setdefault("successful_uploads", 0)
            raise
        body = {
            "success": bool(result.documents),
            "successful_uploads": len(result.documents),
            "failed_uploads": result.failures,
            "files": [_file(d) for d in result.documents],
        }
        if not result.documents and result.storage_failed:
            message = "Your documents could not be stored just now. Try again shortly."
            return Response({**body, "message": message, "error": message, "detail": message,
                             "code": "storage_unavailable"}, status=503, headers={"Retry-After": "5"})
        if not result.documents:
            message = result.failures[0]["error"] if result.failures else "Nothing was uploaded."
            return Response({**body, "message": message, "error": message, "detail": message,
                             "code": "upload_refused"}, status=400)
        if result.failures:
            body["error"] = f"{len(result.failures)} file(s) were refused."
        return Response(body, status=201)


class DocumentDeleteView(_DocumentsView):
    """M10."""

    @extend_schema(responses={200: dict}, summary="M10 delete one of the caller's documents",
                   description="`{success, message}`.")
    def delete(self, request: Request, file_id) -> Response:
        doc: PatientDocument = self.get_scoped_object(request, pk=file_id)
        documents.document_delete(document=doc, actor=request.user, request=request)
        return Response({"success": True, "message": "Document deleted."})

    post = delete
