"""Base views that make "forgot to filter by owner" impossible.

Subclasses of :class:`ScopedAPIView` may not define ``get_queryset`` or ``get_object``
(``__init_subclass__`` raises at import time). They implement :meth:`scoped_queryset`, which
receives the authenticated caller and returns only what that caller may see, usually by calling
a selector (``<entity>_list(fetched_by=user)``). :meth:`get_scoped_object` looks objects up
inside that scope, so an object outside it is a 404, never a 403 that leaks its existence.
The only way around the scope is a method whose name starts with ``dangerously_``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from phb.api.access import Access


class _ObjectBodyMixin:
    """A JSON body, when there is one, is an object: ``null``, ``[null, null]`` or ``5`` is a 400
    before the view runs, not an AttributeError inside it. (Forms are objects by construction.)
    A view that reads the raw bytes itself (a signed webhook) sets ``json_body_is_object = False``."""

    json_body_is_object = True

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if (self.json_body_is_object and request.method in ("POST", "PUT", "PATCH", "DELETE")
                and (request.content_type or "").split(";")[0].strip().lower() == "application/json"
                and not isinstance(request.data, Mapping)):
            raise ValidationError({"non_field_errors": ["The request body must be a JSON object."]})


class ApiView(_ObjectBodyMixin, APIView):
    """Authenticated by default; one error envelope (see ``phb.api.errors``).

    Subclasses declare ``access`` (``phb.api.access``): ``Access.OWN``, ``Access.STAFF`` or both."""

    permission_classes = [IsAuthenticated]
    access: Access | None = None


class PublicApiView(_ObjectBodyMixin, APIView):
    """No authentication required (login, registration, webhooks, health)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    access = Access.PUBLIC


class ScopedAPIView(ApiView):
    _forbidden = ("get_queryset", "get_object")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls._forbidden:
            if name in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__} must not override {name}(); implement scoped_queryset(user) instead"
                )

    def scoped_queryset(self, user: Any) -> QuerySet:
        raise NotImplementedError(f"{type(self).__name__} must implement scoped_queryset(user)")

    def get_scoped_object(self, request: Request, **lookup: Any) -> Model:
        try:
            return self.scoped_queryset(request.user).get(**lookup)
        except (ObjectDoesNotExist, DjangoValidationError, ValueError, TypeError) as exc:
            raise NotFound() from exc
