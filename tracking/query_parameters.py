"""The query parameters the women's-health lists read, as the API description states them.

A list reads only these; each is optional (left out, the list's default applies). Integers are
clamped to the list's range; dates are ``YYYY-MM-DD``, a range at most ``MAX_RANGE_DAYS`` days
with its start not after its end (400 otherwise; left out, the range ends today).
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from tracking.models import GoalStatus
from tracking.selectors import MAX_RANGE_DAYS


def _limit(default: int) -> OpenApiParameter:
    return OpenApiParameter("limit", OpenApiTypes.INT,
                            description=f"Page size (default {default}; clamped to 1 to the list's maximum).")


CURSOR = OpenApiParameter("cursor", OpenApiTypes.STR, description="The `next_cursor` of the previous page.")
DATE_RANGE = [
    OpenApiParameter("start_date", OpenApiTypes.DATE,
                     description=f"First day (YYYY-MM-DD); not after `end_date`, at most {MAX_RANGE_DAYS} days before it."),
    OpenApiParameter("end_date", OpenApiTypes.DATE, description="Last day (YYYY-MM-DD); today when left out."),
]
CYCLES = [_limit(20), OpenApiParameter("offset", OpenApiTypes.INT, description="Cycles to skip (newest first).")]
KICK_SESSIONS = [_limit(20), CURSOR]
CONTRACTIONS = [_limit(50), CURSOR]
GOALS = [
    OpenApiParameter("status", str, enum=list(GoalStatus.values), description="Only goals in this status."),
    OpenApiParameter("limit", OpenApiTypes.INT, description="Page size (clamped to the list's maximum)."),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="The `X-Next-Cursor` of the previous page."),
]
SEARCH_HISTORY = [_limit(50)]
TRENDING = [
    OpenApiParameter("days", OpenApiTypes.INT, description="Days counted back from today (default 7, clamped to the maximum)."),
    _limit(10),
]
