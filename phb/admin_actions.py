"""Admin list actions that apply a service's rule to each selected row: each row through the same
function the API calls (its locks, its checks), the refusals reported one by one, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages

from phb.api.errors import ApiError


def service_action(*, name: str, description: str, apply: Callable[[Any, Any], object],
                   done: Callable[[int], str], refused: Callable[[Any, ApiError], str] = lambda row, exc: str(exc.detail)):
    """An admin action calling ``apply(row, request)`` for each selected row. A row the service
    refuses (``ApiError``) is left as it is and named in a warning; ``done(n)`` reports the rest."""

    def action(model_admin, request, queryset) -> None:
        count, warnings = 0, []
        for row in queryset:
            try:
                apply(row, request)
                count += 1
            except ApiError as exc:
                warnings.append(refused(row, exc))
        if count:
            model_admin.message_user(request, done(count))
        for warning in warnings:
            model_admin.message_user(request, warning, messages.WARNING)

    action.__name__ = name
    return admin.action(description=description)(action)
