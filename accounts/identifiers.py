"""National identity numbers (NIN, SSN) at rest: the full number is sealed with the records'
envelope encryption (KMS data keys, ``records.crypto``), bound to its user and field, in
``<field>_sealed``; the ``<field>`` column keeps only the masked form the API shows
(``*******8901``). Sealing calls KMS, so it happens before any transaction opens.

Rows written before numbers were sealed hold the plain number in ``<field>`` and nothing in
``<field>_sealed``: ``manage.py seal_identifiers`` seals them (claim by a conditional update on the
plain value, so a row changed meanwhile is left for the next run), after which no plain number is
left in the table.
"""

from __future__ import annotations

import logging
from typing import Any

from accounts.models import User

logger = logging.getLogger("accounts")

IDENTIFIERS = ("nin", "ssn")


def masked(value: str) -> str:
    return f"{'*' * max(0, len(value) - 4)}{value[-4:]}"


def _context(*, user_id: object, field: str) -> str:
    return f"accounts.User.{field}:{user_id}"


def sealed_identifiers(*, user_id: object, values: dict[str, Any]) -> dict[str, str]:
    """The columns to store for each identifier given in ``values``: ``<field>`` masked and
    ``<field>_sealed``. Raises ``records.crypto.EncryptionUnavailable`` when KMS gives no key."""
    from records.crypto import encrypt_text

    columns: dict[str, str] = {}
    for field in IDENTIFIERS:
        value = str(values.get(field) or "")
        if value:
            columns[field] = masked(value)
            columns[f"{field}_sealed"] = encrypt_text(value, context=_context(user_id=user_id, field=field))
    return columns


def identifier_of(*, user: User, field: str) -> str:
    """The full number (empty when none was given); a row not sealed yet holds it in the clear."""
    from records.crypto import decrypt_text

    sealed = getattr(user, f"{field}_sealed")
    if sealed:
        return decrypt_text(sealed, context=_context(user_id=user.pk, field=field))
    return getattr(user, field)


def seal_identifiers(*, limit: int = 500) -> int:
    """Seal up to ``limit`` users' plain numbers; returns how many rows were sealed."""
    from django.db.models import Q

    pending = Q()
    for field in IDENTIFIERS:
        pending |= ~Q(**{field: ""}) & Q(**{f"{field}_sealed": ""})
    sealed_rows = 0
    for row in User.objects.filter(pending).values("pk", *IDENTIFIERS, *(f"{f}_sealed" for f in IDENTIFIERS))[:limit]:
        plain = {field: row[field] for field in IDENTIFIERS if row[field] and not row[f"{field}_sealed"]}
        columns = sealed_identifiers(user_id=row["pk"], values=plain)  # KMS, with no transaction open
        unchanged = {field: value for field, value in plain.items()}
        unsealed = {f"{field}_sealed": "" for field in plain}
        sealed_rows += User.objects.filter(pk=row["pk"], **unchanged, **unsealed).update(**columns)
    if sealed_rows:
        logger.info("identity numbers sealed", extra={"event": "identifiers_sealed", "rows": sealed_rows})
    return sealed_rows
