"""The patient's appointment list from items kept in the database (PostgreSQL).

Each appointment row keeps the JSON of its patient-list item (:func:`appointments.rows.patient_item`
rendered by the API's renderer) in ``Appointment.list_item``, written the first time a list page
shows it and prefixed with what it was rendered under (:func:`prefix`). A page then reads three
columns (id, start, the item) and writes each kept text into the answer as it is
(``orjson.Fragment``). Only rows without a current item are rendered, from their columns as before,
and their items are kept for the next read. The answer is byte-for-byte the one rendered from the
columns (``tests/appointments/test_list_items.py``).

A kept item never outlives what it was rendered from. The database sees to it (migration 0008), so
no code path that writes appointments has to remember:

- an UPDATE that changes anything in an appointment row besides its item clears the item: an ORM
  ``save()``, ``queryset.update()``, the admin, plain SQL;
- renaming a hospital or changing its time zone, renaming a department, and renaming a user clear
  the items of the appointments that show those names (each such change rewrites those rows; they
  are rare administrative edits);
- an item is written only by :func:`keep`, only onto the row version it was rendered from (its
  ``xmin`` and ``ctid``), and only where no other transaction holds the row (``SKIP LOCKED``): a
  fill that meets a change commits nothing for that row, and never waits for, or blocks, a booking;
- any other write of an item (an instance loaded with its item and saved back) leaves the row's
  own.

The prefix fingerprints the item's format (:data:`ITEM_FORMAT`, raised whenever ``patient_item``'s
output changes; a golden test fails until it is), ``DEFAULT_HOSPITAL_TIME_ZONE`` and the version of
the time zone data: after an upgrade that changes any of them, items are rendered again as pages
read them. ``APPOINTMENT_LIST_ITEMS_KEPT=false`` renders every row on every read (as SQLite does).
"""

from __future__ import annotations

import hashlib
import logging
import zoneinfo
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models.expressions import RawSQL

from appointments import rows
from appointments.models import Appointment
from phb.api.renderers import dumps

logger = logging.getLogger(__name__)

# Raise when the bytes ``patient_item`` renders change (tests/appointments/test_list_items.py says when).
ITEM_FORMAT = 1
KEPT_COLUMNS = ("id", "start", "list_item")
_FILL_SETTING = "phb.list_item_fill"  # set for the fill's own statement; the trigger reads it
# One version of a row: the transaction that wrote it and where it lies. Every UPDATE writes a new
# version elsewhere, in the same transaction too.
_VERSION = "{table}.xmin::text || '/' || {table}.ctid::text"


def enabled(alias: str) -> bool:
    return settings.APPOINTMENT_LIST_ITEMS_KEPT and connections[alias].vendor == "postgresql"


def tz_data_version() -> str:
    """The version of the time zone data ``zoneinfo`` reads: the system's, else the tzdata package's."""
    for directory in zoneinfo.TZPATH:
        try:
            with (Path(directory) / "tzdata.zi").open(encoding="ascii") as handle:
                first = handle.readline().split()  # "# version 2025b"
        except (OSError, UnicodeDecodeError):
            continue
        if len(first) == 3 and first[1] == "version":
            return first[2]
    try:
        return f"tzdata {metadata.version('tzdata')}"
    except metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=8)
def _prefix(default_zone: str) -> str:
    basis = f"{ITEM_FORMAT}|{default_zone}|{tz_data_version()}".encode()
    return f"{hashlib.sha256(basis).hexdigest()[:12]}:"


def prefix() -> str:
    """What a kept item starts with when it was rendered under today's format, default time zone
    and time zone data."""
    return _prefix(settings.DEFAULT_HOSPITAL_TIME_ZONE)


def page_items(page_rows: list[dict[str, Any]], *, using: str) -> list[Any]:
    """The items of a page read as :data:`KEPT_COLUMNS`: each kept one as it is, the others rendered
    (and kept). A row deleted since the page was read is left out."""
    mark = prefix()
    skip = len(mark)
    items: list[Any] = []
    missing: dict[Any, int] = {}
    for row in page_rows:
        kept = row["list_item"]
        if kept is not None and kept.startswith(mark):
            items.append(orjson.Fragment(kept[skip:]))
        else:
            missing[row["id"]] = len(items)
            items.append(None)
    if missing:
        for key, text in render(list(missing), using=using, mark=mark).items():
            items[missing[key]] = orjson.Fragment(text)
        items = [item for item in items if item is not None]
    return items


def render(ids: list[Any], *, using: str, mark: str) -> dict[Any, str]:
    """The items of appointments ``ids`` rendered from their columns, each kept (:func:`keep`)."""
    found = (Appointment.objects.using(using).filter(id__any=ids).values(*rows.PATIENT_COLUMNS)
             .annotate(row_version=RawSQL(_VERSION.format(table=f'"{Appointment._meta.db_table}"'), ())))  # noqa: S611 (constants)
    texts: dict[Any, str] = {}
    fills: list[tuple[Any, str, str]] = []
    for row in found:
        text = dumps(rows.patient_item(row)).decode()
        texts[row["id"]] = text
        fills.append((row["id"], row["row_version"], mark + text))
    _keep_if_possible(fills, using=using)
    return texts


def _keep_if_possible(fills: list[tuple[Any, str, str]], *, using: str) -> None:
    """:func:`keep`, where the database takes the write: a read-only one (a standby, maintenance)
    still answers the list, with every item rendered."""
    try:
        if connections[using].in_atomic_block:  # a savepoint: a refused write leaves the caller's transaction usable
            with transaction.atomic(using=using):
                keep(fills, using=using)
        else:
            keep(fills, using=using)
    except DatabaseError as exc:
        logger.warning("appointment list items not kept",
                       extra={"event": "appointment_list_items_not_kept", "error": type(exc).__name__})


@lru_cache(maxsize=1)
def _keep_sql() -> str:
    """One text whatever the number of items (three array parameters), so it is prepared once."""
    table = Appointment._meta.db_table
    return (
        f"WITH fill AS MATERIALIZED (SELECT set_config('{_FILL_SETTING}', 'on', true)), "  # noqa: S608 (constants)
        "rendered AS (SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[]) AS r (id, row_version, item)), "
        f"free AS (SELECT a.id FROM {table} a JOIN rendered r ON r.id = a.id "
        f"WHERE {_VERSION.format(table='a')} = r.row_version FOR UPDATE OF a SKIP LOCKED) "
        f"UPDATE {table} a SET list_item = r.item FROM fill, rendered r, free f "
        "WHERE a.id = f.id AND r.id = a.id"
    )


def keep(fills: list[tuple[Any, str, str]], *, using: str) -> int:
    """Writes each ``(id, row version, item)`` onto its row if the row is still that version and no
    other transaction holds it; returns how many were written. One statement, no waiting."""
    if not fills:
        return 0
    sql = _keep_sql()
    params = [[fill[0] for fill in fills], [fill[1] for fill in fills], [fill[2] for fill in fills]]
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = cursor.rowcount
        if connection.in_atomic_block:  # the setting lasts until the transaction ends: end it here
            cursor.execute(f"SELECT set_config('{_FILL_SETTING}', 'off', true)")
    return written
