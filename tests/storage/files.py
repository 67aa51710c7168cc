"""Real small files of each kind for the storage tests (PDF, DOCX, DICOM), built in memory."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import struct
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


_OLE_FREE, _OLE_END, _OLE_FATSECT, _OLE_NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _ole_entry(name: str, *, kind: int, child: int = _OLE_NONE, right: int = _OLE_NONE,
               start: int = _OLE_END, size: int = 0) -> bytes:
    encoded = (name + "\0").encode("utf-16-le")
    return (encoded.ljust(64, b"\0") + struct.pack("<HBB3I", len(encoded), kind, 1, _OLE_NONE, right, child)
            + b"\0" * 36 + struct.pack("<IQ", start, size))


def make_ole2(streams: dict[str, bytes], *, extra: bytes = b"") -> bytes:
    """A compound file (OLE2, version 3, 512-byte sectors) holding ``streams`` at its root, the way
    Word (``WordDocument``), Excel (``Workbook``) and installers lay theirs out. Each stream is padded
    to 4,096 bytes so that it lives in the file's own sectors. ``extra`` is appended as unallocated
    sectors (bytes the directory does not name)."""
    sectors_per_stream = 8
    data = [body.ljust(4096, b"\0")[:4096] for body in streams.values()]
    fat = [_OLE_FATSECT, _OLE_END]  # sector 0: this table; sector 1: the directory
    entries = [_ole_entry("Root Entry", kind=5, child=1 if streams else _OLE_NONE)]
    for number, name in enumerate(streams, start=1):
        first = len(fat)
        fat += list(range(first + 1, first + sectors_per_stream)) + [_OLE_END]
        entries.append(_ole_entry(name, kind=2, start=first, size=4096,
                                  right=number + 1 if number < len(streams) else _OLE_NONE))
    assert len(fat) <= 128 and len(entries) <= 4
    entries += [b"\0" * 64 + struct.pack("<HBB3I", 0, 0, 0, _OLE_NONE, _OLE_NONE, _OLE_NONE) + b"\0" * 48] * (
        4 - len(entries))
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<9I", 0, 1, 1, 0, 4096, _OLE_END, 0, _OLE_END, 0)
              + struct.pack("<109I", 0, *[_OLE_FREE] * 108))
    table = struct.pack(f"<{len(fat)}I", *fat) + struct.pack("<I", _OLE_FREE) * (128 - len(fat))
    padded_extra = extra.ljust(-(-len(extra) // 512) * 512, b"\0")
    return header + table + b"".join(entries) + b"".join(data) + padded_extra


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
