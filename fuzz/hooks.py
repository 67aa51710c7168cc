"""Schemathesis extension loaded by ``fuzz/schema_fuzz.py`` (``SCHEMATHESIS_HOOKS=fuzz.hooks``).

``negative_data_rejection_as_sent`` is Schemathesis' ``negative_data_rejection`` ("a request the
schema rules out is refused") judged on the JSON body actually sent: when the body was the only
part generated as invalid and the body as sent satisfies its schema after all, the request was
valid, so a 2xx is the right answer and nothing is reported. Schemathesis' coverage phase
sometimes labels a body "missing required property" while the body it sends carries that
property (it happened for the emergency admission and for a guideline: the body had every
required field and one extra, allowed, property). Any other case goes to the built-in check
unchanged, with its configured statuses.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.checks import CheckContext
from schemathesis.core import media_types
from schemathesis.core.jsonschema import make_validator
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import negative_data_rejection

_OTHER_LOCATIONS = (ParameterLocation.PATH, ParameterLocation.QUERY, ParameterLocation.HEADER, ParameterLocation.COOKIE)


def only_the_body_was_negated(case: Case) -> bool:
    meta = case.meta
    return (
        meta is not None
        and meta.is_negative_at(ParameterLocation.BODY)
        and not any(meta.is_negative_at(location) for location in _OTHER_LOCATIONS)
    )


def json_body_satisfies_schema(case: Case) -> bool:
    """Whether the case's JSON body is valid for the operation's schema of that media type."""
    media_type = case.media_type
    if media_type is None or not media_types.is_json(media_type):
        return False
    alternative = case.operation.get_body_for_media_type(media_type)
    if alternative is None:
        return False
    body: Any = case.body
    validator = make_validator(alternative.optimized_schema, case.operation.schema.adapter.jsonschema_validator_cls)
    try:
        return validator.is_valid(body)
    except ValueError:  # raw bytes or another value JSON cannot carry: not a valid JSON body
        return False


@schemathesis.check
def negative_data_rejection_as_sent(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    if only_the_body_was_negated(case) and json_body_satisfies_schema(case):
        return None
    return negative_data_rejection(ctx, response, case)
