"""Women's health (contract §5: W1–W19 and the localStorage datasets) and search history (§7).

Responses are ``{success: true, <key>: ...}``; errors carry ``message`` (``phb.api.errors``).
A write DynamoDB cannot take now is kept in the outbox and answered 202 ``queued: true``;
a read that needs DynamoDB during an outage is a 503 with a message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from phb.api import pagination
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.serializers import validated
from phb.api.views import ApiView, ScopedAPIView
from tracking import outbox, population, selectors, services
from tracking import query_parameters as query
from tracking.dynamo.store import TrackingUnavailable
from tracking.kinds import (
    CYCLE_DAYS,
    DAILY_LOGS,
    FERTILITY,
    CycleDayInput,
    DailyLogInput,
    FertilityInput,
    SearchInput,
)
from tracking.models import HealthGoal
from tracking.serializers import (
    CycleInput,
    GoalInput,
    GoalUpdateInput,
    ProfileInput,
    SyncInput,
    cycle_payload,
)
from tracking.services import Recorded
from tracking.sync import SYNC_STATUSES, sync_apply
from tracking.verification import is_verified, verification_confirm, verification_send, verification_status
from tracking.writes import FAILED

logger = logging.getLogger("tracking.views")

QUEUED_MESSAGE = "Saved. It will be stored as soon as the tracking service is back."


class TrackingUnavailableError(ApiError):
    wait = 30

    def __init__(self) -> None:
        super().__init__("Tracking data is temporarily unavailable. Please try again shortly.",
                         status_code=503, code="tracking_unavailable", success=False)


class TrackingWriteFailedError(ApiError):
    def __init__(self) -> None:
        super().__init__("Your entry could not be saved. Please try again.", status_code=502,
                         code="tracking_write_failed", success=False)


class WomensHealthVerified(BasePermission):
    """The area's own one-time-code check (W1–W3) is required for its data."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not is_verified(user=request.user):
            raise ApiError("Verify your identity for women's health first.", status_code=403,
                           code="womens_health_verification_required", success=False, verified=False)
        return True


def _body(request: Request) -> dict[str, Any]:
    return request.data if isinstance(request.data, dict) else {}


def _record(request: Request, kind: Any, body: dict[str, Any] | None = None) -> Recorded:
    """One write of ``kind`` from the request body (its optional ``client_id`` makes it idempotent)."""
    body = _body(request) if body is None else body
    return services.entry_record(user=request.user, kind=kind.name, body=body,
                                 client_id=services.client_id_clean(body.get("client_id")))


# A write of one entry: 201 a new one; 200 one that updated its date's entry (upserts) or repeated a
# client_id already applied; 202 kept in the outbox while DynamoDB is unavailable.
RECORDED_RESPONSES = {201: dict, 200: dict, 202: dict}


def ok(status_code: int = 200, **payload: Any) -> Response:
    return Response({"success": True, **payload}, status=status_code)


def recorded_response(recorded: Recorded, *, key: str, message: str, created_status: int = 201,
                      **extra: Any) -> Response:
    result = recorded.result
    if result.status == FAILED:  # DynamoDB refused it: nothing was stored, nothing kept; sent again, it is applied
        raise TrackingWriteFailedError()
    body: dict[str, Any] = {key: recorded.payload, "client_id": result.client_id, **extra}
    if recorded.queued:
        return ok(status.HTTP_202_ACCEPTED, queued=True, message=QUEUED_MESSAGE, **body)
    if result.status == "duplicate":
        return ok(200, queued=False, duplicate=True, message="Already recorded.", **body)
    return ok(created_status, queued=False, message=message, **body)


