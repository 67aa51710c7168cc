"""Access tokens this process has already verified, so a browser's next requests skip the signature work.

A browser sends the same access token with every request for up to ``ACCESS_TOKEN_LIFETIME``.
Decoding it and checking its HMAC signature is the largest part of authenticating a request after
the user query. The first request with a token verifies it in full (signature, expiry, id and
type, as ``rest_framework_simplejwt`` does). The verified token is then kept in a bounded
least-recently-used table of this process, keyed by its exact bytes (the signing key is a
setting, fixed for the life of a process). A later request with the same bytes gets a copy of
the verified claims after one check: the expiry, against the current time.

Not cached: a token that failed (every attempt is verified in full), the user (the account, its
``token_version`` and the password hash the token was issued under are read on every request,
so logout and password changes end a token at once), and nothing is shared between processes.
``AUTH_VERIFIED_TOKEN_CACHE_SIZE`` bounds the table (0 turns it off).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from django.conf import settings
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import Token
from rest_framework_simplejwt.utils import aware_utcnow

from phb.lru import BoundedLRU


class VerifiedTokens:
    def __init__(self) -> None:
        self._tokens: BoundedLRU[bytes, Token] = BoundedLRU(size=lambda: settings.AUTH_VERIFIED_TOKEN_CACHE_SIZE)

    def get(self, raw: bytes, *, verify: Callable[[bytes], Token]) -> Token:
        """The verified token for ``raw``: from the table while it has not expired, else ``verify(raw)``."""
        if not self._tokens.enabled:
            return verify(raw)
        known = self._tokens.get(raw)
        if known is not None:
            token = _own_copy(known)
            try:
                token.check_exp()
                return token
            except TokenError:
                self.forget(raw)
        token = verify(raw)  # raises for anything not valid now
        self._tokens.put(raw, token)
        return _own_copy(token)

    def forget(self, raw: bytes) -> None:
        self._tokens.forget(raw)

    def clear(self) -> None:
        self._tokens.clear()

    def __len__(self) -> int:
        return len(self._tokens)


def _own_copy(token: Token) -> Token:
    """The request's own token: its claims can be changed without touching the table's."""
    mine = copy.copy(token)
    mine.payload = dict(token.payload)
    mine.current_time = aware_utcnow()
    return mine


verified_tokens = VerifiedTokens()
