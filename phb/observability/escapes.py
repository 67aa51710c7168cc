"""Percent-encoding undone before a log line is scrubbed.

A URL or an error text can carry a query string, where an email reads ``jane.doe%40example.com``
(or ``%2540`` when encoded twice) and a phone number ``%2B234...``: the scrubbing patterns only
know the plain forms, so the text is decoded first, to every level, in time linear in its length.
"""

from __future__ import annotations

import re

# An escape of a printable ASCII character (space to tilde).
_ASCII_ESCAPE = re.compile(r"%([2-7][0-9A-Fa-f])")
# A run of escapes of bytes above ASCII: UTF-8 text such as an accented name.
_BYTE_ESCAPES = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")
_HEX = frozenset("0123456789abcdefABCDEF")
# ``%`` followed by ``25`` any number of times decodes, level by level, to one ``%``.
_NESTED_PERCENT = re.compile(r"%(?:25)+")


def _ascii(match: re.Match[str]) -> str:
    value = int(match.group(1), 16)
    return chr(value) if value < 0x7F else match.group(0)


def _utf8(match: re.Match[str]) -> str:
    """The run's text, or the run as it is when it is not UTF-8 or decodes to a character that is
    not printable: a C1 control (``%C2%85`` is a line break to ``str.splitlines``), a line or
    paragraph separator, a direction override (``%E2%80%AE`` shows the rest of the line reversed),
    a zero-width or other format character. Decoded, these would break the line or make it read
    otherwise than it was written."""
    try:
        text = bytes.fromhex(match.group(0).replace("%", "")).decode()
    except UnicodeDecodeError:
        return match.group(0)
    return text if text.isprintable() else match.group(0)


def _reduce(text: str) -> str:
    """Undo escapes until none is left, escapes made by decoding included (``%2540`` -> ``%40``
    -> ``@``, ``%%34%30`` -> ``%40`` -> ``@``), in one pass.

    ``stack`` holds the decoded text: single characters where an escape may still form, and runs
    of text without ``%`` elsewhere. An escape needs a ``%`` among the last two characters, so a
    character is pushed on its own only while one is there; each push either appends or replaces
    three characters by one, so the work is linear in the text's length.
    """
    parts = text.split("%")
    stack: list[str] = [parts[0]]

    def push(char: str) -> None:
        while (char in _HEX and len(stack) >= 2 and stack[-2] == "%" and len(stack[-1]) == 1
               and stack[-1] in _HEX and 0x20 <= int(stack[-1] + char, 16) < 0x7F):
            char = chr(int(stack.pop() + char, 16))
            stack.pop()
        stack.append(char)

    def pending() -> bool:
        return stack[-1] == "%" or (len(stack) >= 2 and stack[-2] == "%" and len(stack[-1]) == 1)

    for part in parts[1:]:
        push("%")
        i = 0
        while i < len(part) and pending():
            push(part[i])
            i += 1
        if i < len(part):
            stack.append(part[i:])
    return "".join(stack)


def decode_escapes(text: str) -> str:
    """``text`` with its percent-escapes decoded, nested ones too; text without ``%`` as it is.
    Escapes of control characters, of other characters that are not printable (separators, format
    characters such as direction overrides) and of bytes that are not UTF-8 are kept as they are."""
    if "%" not in text:
        return text
    once = _ASCII_ESCAPE.sub(_ascii, _NESTED_PERCENT.sub("%", text))
    if "%" in once and _ASCII_ESCAPE.search(once):
        once = _reduce(once)
    return _BYTE_ESCAPES.sub(_utf8, once) if "%" in once else once