class TrackingMixin:
    """503 for reads during a DynamoDB outage; a small background outbox drain after successes."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, TrackingUnavailable):
            exc = TrackingUnavailableError()
        return super().handle_exception(exc)  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if 200 <= response.status_code < 300 and response.status_code != 202:
            try:
                outbox.maybe_drain_in_background()
            except Exception:
                logger.exception("background outbox drain failed", extra={"event": "tracking_outbox_background"})
        return response


# The area's pages send JSON bodies only; a form body (where every value is text) is a 415.
class WomensHealthView(TrackingMixin, ApiView):
    access = Access.OWN
    permission_classes = [IsAuthenticated, WomensHealthVerified]


class WomensHealthScopedView(TrackingMixin, ScopedAPIView):
    access = Access.OWN
    permission_classes = [IsAuthenticated, WomensHealthVerified]


# --- W1–W3 ---------------------------------------------------------------------------------------
class VerificationView(ApiView):
    access = Access.OWN

    @extend_schema(responses={200: dict}, summary="W1 verification status")
    def get(self, request: Request) -> Response:
        return ok(status=verification_status(user=request.user))

    @extend_schema(request=None, responses={200: dict}, summary="W2 send a women's health code")
    def post(self, request: Request) -> Response:
        verification_send(user=request.user)
        return ok(message="We sent a 6-digit code to your email. It expires in 5 minutes.")


class VerificationVerifyView(ApiView):
    access = Access.OWN

    @extend_schema(request=dict, responses={200: dict}, summary="W3 verify the code")
    def post(self, request: Request) -> Response:
        verified_at = verification_confirm(user=request.user, code=_body(request).get("otp"))
        return ok(verified=True, verification_date=verified_at.isoformat(), message="Verified.")


# --- W4–W7 ---------------------------------------------------------------------------------------
class DashboardView(WomensHealthView):
    @extend_schema(responses={200: dict}, summary="W4 dashboard")
    def get(self, request: Request) -> Response:
        return ok(dashboard=selectors.dashboard(fetched_by=request.user))


class ProfileView(WomensHealthView):
    @extend_schema(responses={200: dict}, summary="W5 profile")
    def get(self, request: Request) -> Response:
        return ok(profile=selectors.profile_get(fetched_by=request.user))

    @extend_schema(request=ProfileInput, responses={200: dict}, summary="W6 create the profile")
    def post(self, request: Request) -> Response:
        services.profile_upsert(user=request.user, data=validated(ProfileInput, request.data, partial=True))
        return ok(profile=selectors.profile_get(fetched_by=request.user), message="Profile saved.")

    @extend_schema(request=ProfileInput, responses={200: dict}, summary="W7 update the profile")
    def put(self, request: Request) -> Response:
        services.profile_upsert(user=request.user, data=validated(ProfileInput, request.data, partial=True))
        return ok(profile=selectors.profile_get(fetched_by=request.user), message="Profile updated.")

    patch = put


# --- W8–W10 and cycle days -----------------------------------------------------------------------
class CycleListView(WomensHealthView):
    @extend_schema(responses={200: dict}, parameters=query.CYCLES, summary="W8 cycles with their days", operation_id="womens_health_cycles_list")
    def get(self, request: Request) -> Response:
        cycles, total = selectors.cycle_list(fetched_by=request.user, limit=request.query_params.get("limit"),
                                             offset=request.query_params.get("offset"))
        offset = max(0, selectors.query_integer(request.query_params.get("offset"), name="offset", default=0))
        return ok(cycles=cycles, total_count=total, has_more=offset + len(cycles) < total)

    @extend_schema(request=CycleInput, responses={201: dict}, summary="W9 start a cycle")
    def post(self, request: Request) -> Response:
        cycle = services.cycle_create(user=request.user, data=validated(CycleInput, request.data))
        return ok(201, cycle=cycle_payload(cycle, days=[]), message="Cycle recorded.")


class CycleDetailView(WomensHealthScopedView):
    def scoped_queryset(self, user):
        return selectors.cycles_of(fetched_by=user)

    @extend_schema(responses={200: dict}, summary="One cycle", operation_id="womens_health_cycle_retrieve")
    def get(self, request: Request, cycle_id: str) -> Response:
        cycle = self.get_scoped_object(request, pk=cycle_id)
        return ok(cycle=selectors.cycle_get(fetched_by=request.user, cycle=cycle))

    @extend_schema(responses={200: dict}, summary="W10 delete a cycle")
    def delete(self, request: Request, cycle_id: str) -> Response:
        services.cycle_delete(cycle=self.get_scoped_object(request, pk=cycle_id))
        return ok(message="Cycle deleted.")


class CycleDayListView(WomensHealthView):
    @extend_schema(responses={200: dict}, parameters=query.DATE_RANGE, summary="Cycle-tracker days in a date range")
    def get(self, request: Request) -> Response:
        days = selectors.cycle_day_list(fetched_by=request.user, start_date=request.query_params.get("start_date"),
                                        end_date=request.query_params.get("end_date"))
        return ok(days=days, total_count=len(days))

    @extend_schema(request=CycleDayInput, responses=RECORDED_RESPONSES, summary="Record a cycle-tracker day (upsert per date)")
    def post(self, request: Request) -> Response:
        recorded = _record(request, CYCLE_DAYS)
        return recorded_response(recorded, key="day", message="Day saved.",
                                 created_status=200 if recorded.existed else 201)


class CycleDayDetailView(WomensHealthView):
    @extend_schema(responses={200: dict}, summary="Delete a cycle-tracker day")
    def delete(self, request: Request, day: str) -> Response:
        recorded = services.entry_delete(user=request.user, kind=CYCLE_DAYS.name, entity_id=day)
        return _deleted(recorded)


def _deleted(recorded: Recorded) -> Response:
    if recorded.result.status == FAILED:
        raise TrackingWriteFailedError()
    if recorded.queued:
        return ok(status.HTTP_202_ACCEPTED, queued=True, message=QUEUED_MESSAGE)
    return ok(queued=False, message="Deleted.")


class FertilityView(WomensHealthView):
    @extend_schema(responses={200: dict}, parameters=query.DATE_RANGE, summary="W13 fertility entries")
    def get(self, request: Request) -> Response:
        data = selectors.fertility_page(fetched_by=request.user, start_date=request.query_params.get("start_date"),
                                        end_date=request.query_params.get("end_date"))
        return ok(fertility_data=data, total_count=data["length"])

    @extend_schema(request=FertilityInput, responses=RECORDED_RESPONSES, summary="W14 record fertility signs (merged per date)")
    def post(self, request: Request) -> Response:
        recorded = _record(request, FERTILITY)
        return recorded_response(recorded, key="tracking", message="Fertility data saved.",
                                 created_status=200 if recorded.existed else 201)


class DailyLogView(WomensHealthView):
    @extend_schema(responses={200: dict}, parameters=query.DATE_RANGE, summary="W18 daily logs")
    def get(self, request: Request) -> Response:
        logs = selectors.daily_log_list(fetched_by=request.user, start_date=request.query_params.get("start_date"),
                                        end_date=request.query_params.get("end_date"))
        return ok(logs=logs, total_count=len(logs))

    @extend_schema(request=DailyLogInput, responses=RECORDED_RESPONSES, summary="W19 daily log (upsert per date)")
    def post(self, request: Request) -> Response:
        recorded = _record(request, DAILY_LOGS)
        if recorded.queued:
            return recorded_response(recorded, key="log", message="")
        action = "updated" if recorded.existed else "created"
        return recorded_response(recorded, key="log", message=f"Daily log {action}.", action=action,
                                 created_status=200 if recorded.existed else 201)


# --- Goals W15–W17 -------------------------------------------------------------------------------
def _goal(goal: HealthGoal) -> dict[str, Any]:
    return selectors.goal_payloads([goal])[0]


def _goal_written(write: Callable[[], HealthGoal]) -> dict[str, Any]:
    """The payload of the goal ``write`` saves, read in the same transaction: a connection lost
    while reading it rolls the write back, so a client that retries after the 503 stores it once."""
    with transaction.atomic():
        return _goal(write())


class GoalListView(WomensHealthView):
    @extend_schema(responses={200: dict}, parameters=query.GOALS, summary="W15 goals", operation_id="womens_health_goals_list")
    def get(self, request: Request) -> Response:
        found = selectors.goal_list(fetched_by=request.user, status=request.query_params.get("status"))
        page = pagination.paginate(request, found, spec=pagination.RECENT_FIRST)
        total = pagination.total_of(page, found)
        body = ok(goals=selectors.goal_payloads(list(page.items)), total_count=total)
        for name, value in page.headers().items():
            body[name] = value
        return body

    @extend_schema(request=GoalInput, responses={201: dict}, summary="W16 create a goal")
    def post(self, request: Request) -> Response:
        data = validated(GoalInput, request.data)
        return ok(201, goal=_goal_written(lambda: services.goal_create(user=request.user, data=data)),
                  message="Goal created.")


class GoalDetailView(WomensHealthScopedView):
    def scoped_queryset(self, user):
        return selectors.goals_of(fetched_by=user)

    @extend_schema(responses={200: dict}, summary="One goal", operation_id="womens_health_goal_retrieve")
    def get(self, request: Request, goal_id: str) -> Response:
        return ok(goal=_goal(self.get_scoped_object(request, pk=goal_id)))

    @extend_schema(request=GoalUpdateInput, responses={200: dict}, summary="W17 update a goal (partial)")
    def put(self, request: Request, goal_id: str) -> Response:
        goal = self.get_scoped_object(request, pk=goal_id)
        data = validated(GoalUpdateInput, request.data, partial=True)
        return ok(goal=_goal_written(lambda: services.goal_update(goal=goal, data=data)), message="Goal updated.")

    patch = put

    @extend_schema(responses={200: dict}, summary="Delete a goal")
    def delete(self, request: Request, goal_id: str) -> Response:
        self.get_scoped_object(request, pk=goal_id).delete()
        return ok(message="Goal deleted.")


# --- Offline sync ----------------------------------------------------------------------------------
class SyncView(WomensHealthView):
    @extend_schema(request=SyncInput, responses={200: dict, 202: dict}, summary="Apply up to 500 offline entries",
                   description="Each item is checked on its own: one that is not a valid entry is answered in "
                               "`results` with status `invalid`, and the others are applied.")
    def post(self, request: Request) -> Response:
        from django.conf import settings

        results = sync_apply(user=request.user, items=_body(request).get("items"),
                                      max_items=settings.TRACKING_SYNC_MAX_ITEMS)
        queued = any(r["status"] == "queued" for r in results)
        summary = {s: sum(1 for r in results if r["status"] == s) for s in SYNC_STATUSES}
        return ok(status.HTTP_202_ACCEPTED if queued else 200, queued=queued, results=results, summary=summary)


# --- Search history (§7) ---------------------------------------------------------------------------
class SearchHistoryView(TrackingMixin, ApiView):
    access = Access.OWN

    @extend_schema(responses={200: dict}, parameters=query.SEARCH_HISTORY,
                   summary="The caller's search terms, most recent first")
    def get(self, request: Request) -> Response:
        history = selectors.search_history_list(fetched_by=request.user, limit=request.query_params.get("limit"))
        return ok(history=history, total_count=len(history))

    @extend_schema(request=SearchInput, responses={201: dict, 200: dict, 202: dict},
                   summary="Add a search term (200: a blank term, not recorded; 202: queued)")
    def post(self, request: Request) -> Response:
        recorded = services.search_record(user=request.user, body=_body(request))
        if recorded is None:
            return ok(ignored=True, message="Blank search terms are not recorded.")
        return recorded_response(recorded, key="entry", message="Search saved.")

    @extend_schema(request=dict, responses={200: dict}, summary="Remove one term (body or ?term=) or all")
    def delete(self, request: Request) -> Response:
        term = _body(request).get("term") or request.query_params.get("term")
        if term is not None and not isinstance(term, str):
            raise ApiError("term must be text.", code="invalid")
        if term and term.strip():
            return _deleted(services.search_remove(user=request.user, term=term))
        return _deleted(services.search_clear(user=request.user))


class SearchTrendingView(TrackingMixin, ApiView):
    access = Access.OWN

    @extend_schema(responses={200: dict}, parameters=query.TRENDING,
                   summary="Trending search terms (hospital administrators)")
    def get(self, request: Request) -> Response:
        return ok(**population.search_trending(fetched_by=request.user, days=request.query_params.get("days"),
                                              limit=request.query_params.get("limit")))
