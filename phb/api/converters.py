"""Path converters: ``<dbint:pk>`` is a non-negative integer that fits a database key.

Django's ``<int:...>`` accepts any number of digits, and PostgreSQL refuses a bigint above
2**63 - 1 with an error (a 500). Here a larger number does not match the route: a 404.
"""

from __future__ import annotations

from django.urls import register_converter

from phb.numbers import MAX_BIGINT


class DatabaseIntConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_BIGINT:
            raise ValueError("out of range")  # the URL then does not match: 404
        return number

    def to_url(self, value: int) -> str:
        return str(int(value))


register_converter(DatabaseIntConverter, "dbint")
