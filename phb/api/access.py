"""Who a route serves, declared on its view so that every route is classified by construction.

- ``PUBLIC``: anyone, signed in or not (login, registration, webhooks, probes, the schema).
- ``OWN``: a signed-in user, about their own data (or reference data every user may see); another
  user's objects are a 404.
- ``STAFF``: clinicians, hospital admins and other staff, about their own hospital's data;
  patients and staff of other hospitals get a 404 (or 403 for a role that never may).

``PublicApiView`` is ``PUBLIC``; every other view declares ``access`` (``OWN | STAFF`` when a
route serves both, e.g. an appointment seen by its patient and its doctor). Function views and
third-party views are declared with :func:`declare`. ``tests/foundation/test_route_access.py``
walks the URL configuration, fails for a route without a declaration, and runs the matching
cross-user checks for each.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any


class Access(enum.Flag):
    PUBLIC = enum.auto()
    OWN = enum.auto()
    STAFF = enum.auto()


def declare(view: Callable[..., Any], access: Access) -> Callable[..., Any]:
    """Classify a function view (or the result of ``as_view()``) that has no view class of ours."""
    view.access = access  # type: ignore[attr-defined]
    return view


def access_of(callback: Callable[..., Any]) -> Access | None:
    """The declared access of a URL pattern's callback (its view class's, or its own)."""
    for owner in (getattr(callback, "view_class", None), getattr(callback, "cls", None), callback):
        found = getattr(owner, "access", None) if owner is not None else None
        if isinstance(found, Access):
            return found
    return None
