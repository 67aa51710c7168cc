"""Whole numbers read from text the service did not write (paths, bodies, gateway headers)."""

from __future__ import annotations

BIGINT_DIGITS = 18  # every 18-digit number fits PostgreSQL's bigint


def whole_number(text: object, *, max_digits: int = BIGINT_DIGITS) -> int | None:
    """The value of ``text`` when it is 1 to ``max_digits`` ASCII digits ("12"), else None.

    ``str.isdigit()`` alone is true for "³" (which ``int()`` refuses) and for "١٢" (which ``int()``
    reads as 12), and ``int()`` refuses more than 4,300 digits.
    """
    if isinstance(text, str) and 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None


MAX_ID = 2**63 - 1  # the largest primary key a bigint column (and SQLite's INTEGER) holds
