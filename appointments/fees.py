"""Appointment fees: the department's own fee for a priority, else the frontend's fee table.
"""

from __future__ import annotations

from decimal import Decimal

from appointments.models import (
    DepartmentFee,
    Priority,
)
from hospitals.models import Department
from phb.api.errors import ApiError

# Fee table of the frontend (NGN): routine 2000, soon 3500, urgent 5000; specialist departments
# at least 7500, urgent specialist 10000. Priorities: routine=normal, soon=urgent, urgent=emergency.
DEFAULT_FEES = {
    Priority.NORMAL: Decimal("2000"),
    Priority.URGENT: Decimal("3500"),
    Priority.EMERGENCY: Decimal("5000"),
}
SPECIALIST_MINIMUM_FEE = Decimal("7500")
SPECIALIST_EMERGENCY_FEE = Decimal("10000")
SPECIALIST_KEYWORDS = (
    "cardiology",
    "neurology",
    "orthopedics",
    "oncology",
    "gastroenterology",
    "pulmonology",
    "endocrinology",
    "nephrology",
    "rheumatology",
    "dermatology",
)
PRIORITY_ALIASES = {"routine": Priority.NORMAL, "soon": Priority.URGENT, "normal": Priority.NORMAL,
                    "urgent": Priority.URGENT, "emergency": Priority.EMERGENCY}

# --- Fees ----------------------------------------------------------------------------------
def normalize_priority(value: str | None) -> str:
    priority = PRIORITY_ALIASES.get((value or "normal").strip().lower())
    if priority is None:
        raise ApiError("priority must be one of normal, urgent, emergency.", code="invalid_priority")
    return str(priority)


def is_specialist(department: Department) -> bool:
    name = department.name.lower()
    return any(keyword in name for keyword in SPECIALIST_KEYWORDS)


def default_fee(*, department: Department, priority: str) -> Decimal:
    base = DEFAULT_FEES[Priority(priority)]
    if not is_specialist(department):
        return base
    if priority == Priority.EMERGENCY:
        return SPECIALIST_EMERGENCY_FEE
    return max(base, SPECIALIST_MINIMUM_FEE)


def fee_for(*, department: Department, priority: str) -> Decimal:
    """The fee in NGN for ``department`` and ``priority``: an admin-set row, else the default table."""
    priority = normalize_priority(priority)
    row = DepartmentFee.objects.filter(department=department, priority=priority).only("amount").first()
    if row is not None:
        return row.amount
    return default_fee(department=department, priority=priority)
