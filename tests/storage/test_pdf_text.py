"""The tests' PDF reader (tests/storage/files.py) reads every stream, whatever byte its data ends with."""

from __future__ import annotations

import itertools
import zlib

from tests.storage.files import pdf_text


def _compressed_ending_in(byte: bytes) -> tuple[str, bytes]:
    for n in itertools.count():
        text = f"BT (Metformin {n}) Tj ET"
        data = zlib.compress(text.encode("latin-1"))
        if data.endswith(byte):
            return text, data
    raise AssertionError("unreachable")


def test_a_stream_whose_compressed_data_ends_in_a_carriage_return():
    text, data = _compressed_ending_in(b"\r")
    for newline in (b"\n", b"\r\n"):
        pdf = b"%PDF-1.4\n1 0 obj\n<< /Filter /FlateDecode >>\nstream" + newline + data + newline + b"endstream\n"
        assert text in pdf_text(pdf)


def test_an_uncompressed_stream_is_read_as_it_is():
    pdf = b"stream\nBT (Plain) Tj ET\nendstream"
    assert "BT (Plain) Tj ET" in pdf_text(pdf)
