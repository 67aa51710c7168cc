"""The PHI audit trail: one append-only row per read or write, plus a line on ``phb.audit``.

The log line carries ids only (actor reference, patient id, object id, request id); never names,
contents or tokens.
"""

from __future__ import annotations

import logging
from typing import Any

from phb.db import PrecompiledInsert
from records.models import AuditEvent

audit_logger = logging.getLogger("phb.audit")
# Written on every read of someone's record: the INSERT is compiled once per connection (phb.db).
_audit_insert = PrecompiledInsert(AuditEvent)


def _client_ip(request: Any) -> str | None:
    if request is None:
        return None
    from accounts.throttles import client_ip

    try:
        meta_request = getattr(request, "_request", request)
        ip = client_ip(meta_request)
    except Exception:  # an odd request object must never stop the audit row
        return None
    return ip if ip and ip != "unknown" else None


def _id_of(value: Any) -> Any:
    if value is None:
        return None
    return getattr(value, "pk", value)


def audit_record(
    *,
    actor: Any,
    patient: Any,
    action: str,
    object_type: str,
    object_id: str,
    request: Any = None,
) -> None:
    """Append one audit row. ``actor``/``patient`` may be users or their ids (``actor`` None = system)."""
    from phb.logs import request_id_var, user_reference

    request_id = ""
    if request is not None:
        request_id = getattr(getattr(request, "_request", request), "request_id", "") or ""
    request_id = request_id or request_id_var.get() or ""
    actor_id = _id_of(actor)
    patient_id = _id_of(patient)
    event = _audit_insert.insert(AuditEvent(
        actor_id=actor_id,
        actor_role=getattr(actor, "role", "") or "",
        patient_id=patient_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id or "")[:64],
        request_id=request_id[:64],
        ip_address=_client_ip(request),
    ))
    audit_logger.info(
        "phi access",
        extra={
            "event": "phi_access",
            "audit_id": str(event.pk),
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id or ""),
            "actor_ref": user_reference(actor_id) if actor_id else "system",
            "patient_ref": user_reference(patient_id) if patient_id else None,
        },
    )
