"""Real small files of each kind for the storage tests (PDF, DOCX, DICOM), built in memory."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
import zlib

from fpdf import FPDF
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def make_pdf(text: str = "Hand hygiene protocol", *, pages: int = 1) -> bytes:
    pdf = FPDF()
    for page in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        pdf.cell(0, 10, f"{text} page {page + 1}")
    return bytes(pdf.output())


def make_docx(text: str = "Sepsis bundle") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", f'<?xml version="1.0"?><w:document><w:t>{text}</w:t></w:document>')
    return buffer.getvalue()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def make_dicom(*, modality: str = "CT", study_date: str = "20250102", body_part: str = "CHEST") -> tuple[bytes, Dataset]:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = modality
    ds.StudyDate = study_date
    ds.BodyPartExamined = body_part
    ds.PatientName = "Test^Patient"
    ds.PatientID = "TEST-1"
    ds.Rows = 8
    ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(128))
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue(), ds


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def pdf_text(data: bytes) -> str:
    """The text-drawing operators of a (possibly Flate-compressed) PDF, for assertions.

    A stream's data ends where its compressed data ends: the line break before ``endstream`` is
    left to the decompressor (its ``unused_data``), since compressed data may itself end in a
    carriage return, which a pattern taking ``\\r?\\n`` off would cut (about one stream in 256).
    """
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            out.append(zlib.decompressobj().decompress(raw).decode("latin-1"))
        except zlib.error:
            out.append(raw.decode("latin-1"))
    return "\n".join(out)
