"""The organisation's user management page: a hospital's administrators (``hospitals.admin_users``)."""

from __future__ import annotations

from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from hospitals import admin_users, selectors
from hospitals.serializers import (
    AdminBulkInput,
    AdminInviteInput,
    AdminUpdateInput,
    AdminUsersInput,
    admin_user_payload,
)
from phb.api import pagination
from phb.api.access import Access
from phb.api.errors import ApiError
from phb.api.serializers import validated
from phb.api.views import ApiView


class AdminUserListView(ApiView):
    access = Access.STAFF

    @extend_schema(parameters=[AdminUsersInput, *pagination.PARAMETERS], responses={200: dict},
                   summary="Hospital admin: the admins of the hospital",
                   description="`?search=` (name, email or position), `?status=active|pending|inactive|suspended` "
                               "(suspended is stored as inactive) and `?role=general|department_head`; `summary` "
                               "counts the whole filtered list.")
    def get(self, request: Request) -> Response:
        data = validated(AdminUsersInput, request.query_params)
        admins = selectors.admins_of_hospital(fetched_by=request.user, search=data["search"],
                                              status=data.get("status", ""), role=data.get("role", ""))
        if admins is None:
            raise ApiError("Not found.", status_code=404, code="not_found")
        page = pagination.paginate(request, admins, spec=pagination.HOSPITAL_ADMINS)
        counts = admins.aggregate(total=Count("pk"), general=Count("pk", filter=Q(department__isnull=True)))
        return page.response({
            "users": [admin_user_payload(s) for s in page.items],
            "summary": {"total_admins": counts["total"], "general_admins": counts["general"],
                        "department_heads": counts["total"] - counts["general"]},
        })


class AdminRolesView(ApiView):
    access = Access.STAFF

    @extend_schema(responses={200: dict}, summary="Hospital admin: the roles an administrator can be given")
    def get(self, request: Request) -> Response:
        if selectors.admin_hospital_of(user=request.user) is None:
            raise ApiError("Not found.", status_code=404, code="not_found")
        return Response({"roles": admin_users.ROLES})


class AdminInviteView(ApiView):
    access = Access.STAFF

    @extend_schema(request=AdminInviteInput, responses={201: dict},
                   summary="General hospital admin: add an administrator (emailed an invitation)")
    def post(self, request: Request) -> Response:
        data = validated(AdminInviteInput, request.data)
        staff = admin_users.admin_invite(invited_by=request.user, data=data)
        return Response(admin_user_payload(staff), status=201)


class AdminUserView(ApiView):
    access = Access.STAFF

    def _found(self, request: Request, staff_id: int):
        return admin_users.admin_of_hospital(fetched_by=request.user, staff_id=staff_id)

    @extend_schema(request=AdminUpdateInput, responses={200: dict},
                   summary="General hospital admin: edit an administrator")
    def patch(self, request: Request, staff_id: int) -> Response:
        staff = self._found(request, staff_id)
        data = validated(AdminUpdateInput, request.data)
        return Response(admin_user_payload(admin_users.admin_update(updated_by=request.user, staff=staff, data=data)))


    @extend_schema(responses={204: None}, summary="General hospital admin: deactivate an administrator")
    def delete(self, request: Request, staff_id: int) -> Response:
        staff = self._found(request, staff_id)
        admin_users.admins_bulk(acted_by=request.user, action="delete", staff_ids=[staff.pk])
        return Response(status=204)


class AdminBulkView(ApiView):
    access = Access.STAFF

    @extend_schema(request=AdminBulkInput, responses={200: dict},
                   summary="General hospital admin: activate or deactivate administrators (delete deactivates)")
    def post(self, request: Request) -> Response:
        data = validated(AdminBulkInput, request.data)
        changed = admin_users.admins_bulk(acted_by=request.user, action=data["action"], staff_ids=data["user_ids"])
        return Response({"success": True, "action": data["action"], "updated": changed,
                         "message": f"{changed} administrator(s) updated."})
