"""JSON columns decoded in C.

Django's ``JSONField`` decodes every value it reads with the standard library's ``json`` (about
1.5 µs for a small document, several for the longer ones), once per JSON column of every row a
list fetches. :class:`JSONField` decodes with orjson instead. Where orjson would read a document
differently or refuses it, Django's own decoding runs, so every value comes back exactly as before:

- integers beyond 64 bits (orjson reads them as floats): any run of 19 digits sends the text on;
- NaN and infinities, lone surrogates: orjson refuses them;
- a custom ``decoder`` on the field, and the non-text values SQLite gives for key lookups.

The column, its lookups and its migrations are Django's: the field deconstructs as
``django.db.models.JSONField``, so swapping it in changes no schema.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from django.db import models

_LONG_DIGITS = re.compile(r"\d{19}")


class JSONField(models.JSONField):
    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if type(value) is str and self.decoder is None and _LONG_DIGITS.search(value) is None:
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs
