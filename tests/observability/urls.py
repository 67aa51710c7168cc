"""The real URLs plus two views for observability tests: one that fails, one that logs PHI."""

from __future__ import annotations

import logging

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response

from phb.api.views import ApiView
from phb.urls import urlpatterns as real_urlpatterns


class BoomView(ApiView):
    """A bug: raises with the caller's email in the exception text."""

    def get(self, request: Request) -> Response:
        raise RuntimeError(f"could not load the profile of {request.user.email}")


class CarelessView(ApiView):
    """A developer's mistakes: PHI, the request body and the headers written to the logs."""

    def post(self, request: Request) -> Response:
        user = request.user
        logging.getLogger("payments").info("paying for %s (%s, %s)", user.full_name, user.email, user.phone)
        logging.getLogger("payments").info("request body %s", dict(request.data))
        logging.getLogger("appointments.careless").info("headers", extra={"headers": dict(request.headers)})
        logging.getLogger("records.careless").warning("cookie header was %s", request.META.get("HTTP_COOKIE"))
        logging.getLogger("tracking").info("note for %s", user.full_name.upper(), extra={"patient": user.full_name})
        return Response({"ok": True})


urlpatterns = [
    path("api/test-observability/boom/", BoomView.as_view()),
    path("api/test-observability/careless/", CarelessView.as_view()),
    *real_urlpatterns,
]
