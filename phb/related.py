"""An object at the other end of a reverse one-to-one relation, read once per instance.

A request's user is loaded afresh by authentication, so a value kept on that instance lives as long
as the request. The view that checks the caller's place (a doctor's or an admin's ``StaffMember``, a
pharmacist's ``Pharmacist``) and the selector that scopes by it inside then share one query.
The value is kept where Django keeps ``user.staff`` itself, with the same rules: saving a new related
object with ``user=<that instance>`` replaces it; a change made through another instance is seen by
the next request's user, not by this one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db.models import Model

R = TypeVar("R", bound=Model)


def related_once(instance: Model, accessor: str, load: Callable[[], R | None]) -> R | None:
    """``instance``'s object on its reverse one-to-one ``accessor`` (None where there is none),
    from ``load()`` the first time it is asked for on this instance."""
    relation = instance._meta.get_field(accessor)
    if relation.is_cached(instance):
        return relation.get_cached_value(instance)
    found = load()
    relation.set_cached_value(instance, found)
    return found
