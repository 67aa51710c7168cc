"""Clinical guidelines over HTTP (contract §6.1, G1–G17) against the moto S3 server."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from phb.zones import today_in, zone_named
from storage.models import ClinicalGuideline, GuidelineAccess
from tests.factories import make_doctor, make_patient
from tests.helpers import assert_private, client_for
from tests.storage.files import PNG, make_docx, make_pdf
from tests.zone_days import zone_on_another_day

pytestmark = pytest.mark.django_db

BASE = "/api/clinical-guidelines/"


def upload(client, content: bytes, *, name: str = "hand-hygiene.pdf", **fields):
    form = {
        "title": "Hand hygiene",
        "description": "WHO five moments",
        "category": "infection_control",
        "keywords": "hygiene,infection",
        "target_roles": "doctor,nurse",
        "priority": "high",
        "effective_date": "2025-01-01",
        **fields,
        "file": SimpleUploadedFile(name, content, content_type="application/octet-stream"),
    }
    return client.post(f"{BASE}upload/", form, format="multipart")


def publish(admin, guideline_id: str) -> None:
    client = client_for(admin)
    assert client.post(f"{BASE}{guideline_id}/approve/").status_code == 200
    assert client.post(f"{BASE}{guideline_id}/publish/").status_code == 200


def test_upload_review_publish_download(doctor, hospital_admin, patient, other_admin, s3):
    content = make_pdf()
    response = upload(client_for(doctor), content)
    assert response.status_code == 201, response.json()
    body = response.json()
    guideline = body["guideline"]
    gid = guideline["guideline_id"]
    assert gid.startswith("CG-") and isinstance(guideline["id"], int)
    assert guideline["approval_status"] == "pending_review" and guideline["is_published"] is False
    assert guideline["keywords"] == ["hygiene", "infection"]
    assert guideline["target_roles"] == ["doctor", "nurse"]
    assert guideline["content_type"] == "pdf" and guideline["priority"] == "high"
    assert guideline["file_name"] == "hand-hygiene.pdf"
    assert guideline["download_url"].endswith(f"{BASE}{gid}/download/")

    # The object: random key, SSE-S3, STANDARD_IA, versioned.
    row = ClinicalGuideline.objects.get(guideline_id=gid)
    assert row.file_key.startswith(f"guidelines/{row.organization_id}/") and "hand" not in row.file_key
    head = s3.head_object(Bucket=settings.CLINICAL_GUIDELINES_BUCKET, Key=row.file_key)
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "STANDARD_IA"
    assert head["ContentType"] == "application/pdf"
    assert head["VersionId"] == row.file_version_id

    # Not visible to patients before publication; other hospitals cannot review it.
    assert gid not in [g["guideline_id"] for g in client_for(patient).get(BASE).json()]
    assert client_for(patient).get(f"{BASE}{gid}/").status_code == 404
    assert client_for(other_admin).post(f"{BASE}{gid}/approve/").status_code == 404
    assert client_for(doctor).post(f"{BASE}{gid}/approve/").status_code == 403  # the author is no reviewer
    assert client_for(hospital_admin).post(f"{BASE}{gid}/publish/").status_code == 409  # approve first
    publish(hospital_admin, gid)

    listed = client_for(patient).get(BASE, {"is_published": "true", "category": "infection_control"}).json()
    assert [g["guideline_id"] for g in listed] == [gid]
    # Shown as published (the pages' green badge); ``?approval_status=published`` finds it.
    assert listed[0]["is_published"] is True and listed[0]["approval_status"] == "published"
    assert [g["guideline_id"] for g in client_for(hospital_admin).get(BASE, {"approval_status": "published"}).json()
            ] == [gid]
    assert listed[0]["created_by_email"] == ""  # patients do not see staff addresses
    assert client_for(patient).get(BASE, {"search": "five moments"}).json()[0]["guideline_id"] == gid
    assert client_for(patient).get(BASE, {"search": "cardiac"}).json() == []

    download = client_for(patient).get(f"{BASE}{gid}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="hand-hygiene.pdf"'
    assert int(download["Content-Length"]) == len(content)

    # Patients read; they do not write.
    assert client_for(patient).put(f"{BASE}{gid}/", {"title": "x"}, format="json").status_code == 403
    assert client_for(patient).delete(f"{BASE}{gid}/").status_code == 403
    assert upload(client_for(patient), make_pdf()).status_code == 403

    detail = client_for(patient).get(f"{BASE}{gid}/").json()
    assert detail["access_count"] == 2  # one download, one view
    actions = set(GuidelineAccess.objects.filter(guideline=row).values_list("action", flat=True))
    assert actions == {"download", "view"}


def test_approved_and_published_are_told_apart(doctor, hospital_admin, s3):
    """Stored as ``approved`` with ``is_published``; the pages tell the two states by approval_status."""
    client = client_for(hospital_admin)
    gid = upload(client_for(doctor), make_pdf()).json()["guideline_id"]
    assert client.post(f"{BASE}{gid}/approve/").status_code == 200
    assert client.get(f"{BASE}{gid}/").json()["approval_status"] == "approved"
    assert client.get(BASE, {"approval_status": "published"}).json() == []
    assert client.post(f"{BASE}{gid}/publish/").json()["approval_status"] == "published"
    assert [g["approval_status"] for g in client.get(BASE, {"approval_status": "published"}).json()] == ["published"]
    assert [g["guideline_id"] for g in client.get(BASE, {"approval_status": "approved"}).json()] == [gid]


def test_update_file_keeps_previous_version_reachable(doctor, hospital_admin, patient, s3):
    first = make_pdf("first edition")
    gid = upload(client_for(doctor), first).json()["guideline_id"]
    publish(hospital_admin, gid)

    second = make_docx("second edition")
    response = client_for(doctor).post(
        f"{BASE}{gid}/update-file/",
        {"file": SimpleUploadedFile("edition-2.docx", second), "version": "2.0"},
        format="multipart",
    )
    assert response.status_code == 200, response.json()
    updated = response.json()["guideline"]
    assert updated["version"] == "2.0" and updated["file_name"] == "edition-2.docx"
    # A change by the author goes back to review.
    assert updated["approval_status"] == "pending_review" and updated["is_published"] is False
    assert client_for(patient).get(f"{BASE}{gid}/").status_code == 404

    versions = client_for(doctor).get(f"{BASE}{gid}/versions/").json()
    assert [v["file_name"] for v in versions] == ["edition-2.docx", "hand-hygiene.pdf"]
    assert [v["is_current"] for v in versions] == [True, False]
    row = ClinicalGuideline.objects.get(guideline_id=gid)
    in_s3 = s3.list_object_versions(Bucket=settings.CLINICAL_GUIDELINES_BUCKET, Prefix=row.file_key)["Versions"]
    assert {v["VersionId"] for v in in_s3} == {v["version_id"] for v in versions}

    current = client_for(doctor).get(f"{BASE}{gid}/download/")
    assert b"".join(current.streaming_content) == second
    assert current["Content-Type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    old = client_for(doctor).get(f"{BASE}{gid}/download/", {"version_id": versions[1]["version_id"]})
    assert old.status_code == 200 and b"".join(old.streaming_content) == first
    assert old["Content-Type"] == "application/pdf"
    publish(hospital_admin, gid)
    assert client_for(patient).get(f"{BASE}{gid}/versions/").status_code == 403
    refused = client_for(patient).get(f"{BASE}{gid}/download/", {"version_id": versions[1]["version_id"]})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("name", "content", "status", "code"),
    [
        ("scan.pdf", PNG, 415, "unsupported_file_type"),  # the name says PDF, the bytes do not
        ("archive.docx", b"PK\x03\x04" + b"\x00" * 40, 415, "unsupported_file_type"),
        ("empty.txt", b"", 400, "empty_file"),
    ],
)
def test_upload_judges_type_by_content(doctor, name, content, status, code):
    response = upload(client_for(doctor), content, name=name)
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code and response.json()["message"]
    assert not ClinicalGuideline.objects.exists()


def test_text_and_word_files_are_accepted(doctor):
    text = upload(client_for(doctor), b"Wash hands for 20 seconds.\n", name="notes")
    assert text.status_code == 201 and text.json()["file_name"] == "notes.txt"
    assert text.json()["file_content_type"].startswith("text/plain")
    docx = upload(client_for(doctor), make_docx(), name="protocol.docx")
    assert docx.status_code == 201 and docx.json()["file_name"] == "protocol.docx"


def test_upload_of_10_mb_is_refused(doctor, settings):
    settings.CLINICAL_GUIDELINE_MAX_BYTES = 64 * 1024
    response = upload(client_for(doctor), b"a" * (64 * 1024), name="big.txt")
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"
    assert upload(client_for(doctor), b"a" * (64 * 1024 - 1), name="ok.txt").status_code == 201


def test_real_limit_is_10_mb(doctor):
    assert settings.CLINICAL_GUIDELINE_MAX_BYTES == 10 * 1024 * 1024
    response = upload(client_for(doctor), b"a" * settings.CLINICAL_GUIDELINE_MAX_BYTES, name="big.txt")
    assert response.status_code == 413


def test_text_guideline_from_json_edit_and_delete(doctor, hospital_admin, patient, s3):
    client = client_for(doctor)
    response = client.post(BASE, {
        "title": "Chest pain triage", "description": "First ten minutes", "category": "emergency",
        "keywords": ["chest", "triage"], "text_content": "1. ECG within 10 minutes.",
        "effective_date": "2025-02-01", "expiry_date": "2030-01-01", "target_roles": ["doctor"],
    }, format="json")
    assert response.status_code == 201, response.json()
    gid = response.json()["guideline_id"]
    assert response.json()["content_type"] == "text" and response.json()["download_url"]
    assert client.post(BASE, {"title": "x", "description": "y", "category": "nope"}, format="json").status_code == 400
    bad_dates = client.post(BASE, {"title": "x", "description": "y", "category": "other", "text_content": "t",
                                   "effective_date": "2025-02-01", "expiry_date": "2024-01-01"}, format="json")
    assert bad_dates.status_code == 400

    edited = client.put(f"{BASE}{gid}/", {
        "title": "Chest pain triage (adult)", "description": "First ten minutes", "version": "1.1",
        "category": "emergency", "keywords": ["chest"], "content_type": "text",
        "text_content": "1. ECG within 10 minutes.\n2. Troponin.", "effective_date": "2025-02-01",
        "target_roles": ["doctor", "nurse"], "priority": "critical",
    }, format="json")
    assert edited.status_code == 200, edited.json()
    assert edited.json()["title"] == "Chest pain triage (adult)" and edited.json()["priority"] == "critical"

    publish(hospital_admin, gid)
    text = client_for(patient).get(f"{BASE}{gid}/download/")
    assert text.status_code == 200 and text.content == b"1. ECG within 10 minutes.\n2. Troponin."

    assert client_for(make_patient()).delete(f"{BASE}{gid}/").status_code == 403
    assert client.delete(f"{BASE}{gid}/").status_code == 204
    assert client_for(patient).get(f"{BASE}{gid}/").status_code == 404
    assert gid not in [g["guideline_id"] for g in client.get(BASE).json()]
    assert client_for(hospital_admin).post(f"{BASE}{gid}/approve/").status_code == 404


def test_download_format_names_one_of_the_documented_values(doctor, hospital_admin, s3):
    from drf_spectacular.generators import SchemaGenerator

    client = client_for(doctor)
    gid = client.post(BASE, {"title": "Sepsis", "description": "First hour", "category": "emergency",
                             "text_content": "1. Lactate."}, format="json").json()["guideline_id"]
    publish(hospital_admin, gid)
    operation = SchemaGenerator().get_schema(request=None, public=True)["paths"][
        "/api/clinical-guidelines/{guideline_id}/download/"]["get"]
    (documented,) = [p["schema"]["enum"] for p in operation["parameters"] if p["name"] == "format"]
    assert sorted(documented) == ["bin", "json"]
    for value in documented:
        answer = client.get(f"{BASE}{gid}/download/", {"format": value})
        assert answer.status_code == 200 and answer.content == b"1. Lactate.", value
    downloads = GuidelineAccess.objects.filter(guideline__guideline_id=gid, action="download").count()

    empty = client.get(f"{BASE}{gid}/download/?format=")
    assert empty.status_code == 400 and empty["Content-Type"] == "application/json"
    assert empty.json()["message"].startswith("format")
    assert client.get(f"{BASE}{gid}/download/", {"format": "nope"}).status_code == 404  # DRF: no such renderer
    assert GuidelineAccess.objects.filter(guideline__guideline_id=gid, action="download").count() == downloads


def test_drafts_are_private_to_author_and_hospital_admin(doctor, hospital_admin, other_admin, other_doctor, department):
    gid = upload(client_for(doctor), make_pdf()).json()["guideline_id"]
    url = f"{BASE}{gid}/"
    assert_private(url, owner=doctor, owner_status=200, stranger=other_doctor)
    assert_private(url, owner=hospital_admin, owner_status=200, stranger=other_admin)
    colleague = make_doctor(department=department)
    assert client_for(colleague).get(url).status_code == 404
    assert_private(f"{BASE}{gid}/download/", owner=doctor, owner_status=200, stranger=other_doctor)
    assert_private(f"{BASE}{gid}/update-file/", method="post", format="multipart", stranger=other_doctor,
                   data={"file": SimpleUploadedFile("x.pdf", make_pdf())})
    assert client_for(None).get(BASE).status_code == 401


def test_publish_needs_content(doctor, hospital_admin):
    client = client_for(doctor)
    gid = client.post(BASE, {"title": "Later", "description": "File follows", "category": "other",
                             "content_type": "pdf"}, format="json").json()["guideline_id"]
    admin = client_for(hospital_admin)
    assert admin.post(f"{BASE}{gid}/approve/").status_code == 200
    assert admin.post(f"{BASE}{gid}/approve/").status_code == 200  # approving again changes nothing
    refused = admin.post(f"{BASE}{gid}/publish/")
    assert refused.status_code == 409 and refused.json()["code"] == "file_required"
    assert client.get(f"{BASE}{gid}/download/").status_code == 404


def test_bookmarks_categories_stats_and_access_log(doctor, hospital_admin, patient, other_admin):
    gid = upload(client_for(doctor), make_pdf()).json()["guideline_id"]
    publish(hospital_admin, gid)
    client = client_for(patient)

    added = client.post(f"{BASE}{gid}/bookmark/", {"notes": "read before shift"}, format="json")
    assert added.status_code == 201
    bookmark = added.json()
    assert bookmark["guideline_id"] == gid and bookmark["is_active"] is True and bookmark["notes"] == "read before shift"
    assert set(bookmark) >= {"id", "user", "guideline", "bookmarked_at", "notes", "is_active"}
    assert client.post(f"{BASE}{gid}/bookmark/").status_code == 201  # idempotent
    # What the bookmark button sends: the JSON content type and no body at all.
    assert client.post(f"{BASE}{gid}/bookmark/", content_type="application/json").status_code == 201
    # A body that is not a JSON object is refused, and a form is not taken (no write either way).
    refused = client.post(f"{BASE}{gid}/bookmark/", "false", content_type="application/json")
    assert refused.status_code == 400 and refused.json()["message"]
    assert client.post(f"{BASE}{gid}/bookmark/", {"notes": "x"}, format="multipart").status_code == 415
    assert client_for(doctor).put(f"{BASE}{gid}/", {"keywords": "false"}, format="multipart").status_code == 415
    mine = client.get(f"{BASE}my_bookmarks/").json()
    assert [g["guideline_id"] for g in mine] == [gid]
    assert mine[0]["is_bookmarked"] is True and mine[0]["user_notes"] == "read before shift"
    assert [b["guideline_id"] for b in client.get("/api/guideline-bookmarks/").json()] == [gid]
    assert [b["guideline_id"] for b in client_for(hospital_admin).get("/api/guideline-bookmarks/").json()] == [gid]
    assert client_for(other_admin).get("/api/guideline-bookmarks/").json() == []
    assert client.delete(f"{BASE}{gid}/bookmark/").status_code == 204
    assert client.get(f"{BASE}my_bookmarks/").json() == []

    categories = client.get(f"{BASE}categories/").json()
    assert len(categories) == 12
    assert {"category": "infection_control", "display_name": "Infection control", "count": 1} in categories

    client.get(f"{BASE}{gid}/download/")
    stats = client_for(hospital_admin).get(f"{BASE}stats/").json()
    assert stats["total_guidelines"] == 1 and stats["published_guidelines"] == 1
    assert stats["draft_guidelines"] == 0 and stats["pending_approval"] == 0 and stats["total_downloads"] == 1
    assert stats["categories"] == [{"category": "infection_control", "count": 1}]
    # The stats card reads one guideline: the most accessed.
    assert stats["most_accessed"] == {"guideline_id": gid, "title": stats["most_accessed_list"][0]["title"],
                                      "access_count": 1}
    assert [g["guideline_id"] for g in stats["most_accessed_list"]] == [gid]

    log = client_for(hospital_admin).get("/api/guideline-access/").json()
    assert {entry["action"] for entry in log} == {"bookmarked", "download"}
    assert all(entry["guideline_id"] == gid and entry["user"] == str(patient.pk) for entry in log)
    assert set(log[0]) >= {"id", "guideline", "user", "action", "accessed_at", "ip_address", "user_agent"}
    assert client_for(other_admin).get("/api/guideline-access/").json() == []
    assert len(client.get("/api/guideline-access/").json()) == 2  # a user sees their own accesses


def test_the_list_marks_only_the_callers_own_live_bookmark(doctor, hospital_admin, patient):
    gid = upload(client_for(doctor), make_pdf()).json()["guideline_id"]
    publish(hospital_admin, gid)
    reader, colleague = client_for(patient), client_for(hospital_admin)
    assert reader.post(f"{BASE}{gid}/bookmark/", {"notes": "mine"}, format="json").status_code == 201
    assert colleague.post(f"{BASE}{gid}/bookmark/", {"notes": "theirs"}, format="json").status_code == 201

    def listed(client):
        found = [g for g in client.get(BASE).json() if g["guideline_id"] == gid]
        assert len(found) == 1, found  # one row however many users bookmarked it
        return found[0]["is_bookmarked"], found[0]["user_notes"]

    assert listed(reader) == (True, "mine")
    assert listed(colleague) == (True, "theirs")
    assert listed(client_for(doctor)) == (False, None)
    assert reader.delete(f"{BASE}{gid}/bookmark/").status_code == 204
    assert listed(reader) == (False, None)
    assert listed(colleague) == (True, "theirs")


def test_a_guideline_without_an_effective_date_is_in_effect_from_the_hospitals_day(doctor, hospital):
    hospital.time_zone = zone_on_another_day()
    hospital.save(update_fields=["time_zone"])
    response = client_for(doctor).post(BASE, {"title": "Hand hygiene", "description": "Five moments",
                                              "category": "prevention", "text_content": "Before touching."},
                                       format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["effective_date"] == today_in(zone_named(hospital.time_zone)).isoformat()


def test_an_unverified_doctor_reads_why_in_my_info_and_is_refused_adding_guidelines(doctor, s3):
    """The frontend reads a professional's ``verified`` from ``/api/registry/my-info/`` (nothing in
    the profile): it is the same flag that decides who may add guidelines."""
    from hospitals.models import StaffMember

    body = {"title": "Sepsis", "description": "First hour", "category": "emergency", "text_content": "1. Lactate."}
    StaffMember.objects.filter(user=doctor).update(verified=False)
    assert client_for(doctor).get("/api/registry/my-info/").json()["verified"] is False
    refused = client_for(doctor).post(BASE, body, format="json")
    assert refused.status_code == 403 and "verified" in refused.json()["message"], refused.json()
    StaffMember.objects.filter(user=doctor).update(verified=True)
    assert client_for(doctor).get("/api/registry/my-info/").json()["verified"] is True
    assert client_for(doctor).post(BASE, body, format="json").status_code == 201
