"""Error envelope, path collapsing, request ids, health probes, schema, scoping base view."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.response import Response

from phb.api.views import ApiView, ScopedAPIView
from tests.helpers import client_for


class Boom(ApiView):
    permission_classes: list = []

    def get(self, request):
        raise RuntimeError("kaboom with patient@example.test inside")


class Fine(ApiView):
    permission_classes: list = []

    def get(self, request):
        return Response({"ok": True})


class Refused(ApiView):
    """A value given to the model layer unchecked: Django's own ``ValidationError``."""

    permission_classes: list = []

    def get(self, request):
        from django.core.exceptions import ValidationError

        from accounts.models import User

        if "field" in request.query_params:
            raise ValidationError({"patient": ["Not a patient."]})
        return Response({"found": User.objects.filter(pk=request.query_params.get("id", "")).exists()})


urlpatterns = [path("api/boom/", Boom.as_view()), path("api/fine/", Fine.as_view()),
               path("api/refused/", Refused.as_view())]


@pytest.mark.django_db
def test_unknown_api_path_is_json_404():
    response = client_for(None).get("/api/does-not-exist/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["message"] == "Not found."


@pytest.mark.django_db
def test_wrong_method_is_json_405(patient):
    response = client_for(patient).delete("/api/profile/")
    assert response.status_code == 405
    assert response.json()["message"]


@pytest.mark.django_db
def test_malformed_json_is_400_with_message():
    response = client_for(None).generic("POST", "/api/login/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"]


@pytest.mark.django_db
def test_unsupported_media_type_is_415_json():
    response = client_for(None).generic("POST", "/api/login/", "email=a", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["message"]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.foundation.test_cross_cutting")
def test_unhandled_exception_is_json_500_without_details():
    client = client_for(None)
    client.raise_request_exception = False
    response = client.get("/api/boom/")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error.", "error": "Internal server error.",
                               "detail": "Internal server error.", "code": "server_error"}


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.foundation.test_cross_cutting")
def test_a_value_the_model_layer_refuses_is_a_400_not_a_500():
    client = client_for(None)
    client.raise_request_exception = False
    response = client.get("/api/refused/", {"id": "xyz"})
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid" and "is not a valid UUID" in body["message"], body
    named = client.get("/api/refused/", {"field": "1"})
    assert named.status_code == 400 and named.json()["message"] == "patient: Not a patient."
    assert named.json()["errors"] == {"patient": ["Not a patient."]}


@pytest.mark.django_db
def test_double_leading_slash_is_collapsed(patient):
    # The test client's URL parsing would read "//api" as a host, so build the WSGI environ directly.
    response = client_for(patient).request(PATH_INFO="//api/profile/", REQUEST_METHOD="GET", QUERY_STRING="")
    assert response.status_code == 200
    assert response.json()["role"] == "patient"


@pytest.mark.django_db
def test_an_api_path_without_its_trailing_slash_is_served_as_the_route(patient):
    """Not a redirect (an HTML page, and a POST's body lost): the route itself answers."""
    wrong = {"email": patient.email, "password": "not-the-password"}
    without, with_slash = (client_for(None).post(path, wrong, format="json") for path in ("/api/login", "/api/login/"))
    assert without.status_code == with_slash.status_code == 401, without.content[:200]
    assert without.json() == with_slash.json()
    profile = client_for(patient).get("/api/profile")
    assert profile.status_code == 200 and profile.json()["role"] == "patient"
    listed = client_for(patient).get("/api/appointments?limit=1")
    assert listed.status_code == 200 and listed.headers["X-Page-Size"] == "1"
    response = client_for(patient).request(PATH_INFO="//api/profile", REQUEST_METHOD="GET", QUERY_STRING="")
    assert response.status_code == 200 and response.json()["role"] == "patient"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/no-such-endpoint", "/api/profile/x", "/api"])
def test_an_unknown_path_without_a_trailing_slash_is_a_json_404(patient, path):
    response = client_for(patient).get(path)
    assert response.status_code == 404, (path, response.status_code)
    assert response["Content-Type"].startswith("application/json") and response.json()["message"] == "Not found."


@pytest.mark.django_db
def test_request_id_is_echoed_or_created():
    client = client_for(None)
    mine = client.get("/healthz", HTTP_X_REQUEST_ID="req-12345678")
    assert mine["X-Request-ID"] == "req-12345678"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")
    assert made["X-Request-ID"] != "bad id with spaces" and len(made["X-Request-ID"]) == 36


@pytest.mark.django_db
def test_healthz_and_readyz():
    client = client_for(None)
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["checks"] == {"database": True, "aws": True}


@pytest.mark.django_db
def test_openapi_schema_and_docs():
    client = client_for(None)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/login/" in schema.json()["paths"]
    assert client.get("/api/docs/").status_code == 200


def test_scoped_view_forbids_get_queryset_override():
    with pytest.raises(TypeError):
        type("Leaky", (ScopedAPIView,), {"get_queryset": lambda self: None})
    with pytest.raises(TypeError):
        type("Leaky2", (ScopedAPIView,), {"get_object": lambda self: None})


def test_default_permission_is_authenticated():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] == ["rest_framework.permissions.IsAuthenticated"]


def test_openapi_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    text = (tmp_path / "schema.yaml").read_text()
    assert "/api/appointments/slots/" in text and "cookieAuth" in text
