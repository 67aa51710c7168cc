"""OpenAPI generation defaults.

Our views are plain ``APIView``s that parse input with a serializer and answer with shaped
dicts. Where a view declares nothing with ``extend_schema``, document a free-form JSON object
instead of warning that no serializer could be guessed.

Every operation also documents the errors the service answers everywhere, all in the one JSON
envelope of ``phb.api.errors``: 400 (input refused), 401 (no or a bad token, on public
operations too when a bad ``Authorization`` header is sent), 403 (role or origin refused),
404 (absent or outside the caller's scope), 429 (throttled), 414 and 431 (a request line or
headers over the server's limits, refused by gunicorn before the application: phb/workers.py),
for writes 409 (in conflict with the current state) and, for operations with a body, 413 (body
too large) and 415 (content type not accepted). The cookie and the Bearer header are
alternatives, not both required.

A request serializer whose input names a value by either of two (or more) fields, one of which
must have it, declares the groups as ``required_one_of`` (e.g. ``(("patient", "hpn"),)``). The
request schema then states each group as ``anyOf`` (at least one field of the group present with
a value: not null, not blank text, not an empty list) and the body as required.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView


class ErrorEnvelopeSerializer(serializers.Serializer):
    """The body of every error: ``message`` always; ``errors`` and field arrays on 400s."""

    message = serializers.CharField()
    error = serializers.CharField()
    detail = serializers.JSONField(help_text="The message, or the field errors of a 400.")
    code = serializers.CharField(help_text="Machine-readable: invalid, not_authenticated, not_found, throttled, ...")
    errors = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text="Field -> messages (400 only)."
    )

    class Meta:
        ref_name = "ErrorEnvelope"


ERROR_DESCRIPTIONS = {
    "400": "Input refused; `errors` names the fields.",
    "401": "Not signed in, or the token is invalid or expired.",
    "403": "Signed in, but this role or origin may not do this.",
    "404": "Absent, or outside the caller's scope.",
    "409": "In conflict with the current state (already done, taken, or not allowed now).",
    "413": "Request body too large.",
    "414": "Request line (path and query string) too long: refused before it is parsed, valid or not.",
    "415": "Content type not accepted.",
    "429": "Throttled; `Retry-After` says when to try again.",
    "431": "Request headers too large: refused before they are parsed.",
}
ERROR_CODES = ("400", "401", "403", "404", "414", "429", "431")
BODY_ERROR_CODES = ("413", "415")


# The characters Python's ``str.strip()`` removes, which is what a DRF ``CharField`` trims before
# it refuses a blank value (``tests/foundation/test_schema_contract.py`` checks the list against
# ``str.isspace``). Spelled out: ``\s`` differs between Python's, ECMA 262's and Rust's regexes.
STRIPPED_CHARACTERS = ("\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f\\x20\\x85\\xa0\\u1680\\u2000-\\u200a"
                       "\\u2028\\u2029\\u202f\\u205f\\u3000")
# A text with at least one character that is not trimmed away. As a lookahead, not a bare
# character class: Schemathesis folds a field's length bounds into a bare class as a quantifier
# over the whole text (``^[^...]{1,254}$``), which would rule out every inner space.
VISIBLE_TEXT_PATTERN = f"(?=[^{STRIPPED_CHARACTERS}])"


def _states_visible_text(field: serializers.Field, schema: dict) -> dict:
    """``schema`` with the visible-text pattern when ``field`` trims and refuses blank text: such
    a value of only spaces is refused, so the API description says so."""
    if (isinstance(field, serializers.CharField) and field.trim_whitespace and not field.allow_blank
            and schema.get("type") == "string" and not {"pattern", "format", "enum"} & set(schema)):
        return {**schema, "pattern": VISIBLE_TEXT_PATTERN}
    return schema


class AutoSchema(SpectacularAutoSchema):
    def _map_basic_serializer(self, serializer, direction):
        """Request text fields that trim and refuse blank text state it (``_states_visible_text``),
        as do the text items of a list."""
        result = super()._map_basic_serializer(serializer, direction)
        if direction != "request":
            return result
        properties = result.get("properties", {})
        for field in serializer.fields.values():
            schema = properties.get(field.field_name)
            if not isinstance(schema, dict):
                continue
            schema = _states_visible_text(field, schema)
            child = getattr(field, "child", None)
            if child is not None and isinstance(schema.get("items"), dict):
                schema = {**schema, "items": _states_visible_text(child, schema["items"])}
            properties[field.field_name] = schema
        rules = [{"anyOf": [{"required": [name], "properties": {name: self._has_a_value(serializer.fields[name])}}
                            for name in group]}
                 for group in getattr(serializer, "required_one_of", ())]
        if len(rules) == 1:
            result.update(rules[0])
        elif rules:
            result["allOf"] = rules
        return result

    def _has_a_value(self, field: serializers.Field) -> dict:
        """The request schema of ``field`` holding a value: not null, not blank text, not an empty list."""
        schema = {key: value for key, value in self._map_serializer_field(field, "request").items()
                  if key not in ("nullable", "default", "description")}
        if schema.get("type") == "string":
            schema["minLength"] = max(1, schema.get("minLength", 0))
            if isinstance(field, serializers.CharField) and field.trim_whitespace and "pattern" not in schema:
                schema["pattern"] = VISIBLE_TEXT_PATTERN
        elif schema.get("type") == "array":
            schema["minItems"] = max(1, schema.get("minItems", 0))
        return schema

    def _get_serializer(self):
        view = self.view
        if isinstance(view, GenericAPIView) or hasattr(view, "get_serializer") or hasattr(view, "serializer_class"):
            return super()._get_serializer()
        return OpenApiTypes.OBJECT

    def get_auth(self):
        """The cookie or the Bearer header, either one: one requirement each (OpenAPI ANDs the
        schemes inside one requirement object)."""
        requirements = []
        for requirement in super().get_auth():
            if len(requirement) > 1:
                requirements.extend({name: scopes} for name, scopes in requirement.items())
            else:
                requirements.append(requirement)
        return requirements

    def _get_request_for_media_type(self, serializer, direction="request"):
        """A body declared as a plain schema with required properties is itself required (an
        empty POST is refused), as it is for a serializer with required fields or with
        ``required_one_of``."""
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if getattr(serializer, "required_one_of", ()):
            required = True
        elif isinstance(serializer, dict) and isinstance(schema, dict):
            required = bool(schema.get("required")) or any(
                isinstance(option, dict) and option.get("required") for option in schema.get("anyOf", ())
            )
        return schema, required

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ERROR_CODES
        if self.method in ("POST", "PUT", "PATCH"):
            codes += BODY_ERROR_CODES
        if self.method != "GET":
            codes += ("409",)
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorEnvelopeSerializer, code, direction=direction)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return responses


# Views answering a bare JSON array (the frontend reads these as arrays) declare it with this.
JSON_ARRAY = {"type": "array", "items": {"type": "object", "additionalProperties": {}}}


def documented(base: type, schema: dict) -> type:
    """``base`` (a serializer field class) documented with ``schema``: for rules a plain field
    cannot express (an enum its validator enforces, a format it parses)."""
    return extend_schema_field(schema)(type(f"Documented{base.__name__}", (base,), {}))


# The password rules JSON Schema can state; the rest (not a common password, not like the
# account's name or email) is checked by Django's validators and answered with a 400.
PASSWORD_SCHEMA = {"type": "string", "minLength": 8, "maxLength": 256, "pattern": "\\D",
                   "description": "At least 8 characters, not all digits."}
# A reference to the shared component (phb.settings: SPECTACULAR_SETTINGS["APPEND_COMPONENTS"]).
REQUIRED_CONSENT_SCHEMA = {"allOf": [{"$ref": "#/components/schemas/RequiredConsent"}]}
