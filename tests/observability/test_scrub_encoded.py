"""Percent-encoded PHI (a URL or an error text carrying a query string) is scrubbed like plain PHI."""

from __future__ import annotations

import json
import logging

import pytest

from phb.logs import decode_escapes, scrub_text


@pytest.mark.parametrize(("text", "kept"), [
    ("GET /x?email=jane.doe%40example.com failed", "/x?email="),
    ("redirect to /login?next=jane.doe%40example.com", "/login?next="),
    ("double encoded jane.doe%2540example.com here", "double encoded"),
    ("plus kept jane+clinic%40example.com and jane%2Bclinic%40example.com", "plus kept"),
    ("upper case JANE.DOE%40EXAMPLE.COM", "upper case"),
    ("ward%2Fjane.doe%40example.com%3Bnext", "ward/"),
])
def test_encoded_emails_are_scrubbed(text, kept):
    scrubbed = scrub_text(text)
    assert "[email]" in scrubbed, scrubbed
    assert "jane" not in scrubbed.lower() and "example" not in scrubbed.lower(), scrubbed
    assert kept in scrubbed


@pytest.mark.parametrize("text", [
    "callback?msisdn=%2B2348031234567&x=1",
    "callback?to=%252B2348031234567",
    "call %2B234%20803%20123%204567 now",
])
def test_encoded_phone_numbers_are_scrubbed(text):
    scrubbed = scrub_text(text)
    assert "8031234567" not in scrubbed.replace(" ", ""), scrubbed
    assert "[phone]" in scrubbed or "[redacted]" in scrubbed, scrubbed


def test_encoded_keyed_values_and_codes_are_scrubbed():
    scrubbed = scrub_text("next=%2Fverify%3Fotp%3D482913%26user%3D7")
    assert "482913" not in scrubbed and "otp=[redacted]" in scrubbed, scrubbed
    assert "Bearer [redacted]" in scrub_text("header Bearer%20abc.def.ghi")


def test_decoding_reaches_every_level_and_leaves_other_text_alone():
    assert decode_escapes("a%2540b") == "a@b"
    assert decode_escapes("a%25252540b") == "a@b"
    assert decode_escapes("%%34%30") == "@"
    assert decode_escapes("caf%C3%A9") == "café"
    for text in ("50% done", "100%", "%zz", "a%0Ab", "bad %FF byte", "no escapes", "%2" * 10_000):
        assert decode_escapes(text) == text


def test_a_user_s_encoded_name_and_email_are_scrubbed_from_a_request_line(captured_lines):
    from phb.logs import remember_sensitive, request_id_var

    token = request_id_var.set("req-encoded")
    try:
        remember_sensitive("Chidinma Ezeanyika", "chidinma@example.test")
        logging.getLogger("payments").warning(
            "lookup failed for /x?n=Chidinma%20Ezeanyika&m=chidinma%2540example.test"
        )
    finally:
        request_id_var.reset(token)
    line = json.loads(captured_lines.getvalue().splitlines()[-1])
    assert "chidinma" not in line["message"].lower() and "ezeanyika" not in line["message"].lower(), line


@pytest.mark.parametrize(("text", "expected"), [
    ("a%2540b.co " * 2000, "[email] " * 2000),
    ("a%" + "25" * 10_000 + "40b.co", "[email]"),
    ("a%%34%30b.co " * 2000, "[email] " * 2000),
    ("a%40" * 5000 + "b.co", "a@" * 4999 + "[email]"),
])
def test_long_runs_of_escapes_are_decoded_to_the_end(text, expected):
    """The shapes ``bench/bench_log_scrub.py`` times (decoding is linear in the text's length)."""
    assert scrub_text(text) == expected


def test_a_logged_string_is_decoded_once(monkeypatch):
    """``scrub`` decodes a string once, then matches the request's names and the patterns on it."""
    import re

    from phb import logs

    passes: list[str] = []
    real = logs.decode_escapes

    def counted(text: str) -> str:
        passes.append(text)
        return real(text)

    monkeypatch.setattr(logs, "decode_escapes", counted)
    known = re.compile(r"(?<!\w)(?:Chidinma)(?!\w)", re.IGNORECASE)
    scrubbed = logs.scrub("lookup /x?n=Chidinma%20O&m=a%2540b.co", None, known)
    assert scrubbed == "lookup /x?n=[redacted] O&m=[email]"
    assert len(passes) == 1, passes
    assert logs.scrub({"path": "/x?m=a%40b.co"}) == {"path": "/x?m=[email]"}
    assert len(passes) == 2, passes


@pytest.mark.parametrize("escaped", [
    "%C2%85",  # NEL, a C1 control: a line break to str.splitlines
    "%C2%9B",  # CSI, the C1 control that starts a terminal escape sequence
    "%E2%80%A8",  # LINE SEPARATOR
    "%E2%80%AE",  # RIGHT-TO-LEFT OVERRIDE: the rest of the line shows reversed
    "%E2%80%8B",  # ZERO WIDTH SPACE
])
def test_escapes_of_characters_that_are_not_printable_are_kept(escaped, captured_lines):
    text = f"GET /x?q=a{escaped}b failed"
    assert decode_escapes(text) == text
    assert decode_escapes(f"caf%C3%A9 {escaped}") == f"café {escaped}"
    logging.getLogger("payments").warning(text)
    lines = captured_lines.getvalue().splitlines()
    assert json.loads(lines[-1])["message"] == text
