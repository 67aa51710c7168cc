"""Women's health, the pregnancy toolkit (contract §5: W11–W14, W18–W19): the weekly pregnancy
entry, kick sessions, contractions, the due date, the birth plan, favourite baby names and the
baby shower checklist. Shared pieces (the verified-area base views, the recorded-write answers)
are in ``tracking.views``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from phb.api.errors import ApiError
from phb.api.serializers import validated
from tracking import query_parameters as query
from tracking import selectors, services
from tracking.birth_plan import BirthPlanInput, ChecklistInput, FavoritesInput
from tracking.dynamo import keys
from tracking.kinds import CONTRACTIONS, KICK_SESSIONS, PREGNANCY_WEEKS, ContractionInput, KickSessionInput
from tracking.serializers import DueDateInput, PregnancyWeekRequest
from tracking.views import (
    RECORDED_RESPONSES,
    WomensHealthView,
    _body,
    _deleted,
    _record,
    ok,
    recorded_response,
)


# --- W11–W14, W18–W19 -----------------------------------------------------------------------------
class PregnancyView(WomensHealthView):
    @extend_schema(responses={200: dict}, summary="W11 pregnancy record")
    def get(self, request: Request) -> Response:
        return ok(pregnancy_record=selectors.pregnancy_record(fetched_by=request.user))

    @extend_schema(request=PregnancyWeekRequest, responses=RECORDED_RESPONSES, summary="W12 weekly pregnancy entry",
                   description="`pregnancy_week` 0 or absent (the tracker page sends the profile's week, 0 when "
                               "it has none): the current week from the profile's due date; 409 `not_pregnant` "
                               "when the profile has no pregnancy to file it under.")
    def post(self, request: Request) -> Response:
        body = selectors.weekly_entry_body(fetched_by=request.user, body=_body(request))
        recorded = _record(request, PREGNANCY_WEEKS, body)
        return recorded_response(recorded, key="entry", message="Weekly entry saved.",
                                 created_status=200 if recorded.existed else 201)


# --- Kick sessions and contractions ---------------------------------------------------------------
class KickSessionListView(WomensHealthView):
    @extend_schema(responses={200: dict}, parameters=query.KICK_SESSIONS, summary="Kick sessions, newest first, cursor paging")
    def get(self, request: Request) -> Response:
        sessions, cursor = selectors.kick_session_list(fetched_by=request.user,
                                                       limit=request.query_params.get("limit"),
                                                       cursor=request.query_params.get("cursor") or None)
        return ok(kick_sessions=sessions, next_cursor=cursor, has_more=cursor is not None)

    @extend_schema(request=KickSessionInput, responses=RECORDED_RESPONSES, summary="Record a kick session")
    def post(self, request: Request) -> Response:
        recorded = _record(request, KICK_SESSIONS)
        return recorded_response(recorded, key="kick_session", message="Kick session saved.")


def _delete_entry(request: Request, kind, entry_id: str) -> Response:
    """Delete one of the caller's entries by its ULID (anything else is not one of hers: 404)."""
    if not keys.is_ulid(entry_id):
        raise ApiError("Not found.", status_code=404, code="not_found")
    return _deleted(services.entry_delete(user=request.user, kind=kind.name, entity_id=entry_id))


class KickSessionDetailView(WomensHealthView):
    @extend_schema(responses={200: dict}, summary="Delete a kick session")
    def delete(self, request: Request, entry_id: str) -> Response:
        return _delete_entry(request, KICK_SESSIONS, entry_id)


class ContractionListView(WomensHealthView):
    @extend_schema(responses={200: dict}, parameters=query.CONTRACTIONS,
                   summary="Contractions: oldest first in a page, pages walk back")
    def get(self, request: Request) -> Response:
        items, cursor, alert = selectors.contraction_list(fetched_by=request.user,
                                                          limit=request.query_params.get("limit"),
                                                          cursor=request.query_params.get("cursor") or None)
        return ok(contractions=items, alert=alert, next_cursor=cursor, has_more=cursor is not None)

    @extend_schema(request=ContractionInput, responses=RECORDED_RESPONSES, summary="Record a contraction")
    def post(self, request: Request) -> Response:
        recorded, alert = services.contraction_record(
            user=request.user, body=_body(request), client_id=services.client_id_clean(_body(request).get("client_id"))
        )
        return recorded_response(recorded, key="contraction", message="Contraction saved.", alert=alert)


class ContractionDetailView(WomensHealthView):
    @extend_schema(responses={200: dict}, summary="Delete a contraction")
    def delete(self, request: Request, entry_id: str) -> Response:
        return _delete_entry(request, CONTRACTIONS, entry_id)


# --- Due date and birth plan (PostgreSQL) -----------------------------------------------------------
class DueDateView(WomensHealthView):
    @extend_schema(responses={200: dict}, summary="Due date and the pregnancy week")
    def get(self, request: Request) -> Response:
        return ok(**selectors.due_date_get(fetched_by=request.user))

    @extend_schema(request=DueDateInput, responses={200: dict}, summary="Set or clear the due date")
    def put(self, request: Request) -> Response:
        data = validated(DueDateInput, request.data)
        services.due_date_set(user=request.user, due_date=data["due_date"])
        return ok(message="Due date saved." if data["due_date"] else "Due date cleared.",
                  **selectors.due_date_get(fetched_by=request.user))

    @extend_schema(responses={200: dict}, summary="Clear the due date")
    def delete(self, request: Request) -> Response:
        services.due_date_set(user=request.user, due_date=None)
        return ok(message="Due date cleared.", **selectors.due_date_get(fetched_by=request.user))


class BirthPlanView(WomensHealthView):
    @extend_schema(responses={200: dict}, summary="The birth plan (null until saved)")
    def get(self, request: Request) -> Response:
        return ok(birth_plan=selectors.birth_plan_get(fetched_by=request.user))

    @extend_schema(request=BirthPlanInput, responses={200: dict}, summary="Save the birth plan (8 sections)")
    def put(self, request: Request) -> Response:
        services.birth_plan_save(user=request.user, body=request.data)
        return ok(birth_plan=selectors.birth_plan_get(fetched_by=request.user), message="Birth plan saved.")


class BabyNameFavoritesView(WomensHealthView):
    @extend_schema(responses={200: dict}, summary="Favourite baby names (ids into the bundled list)")
    def get(self, request: Request) -> Response:
        return ok(favorites=selectors.planner_get(fetched_by=request.user).baby_name_favorites)

    @extend_schema(request=FavoritesInput, responses={200: dict}, summary="Replace the favourite baby names")
    def put(self, request: Request) -> Response:
        data = validated(FavoritesInput, request.data)
        planner = services.planner_save(user=request.user, baby_name_favorites=data["favorites"])
        return ok(favorites=planner.baby_name_favorites, message="Favourites saved.")


class BabyShowerChecklistView(WomensHealthView):
    @extend_schema(responses={200: dict}, summary="The baby-shower checklist")
    def get(self, request: Request) -> Response:
        return ok(checklist=selectors.planner_get(fetched_by=request.user).baby_shower_checklist)

    @extend_schema(request=ChecklistInput, responses={200: dict}, summary="Replace the baby-shower checklist")
    def put(self, request: Request) -> Response:
        data = validated(ChecklistInput, request.data)
        planner = services.planner_save(user=request.user, baby_shower_checklist=data["checklist"])
        return ok(checklist=planner.baby_shower_checklist, message="Checklist saved.")
