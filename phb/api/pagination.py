"""Bounded lists: every list endpoint answers one page, and says where the next one is.

Keyset ("cursor") pagination over a fixed ordering that ends in a unique column, so a page costs
the same whatever the caller's history holds, and rows added or removed between two pages never
shift or repeat the rest. The response body keeps the shape the frontend reads (a bare array, or
its usual wrapper); the paging travels in headers:

- ``Link: <https://.../api/appointments/?cursor=...>; rel="next"`` when there is a next page
- ``X-Next-Cursor``: the same cursor alone (send it back as ``?cursor=``)
- ``X-Total-Count``: rows in the whole list (counted up to :data:`COUNT_CAP`; absent beyond it)
- ``X-Page-Size``: the page size used

Query parameters: ``limit`` (page size, 1 to the list's maximum; larger values are clamped) and
``cursor``. A cursor that was not issued by this endpoint is a 400.

A list adopts it in one line::

    page = paginate(request, queryset, spec=APPOINTMENTS, columns=COLUMNS)
    return page.response([item(row) for row in page.items])
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FieldError, ValidationError
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from phb.api import page_sql
from phb.api.errors import ApiError
from phb.numbers import MAX_BIGINT, MIN_BIGINT, signed_whole_number

COUNT_CAP = 10_000
# The largest power of ten of a number in a cursor: more than any column's, and small enough to
# read as an integer at no cost.
MAX_EXPONENT = 1_000
PAGING_HEADERS = ("link", "x-next-cursor", "x-total-count", "x-page-size")


@dataclass(frozen=True)
class PageSpec:
    """How one list pages: its order (the last key unique) and its default and largest size."""

    ordering: tuple[str, ...]
    default: int
    maximum: int
    count: bool = True

    def __post_init__(self) -> None:
        if not self.ordering or not 1 <= self.default <= self.maximum:
            raise ValueError("a page spec needs an ordering and 1 <= default <= maximum")


PARAMETERS = [
    OpenApiParameter("limit", OpenApiTypes.INT, description="Page size (clamped to the list's maximum)."),
    OpenApiParameter("cursor", OpenApiTypes.STR, description="The `X-Next-Cursor` of the previous page."),
]
DESCRIPTION = (
    "Paged: the body is the first page; the `Link` (rel=next) and `X-Next-Cursor` headers give the next "
    "one and `X-Total-Count` the number of rows."
)


# The lists' sizes (documented in README.md, "Lists and pagination").
APPOINTMENTS = PageSpec(ordering=("-start", "-id"), default=100, maximum=500)
DOCTOR_APPOINTMENTS = PageSpec(ordering=("start", "id"), default=100, maximum=500)
PRESCRIPTIONS = PageSpec(ordering=("-issued_at", "-id"), default=100, maximum=500)
RECORD_ENTRIES = PageSpec(ordering=("-occurred_on", "-created_at", "-id"), default=200, maximum=500)
DOCUMENTS = PageSpec(ordering=("-created_at", "-id"), default=100, maximum=500)
GUIDELINES = PageSpec(ordering=("-updated_at", "-id"), default=100, maximum=500)
RECENT_FIRST = PageSpec(ordering=("-created_at", "-id"), default=100, maximum=500)
AUDIT_EVENTS = PageSpec(ordering=("-occurred_at", "-id"), default=200, maximum=500)
GUIDELINE_ACCESSES = PageSpec(ordering=("-accessed_at", "-id"), default=200, maximum=500)
BOOKMARKS = PageSpec(ordering=("-bookmarked_at", "-id"), default=100, maximum=500)
FILE_VERSIONS = PageSpec(ordering=("-uploaded_at", "-id"), default=100, maximum=500)
HOSPITALS = PageSpec(ordering=("name", "id"), default=200, maximum=500)
HOSPITAL_ADMINS = PageSpec(ordering=("id",), default=200, maximum=500)
HOSPITAL_REGISTRATIONS = PageSpec(ordering=("-created_at", "-id"), default=500, maximum=500)
HOSPITAL_SEARCH = PageSpec(ordering=("name", "id"), default=50, maximum=200)
# A hospital's departments (P1, D17): the booking page reads the first page as the whole list.
DEPARTMENTS = PageSpec(ordering=("name", "id"), default=500, maximum=500)
# A department's doctors (the new-admission modal), by full name: ``name_key`` is the selector's.
DEPARTMENT_DOCTORS = PageSpec(ordering=("name_key", "id"), default=200, maximum=500)
HOSPITALS_NEARBY = PageSpec(ordering=("distance", "id"), default=100, maximum=500)
CONSENTS = PageSpec(ordering=("-requested_at", "-id"), default=100, maximum=500)
ADMISSION_WARDS = PageSpec(ordering=("department_id", "name", "id"), default=50, maximum=100)
PRESCRIPTION_REQUESTS = PageSpec(ordering=("-created_at", "-id"), default=200, maximum=500)
NOMINATIONS = PageSpec(ordering=("-nominated_at", "-id"), default=100, maximum=500)
PHARMACIES = PageSpec(ordering=("name", "id"), default=100, maximum=500)
PHARMACIES_BY_DISTANCE = PageSpec(ordering=("distance_km", "id"), default=100, maximum=500)
PHARMACIES_NEARBY = PageSpec(ordering=("distance_km", "id"), default=20, maximum=100)
NOMINATABLE_PHARMACIES = PageSpec(ordering=("own_city", "name", "id"), default=100, maximum=500)


@dataclass
class Page:
    items: list[Any]
    limit: int
    next_cursor: str | None = None
    total: int | None = None
    request: Request | None = field(default=None, repr=False)

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None

    def headers(self) -> dict[str, str]:
        headers = {"X-Page-Size": str(self.limit)}
        if self.total is not None:
            headers["X-Total-Count"] = str(self.total)
        if self.next_cursor is not None:
            headers["X-Next-Cursor"] = self.next_cursor
            if self.request is not None:
                query = self.request.query_params.copy()
                query["cursor"] = self.next_cursor
                url = self.request.build_absolute_uri(f"{self.request.path}?{query.urlencode()}")
                headers["Link"] = f'<{url}>; rel="next"'
        return headers

    def response(self, body: Any, *, status: int = 200) -> Response:
        """``body`` (a bare array or the list's wrapper) with the paging headers."""
        return Response(body, status=status, headers=self.headers())


def page_size(request: Request, spec: PageSpec) -> int:
    raw = request.query_params.get("limit")
    if raw is None:  # ``?limit=`` is not a number (the API description says an integer)
        return spec.default
    number = signed_whole_number(raw, max_digits=100)  # ASCII digits: not "٣", "1_0" or " 5 "
    if number is None:
        raise ApiError("limit must be a whole number.", code="invalid", limit=["A whole number is required."])
    return max(1, min(number, spec.maximum))


def paginate(request: Request, queryset: QuerySet, *, spec: PageSpec, columns: tuple[str, ...] = (),
             partition: tuple[Q, ...] = ()) -> Page:
    """One page of ``queryset`` in ``spec.ordering``, after the request's ``cursor`` if any.

    With ``columns`` the page's items are those column values (``values(*columns)``, joins for
    related names included) while the total is counted on ``queryset`` itself, without the joins.
    ``partition``: see :func:`page_query`.
    """
    limit = page_size(request, spec)
    cursor = request.query_params.get("cursor")
    after = fitted_cursor(queryset, spec.ordering, decode_cursor(cursor, length=len(spec.ordering))) if cursor else None
    rows = _rows(queryset, spec=spec, limit=limit, columns=columns, after=after, partition=partition)
    items = rows[:limit]
    more = len(rows) > limit
    next_cursor = encode_cursor([_value(items[-1], name) for name in spec.ordering]) if more else None
    total = None
    if spec.count:
        if not cursor and not more:
            total = len(items)  # the whole list is this page: no count query
        else:
            counted = capped_count(queryset)
            total = counted if counted < COUNT_CAP else None
    return Page(items=items, limit=limit, next_cursor=next_cursor, total=total, request=request)


def total_of(page: Page, queryset: QuerySet) -> int:
    """Rows of the whole list ``page`` is a page of: its counted total, or past :data:`COUNT_CAP`
    a full count (for the bodies that state a total, such as ``total_count``)."""
    return page.total if page.total is not None else queryset.count()


def whole_count(queryset: QuerySet) -> int:
    """Rows of ``queryset``: the capped count, and a full one only past :data:`COUNT_CAP`."""
    counted = capped_count(queryset)
    return counted if counted < COUNT_CAP else queryset.count()


def _rows(queryset: QuerySet, *, spec: PageSpec, limit: int, columns: tuple[str, ...],
          after: list[Any] | None, partition: tuple[Q, ...]) -> list[Any]:
    """The page's rows: :func:`page_query`'s, from SQL kept per shape where it can be (``page_sql``)."""
    def build() -> QuerySet:
        return page_query(queryset, spec=spec, limit=limit, columns=columns, after=after, partition=partition)

    if not columns or partition:
        return list(build())
    filtered = queryset.filter(_after(spec.ordering, after)) if after is not None else queryset
    return page_sql.page_rows(filtered, columns=columns, ordering=spec.ordering, size=limit + 1, build=build)


def page_query(queryset: QuerySet, *, spec: PageSpec, limit: int, columns: tuple[str, ...] = (),
               after: list[Any] | None = None, partition: tuple[Q, ...] = ()) -> QuerySet:
    """The query of one page: ``limit`` + 1 rows (the extra one says another page follows) in
    ``spec.ordering``, after the cursor's values ``after`` if given, as ``columns`` values if given.

    ``partition``: conditions that split ``queryset`` into disjoint parts, each of which an index
    reads in the list's order (where ``queryset`` is an OR of such scopes, which no one index
    holds in order). Each part's page is read on its own and the pages are merged (``UNION ALL``,
    then sorted: at most ``limit`` + 1 rows of each part). Needs ``columns`` (a union is read as
    values), the ordering's columns among them. A database that cannot order and limit each part
    of a union (SQLite) reads ``queryset`` whole, as without ``partition``."""
    if partition and not columns:
        raise ValueError("a partitioned page is read as columns")
    if partition and connections[queryset.db].features.supports_slicing_ordering_in_compound:
        parts = [page_query(queryset.filter(part), spec=spec, limit=limit, columns=columns, after=after)
                 for part in partition]
        if len(parts) == 1:
            return parts[0]
        return parts[0].union(*parts[1:], all=True).order_by(*spec.ordering)[: limit + 1]
    ordered = (queryset.values(*columns) if columns else queryset).order_by(*spec.ordering)
    if after is not None:
        ordered = ordered.filter(_after(spec.ordering, after))
    return ordered[: limit + 1]


def capped_count(queryset: QuerySet) -> int:
    """Rows of ``queryset``, counted up to :data:`COUNT_CAP`, on the rows alone (none of a page's
    columns or joins). The capped subquery is compiled by the ORM and wrapped in a plain
    ``COUNT(*)``: the query ``.count()`` of that slice sends, for half the CPU."""
    def build() -> QuerySet:
        return queryset.values("pk").order_by()[:COUNT_CAP]

    found, params = page_sql.kept(queryset, shape=("capped ids", COUNT_CAP), build=build)
    if found is not None:
        sql = found.sql
    else:
        try:
            sql, params = build().query.sql_with_params()
        except EmptyResultSet:  # ``.none()``, ``__in=[]``: nothing to ask the database
            return 0
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS capped", params)  # noqa: S608 (the ORM's SQL, values as parameters)
        return cursor.fetchone()[0]


# --- Keyset arithmetic ---------------------------------------------------------------------------
def _after(ordering: tuple[str, ...], values: list[Any]) -> Q:
    """Rows strictly after ``values`` in ``ordering`` (lexicographic, each key in its direction).

    The first key's bound is also stated on its own (``created_at <= x`` beside ``created_at < x OR
    (created_at = x AND id < y)``, which implies it): PostgreSQL starts an index scan from a plain
    bound, not from the disjunction, so a later page reads its own rows instead of every earlier
    page's again."""
    condition = Q(pk__in=[])
    equal = Q()
    for name, value in zip(ordering, values, strict=True):
        column = name.lstrip("-")
        op = "lt" if name.startswith("-") else "gt"
        condition |= equal & Q(**{f"{column}__{op}": value})
        equal &= Q(**{column: value})
    first, value = ordering[0], values[0]
    if len(ordering) > 1 and value is not None:
        condition &= Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": value})
    return condition


def _value(row: Any, name: str) -> Any:
    column = name.lstrip("-")
    return row[column] if isinstance(row, dict) else getattr(row, "pk" if column == "id" else column)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"d": value.isoformat()}
    if isinstance(value, dt.time):
        return {"t": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        kind, text = next(iter(value.items()))
        if kind == "dt":
            return _storable(dt.datetime.fromisoformat(text))
        if kind == "d":
            return dt.date.fromisoformat(text)
        if kind == "t":
            return dt.time.fromisoformat(text)
        if kind == "u":
            return uuid.UUID(text)
        if kind == "n":
            number = Decimal(text)
            if not number.is_finite() or abs(number.adjusted()) > MAX_EXPONENT:
                raise ValueError("not a number a column holds")
            return number
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a finite number")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return _storable(value)
    raise ValueError("unexpected cursor value")


def _storable(value: Any) -> Any:
    """``value``, unless no column can hold it: an integer beyond 64 bits, or a time that UTC,
    the time the databases are given, cannot hold (an aware time hours from ``datetime.min`` or
    ``max``): ``OverflowError``, a cursor no list issued."""
    if isinstance(value, int) and not MIN_BIGINT <= value <= MAX_BIGINT:
        raise OverflowError("beyond 64 bits")
    if isinstance(value, dt.datetime) and (value.tzinfo is not None or settings.USE_TZ):
        (value if value.tzinfo is not None else timezone.make_aware(value)).astimezone(dt.UTC)
    return value


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def fitted_cursor(queryset: QuerySet, ordering: tuple[str, ...], values: list[Any]) -> list[Any]:
    """The cursor's ``values`` as the ordering's columns of ``queryset`` take them. A value a column
    cannot take (another list's cursor of the same length, or one written by hand) is a 400, like
    any cursor the list did not issue, rather than an error in the database."""
    query = queryset.query.clone()  # resolving a related name adds its join: not to ``queryset``
    fitted = []
    for name, value in zip(ordering, values, strict=True):
        try:
            column = query.resolve_ref(name.lstrip("-")).output_field
            fitted.append(None if value is None else _storable(column.to_python(value)))
        except (ValidationError, ValueError, TypeError, ArithmeticError, FieldError) as exc:
            raise invalid_cursor() from exc
    return fitted


def invalid_cursor() -> ApiError:
    """The 400 of a cursor the list did not issue."""
    return ApiError("cursor is not valid for this list.", code="invalid_cursor",
                    cursor=["Use the cursor given by the previous page."])


def decode_cursor(cursor: str, *, length: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(values, list) or len(values) != length:
            raise ValueError("wrong length")
        return [_typed(v) for v in values]
    except (ValueError, TypeError, ArithmeticError, UnicodeError, binascii.Error, json.JSONDecodeError) as exc:
        raise invalid_cursor() from exc
