"""Admissions in the PHI audit trail (``records.AuditEvent``): every read and write of an admission.

A list read appends one row per admission shown, in one INSERT, and one log line with the count
(ids only, as everywhere in the trail).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from admissions.models import Admission
from records.audit import audit_record

OBJECT_TYPE = "admission"
audit_logger = logging.getLogger("phb.audit")


def audit_admission(*, actor: Any, admission: Admission, action: str, request: Any = None) -> None:
    audit_record(actor=actor, patient=admission.patient_id, action=action, object_type=OBJECT_TYPE,
                 object_id=admission.admission_id, request=request)


def audit_admission_list(*, actor: Any, admissions: Iterable[Admission], request: Any = None) -> None:
    from phb.logs import request_id_var, user_reference
    from records.audit import _client_ip
    from records.models import AuditEvent

    rows = list(admissions)
    if not rows:
        return
    request_id = getattr(getattr(request, "_request", request), "request_id", "") or request_id_var.get() or ""
    ip = _client_ip(request)
    AuditEvent.objects.bulk_create([
        AuditEvent(actor_id=actor.pk, actor_role=getattr(actor, "role", "") or "", patient_id=a.patient_id,
                   action="list", object_type=OBJECT_TYPE, object_id=a.admission_id, request_id=request_id[:64],
                   ip_address=ip)
        for a in rows
    ])
    audit_logger.info("phi access", extra={"event": "phi_access", "action": "list", "object_type": OBJECT_TYPE,
                                           "count": len(rows), "actor_ref": user_reference(actor.pk)})
