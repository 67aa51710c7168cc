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


def signed_whole_number(text: object, *, max_digits: int = BIGINT_DIGITS) -> int | None:
    """:func:`whole_number` with an optional leading minus sign ("-5"); None for anything else,
    an empty text, spaces, "+5", "1_0" and non-ASCII digits included."""
    if isinstance(text, str) and text.startswith("-"):
        value = whole_number(text[1:], max_digits=max_digits)
        return None if value is None else -value
    return whole_number(text, max_digits=max_digits)


# A bigint's range (and SQLite's INTEGER): the widest integer column, the largest primary key.
MIN_BIGINT, MAX_BIGINT = -(2**63), 2**63 - 1
MAX_ID = MAX_BIGINT
