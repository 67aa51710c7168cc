"""What schema fuzzing (make fuzz, docs/fuzzing.md) found, kept fixed in the fast suite: the
OpenAPI document says how to authenticate and what errors look like, and input shapes the schema
rules out are 400s with the usual envelope, never 500s."""

from __future__ import annotations

import pytest
from django.db import DataError, OperationalError
from drf_spectacular.generators import SchemaGenerator

from phb.api.errors import exception_handler
from tests.helpers import client_for

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_cookie_and_bearer_are_alternatives_never_both_required(schema):
    for path, method, operation in _operations(schema):
        for requirement in operation.get("security", []):
            assert len(requirement) <= 1, (method, path, requirement)
    profile = schema["paths"]["/api/profile/"]["get"]["security"]
    assert {"cookieAuth": []} in profile and {"bearerAuth": []} in profile


def test_every_operation_documents_the_error_envelope(schema):
    envelope = schema["components"]["schemas"]["ErrorEnvelope"]
    assert set(envelope["required"]) == {"message", "error", "detail", "code"}
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        assert {"400", "401", "403", "404", "414", "429", "431"} <= codes, (method, path, codes)
        if method in ("post", "put", "patch"):
            assert {"409", "413", "415"} <= codes, (method, path, codes)
    for path, method in (("/api/profile/", "patch"), ("/api/appointments/", "get"), ("/api/login/", "post")):
        ref = schema["paths"][path][method]["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorEnvelope"), (method, path)


def test_bare_array_answers_are_documented_as_arrays(schema):
    for path, operation_id in (("/api/appointments/", "get"), ("/api/imaging/studies/", "get"),
                               ("/api/clinical-guidelines/", "get")):
        body = schema["paths"][path][operation_id]["responses"]["200"]["content"]["application/json"]["schema"]
        assert body["type"] == "array", path


def test_request_rules_are_in_the_schema(schema):
    components = schema["components"]["schemas"]
    registration = components["RegisterInputRequest"]["properties"]
    assert registration["consent_terms"]["$ref"].endswith("/RequiredConsent")
    assert components["RequiredConsent"]["enum"] == [True]
    assert registration["password"]["minLength"] == 8
    payment = components["InitializeInputRequest"]["properties"]
    assert payment["appointment_date"]["format"] == "date-time"
    method_ref = payment["payment_method"]["allOf"][0]["$ref"].rsplit("/", 1)[1]
    assert components[method_ref]["enum"] == ["card"]
    upload = schema["paths"]["/api/secure/upload/"]["post"]["requestBody"]["content"]["multipart/form-data"]
    uploaded = components[upload["schema"]["$ref"].rsplit("/", 1)[1]]
    assert uploaded["required"] == ["files"] and uploaded["properties"]["files"]["minItems"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["null", "5", "[null, null]", '"text"'])
@pytest.mark.parametrize(("method", "url"), [
    ("post", "/api/patient/medical-record/request-otp/"),
    ("patch", "/api/profile/"),
    ("post", "/api/onboarding/update/"),
])
def test_a_json_body_that_is_not_an_object_is_a_400(patient, method, url, body):
    response = getattr(client_for(patient), method)(url, data=body, content_type="application/json")
    assert response.status_code == 400, (url, body, response.content[:200])
    assert response.json()["message"] == "The request body must be a JSON object."


@pytest.mark.django_db
def test_password_reset_with_a_nul_character_is_a_400():
    response = client_for(None).post("/api/password/reset/", {"email": "a\x00b@example.com"}, format="json")
    assert response.status_code == 400 and response.json()["errors"]["email"]


def test_values_the_database_refuses_are_400_and_broken_connections_503():
    refused = exception_handler(DataError("integer out of range"), {})
    assert refused.status_code == 400 and refused.data["code"] == "invalid_value" and refused.data["message"]
    broken = exception_handler(OperationalError("terminating connection due to administrator command"), {})
    assert broken.status_code == 503 and broken.data["code"] == "database_unavailable"
    assert broken["Retry-After"] == "1"


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_a_413_with_a_message(patient):
    body = '{"full_name": "' + "x" * (3 * 1024 * 1024) + '"}'
    response = client_for(patient).patch("/api/profile/", data=body, content_type="application/json")
    assert response.status_code == 413 and response.json()["message"]


def test_the_visible_text_pattern_refuses_exactly_what_a_char_field_trims_away():
    import re
    import sys

    import jsonschema_rs

    from phb.api.schema import VISIBLE_TEXT_PATTERN

    python = re.compile(VISIBLE_TEXT_PATTERN)
    ecma = jsonschema_rs.validator_for({"type": "string", "pattern": VISIBLE_TEXT_PATTERN})
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates are not text
        char = chr(code)
        visible = not char.isspace()
        assert bool(python.search(char)) is visible, hex(code)
        if code < 0x10000 or not code % 97:
            assert ecma.is_valid(char) is visible, hex(code)


