"""OpenAPI generation defaults.

Our views are plain ``APIView``s that parse input with a serializer and answer with shaped
dicts. Where a view declares nothing with ``extend_schema``, document a free-form JSON object
instead of warning that no serializer could be guessed.

Every operation also documents the errors the service answers everywhere, all in the one JSON
envelope of ``phb.api.errors``: 400 (input refused), 401 (no or a bad token, on public
operations too when a bad ``Authorization`` header is sent), 403 (role or origin refused),
404 (absent or outside the caller's scope), 429 (throttled), for writes 409 (in conflict with
the current state) and, for operations with a body, 413 (body too large) and 415 (content type
not accepted). The cookie and the Bearer header are alternatives, not both required.
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
    "415": "Content type not accepted.",
    "429": "Throttled; `Retry-After` says when to try again.",
}
ERROR_CODES = ("400", "401", "403", "404", "429")
BODY_ERROR_CODES = ("413", "415")


class AutoSchema(SpectacularAutoSchema):
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
        empty POST is refused), as it is for a serializer with required fields."""
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if isinstance(serializer, dict) and isinstance(schema, dict):
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
