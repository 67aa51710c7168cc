"""Reading the header of an uploaded DICOM file (pydicom), never its pixel data."""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass
from typing import IO

import pydicom

PREAMBLE = 128
MAGIC = b"DICM"


class NotDicom(Exception):
    """Not a DICOM Part 10 file, or one without the identifiers a study needs."""


@dataclass(frozen=True)
class DicomHeader:
    modality: str
    study_date: dt.date | None
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    body_part: str


def looks_like_dicom(prefix: bytes) -> bool:
    """A Part 10 file: a 128-byte preamble followed by ``DICM``."""
    return len(prefix) >= PREAMBLE + 4 and prefix[PREAMBLE:PREAMBLE + 4] == MAGIC


def _text(dataset, keyword: str, limit: int = 64) -> str:
    value = dataset.get(keyword, "")
    return str(value or "").strip()[:limit]


def _date(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value[:8], "%Y%m%d").date()
    except (TypeError, ValueError):
        return None


def _parse(stream: IO[bytes]) -> DicomHeader:
    dataset = pydicom.dcmread(stream, stop_before_pixels=True)
    meta = getattr(dataset, "file_meta", None)
    sop_instance = _text(dataset, "SOPInstanceUID") or (_text(meta, "MediaStorageSOPInstanceUID") if meta else "")
    sop_class = _text(dataset, "SOPClassUID") or (_text(meta, "MediaStorageSOPClassUID") if meta else "")
    return DicomHeader(
        modality=_text(dataset, "Modality", 16),
        study_date=_date(_text(dataset, "StudyDate", 16)),
        study_instance_uid=_text(dataset, "StudyInstanceUID"),
        series_instance_uid=_text(dataset, "SeriesInstanceUID"),
        sop_instance_uid=sop_instance,
        sop_class_uid=sop_class,
        body_part=_text(dataset, "BodyPartExamined"),
    )


def read_header(stream: IO[bytes]) -> DicomHeader:
    """Parse the header from ``stream`` (positioned at 0); raise :class:`NotDicom` when it is
    not a DICOM file, cannot be read, or lacks the study and instance UIDs.

    pydicom converts an element's value only when it is first read, so a malformed element
    (a bad VR, a length past the end, an undecodable value) can fail at ``dcmread`` or at any
    later attribute read, with whatever exception the parser raises (``struct.error``,
    ``BytesLengthException``, ``NotImplementedError``, ...). Every read of the upload happens
    inside one guard, and any failure there is a :class:`NotDicom`."""
    prefix = stream.read(PREAMBLE + 4)
    if not looks_like_dicom(prefix):
        raise NotDicom("missing DICM marker")
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = _parse(stream)
    except Exception as exc:  # untrusted bytes through a third-party parser: any failure is "not readable"
        raise NotDicom(type(exc).__name__) from exc
    if not header.study_instance_uid or not header.sop_instance_uid:
        raise NotDicom("missing study or instance UID")
    return header