def test_text_that_is_trimmed_and_required_says_so_in_the_description(schema, patient):
    from phb.api.schema import VISIBLE_TEXT_PATTERN

    email = schema["components"]["schemas"]["EmailInputRequest"]["properties"]["email"]
    assert email["pattern"] == VISIBLE_TEXT_PATTERN and email["minLength"] == 1
    # A value the pattern refuses is refused, with the field named; one it allows is taken.
    client = client_for(None)
    for blank in (" ", " \x1e", "\u3000\t"):
        refused = client.post("/api/resend-otp/", {"email": blank}, format="json")
        assert refused.status_code == 400 and refused.json()["message"].startswith("email: "), blank
    assert client.post("/api/resend-otp/", {"email": "\ufeff"}, format="json").status_code != 400
    # Fields that allow blank, passwords (never trimmed) and patterned fields keep their own schema.
    registration = schema["components"]["schemas"]["RegisterInputRequest"]["properties"]
    assert "pattern" not in registration.get("gender", {})
    assert registration["password"]["pattern"] == "\\D"


# Inputs that take a value under either of two (or more) names, one of which must have it
# (``required_one_of``, phb.api.schema): a valid body of each, its operation, and a value per name.
EITHER_OR = {
    "AdmissionLinkPatientInput": ("/api/admissions/{admission_ref}/link_patient/", {"hpn": "PHB0001"}),
    "AdmissionTransferInput": ("/api/admissions/{admission_ref}/transfer/", {"bed_id": 3}),
    "BookInput": ("/api/appointments/", {"department_id": 2, "appointment_date": "2030-01-02T09:30:00Z"}),
    "CancelInput": ("/api/appointments/{ref}/cancel/", {"reason": "Travelling"}),
    "InitializeInput": ("/api/payments/initialize/", {
        "hospital_id": 1, "department_id": 2, "appointment_date": "2030-01-02T09:30:00Z", "chief_complaint": "Cough"}),
    "MedicationInput": ("/api/appointments/{ref}/prescriptions/", {
        "medication_name": "Amoxicillin", "strength": "500 mg", "form": "capsule", "route": "oral",
        "dosage": "1 capsule", "frequency": "three times a day", "patient_instructions": "After food",
        "indication": "Chest infection"}),
}
VALUES = {"patient": "17", "hpn": "PHB0001", "bed_id": 3, "bed_identifier": "CARD-2", "is_icu_bed": False,
          "department_id": 2, "department": 2, "reason": "Travelling", "cancellation_reason": "Travelling",
          "medication_name": "Amoxicillin", "name": "Amoxicillin", "patient_instructions": "After food",
          "instructions": "After food", "chief_complaint": "Cough", "symptoms_data": [{"symptom_name": "cough"}]}


def _either_or_serializers():
    """Every serializer class that declares ``required_one_of``, in every app's ``serializers``."""
    import importlib
    import inspect

    from django.apps import apps

    found = {}
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.serializers")
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.serializers":
                raise
            continue
        for name, value in vars(module).items():
            if inspect.isclass(value) and getattr(value, "required_one_of", None):
                found[name] = value
    return found


def test_every_either_or_input_is_checked_here():
    assert set(_either_or_serializers()) == set(EITHER_OR)


@pytest.mark.parametrize("name", sorted(EITHER_OR))
def test_either_or_fields_are_stated_in_the_schema_as_the_server_checks_them(schema, name):
    """The body is required, and for each group: the schema and the serializer both refuse a body
    with none of its fields (or only blank text or an empty list there) and both accept one with any
    single one."""
    import jsonschema_rs

    serializer_class = _either_or_serializers()[name]
    path, body = EITHER_OR[name]
    assert schema["paths"][path]["post"]["requestBody"]["required"] is True
    validator = jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{name}Request", "components": schema["components"]})

    def verdicts(data):
        return validator.is_valid(data), serializer_class(data=data).is_valid()

    assert verdicts(body) == (True, True)
    for group in serializer_class.required_one_of:
        others = {key: value for key, value in body.items() if key not in group}
        assert verdicts(others) == (False, False), group
        for field in group:
            assert verdicts({**others, field: VALUES[field]}) == (True, True), field
            empty = {str: " \t", list: []}.get(type(VALUES[field]))
            if empty is not None:
                assert verdicts({**others, field: empty}) == (False, False), field
