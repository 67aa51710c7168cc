"""Key layout of the two tracking tables.

``phb-pregnancy-tracking`` (attributes ``pk``/``sk``; one partition per user)::

    pk = USER#<user uuid>
    sk = KICK#<ulid>          kick session; the ULID's time is the session start
         CONTR#<ulid>         contraction; the ULID's time is the contraction start
         CDAY#<YYYY-MM-DD>    cycle-tracker day (upsert per date)
         LOG#<YYYY-MM-DD>     daily health log (upsert per date)
         FERT#<YYYY-MM-DD>    fertility entry (merged per date)
         PWEEK#<ww>           weekly pregnancy entry (upsert per week)

Entries also carry ``data_type`` and ``ts`` (epoch ms of the event) for the
``data-type-time-index`` GSI; upserts keep ``cids``, the client ids of their latest writes.

``phb-search-history`` (``pk``/``sk``)::

    pk = USER#<user uuid>
    sk = TERM#<sha256 of the case-folded term>   one item per distinct term: duplicates collapse

with ``term_day`` (UTC day of the last search) and ``term_norm`` (case-folded term) as the keys of
the ``search-term-index`` GSI used for trending.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time

USER = "USER#"
KICK = "KICK#"
CONTRACTION = "CONTR#"
CYCLE_DAY = "CDAY#"
DAILY_LOG = "LOG#"
FERTILITY = "FERT#"
PREGNANCY_WEEK = "PWEEK#"
TERM = "TERM#"

DATA_TYPE_INDEX = "data-type-time-index"
SEARCH_TERM_INDEX = "search-term-index"

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")


def user_pk(user_id: object) -> str:
    return f"{USER}{user_id}"


def ulid(at_ms: int | None = None) -> str:
    """A 26-character ULID: 48 bits of milliseconds then 80 random bits, lexically time-ordered."""
    ms = int(time.time() * 1000) if at_ms is None else int(at_ms)
    return ulid_with(ms, secrets.randbits(80))


def ulid_with(ms: int, low80: int) -> str:
    """A ULID with chosen low 80 bits (derived from a client id, it names the same entry every time)."""
    if not 0 <= ms < 2**48:
        raise ValueError("time out of range for a ULID")
    value = (int(ms) << 80) | (low80 & (2**80 - 1))
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_ulid(text: object) -> bool:
    return isinstance(text, str) and bool(_ULID.fullmatch(text))


def ulid_ms(text: str) -> int:
    value = 0
    for char in text[:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value


def term_key(term_norm: str) -> str:
    return f"{TERM}{hashlib.sha256(term_norm.encode()).hexdigest()}"
