"""An entry kept per date or week that is deleted and written again never takes a version it had
before, so a device holding a version of the entry's earlier life meets a ``conflict`` instead of
overwriting the new entry."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection

from tests.helpers import client_for
from tests.tracking.conftest import WH
from tracking import services

DAY = "2025-03-10"
WEEK = 20


@dataclass(frozen=True)
class Versioned:
    """One kind of entry kept per date or week, as its endpoints take and show it."""

    kind: str
    path: str           # POST: the upsert; GET: the entries
    answer_key: str     # the key of the entry in the POST answer
    entity_id: str      # the date or week the entry is kept under
    first: dict[str, Any]
    second: dict[str, Any]
    stale_edit: dict[str, Any]
    field: str          # the field the bodies above differ in

    def read(self, api) -> list[dict[str, Any]]:
        """The entries the page reads back (GET)."""
        if self.kind == "cycle_day":
            body = api.get(f"{WH}/{self.path}/", {"start_date": DAY, "end_date": DAY}).json()
            return body["days"]
        if self.kind == "daily_log":
            return api.get(f"{WH}/{self.path}/", {"start_date": DAY, "end_date": DAY}).json()["logs"]
        if self.kind == "fertility":
            body = api.get(f"{WH}/{self.path}/", {"start_date": DAY, "end_date": DAY}).json()
            return body["fertility_data"]["entries"]
        record = api.get(f"{WH}/{self.path}/").json()["pregnancy_record"]
        return record["weekly_entries"] if record else []

    def delete(self, api, user) -> None:
        """Deleted as the user deletes it: the cycle tracker's DELETE; the other kinds have no
        endpoint of their own, so through the service that endpoint calls."""
        if self.kind == "cycle_day":
            assert api.delete(f"{WH}/cycle-days/{self.entity_id}/").status_code == 200
        else:
            services.entry_delete(user=user, kind=self.kind, entity_id=self.entity_id)
        assert self.read(api) == []


KINDS = [
    Versioned("cycle_day", "cycle-days", "day", DAY, {"date": DAY, "periodDay": True, "notes": "first"},
              {"date": DAY, "periodDay": True, "notes": "second"}, {"date": DAY, "periodDay": True, "notes": "stale"},
              "notes"),
    Versioned("daily_log", "logs", "log", DAY, {"date": DAY, "mood": "low"}, {"date": DAY, "mood": "good"},
              {"date": DAY, "mood": "poor"}, "mood"),
    Versioned("fertility", "fertility", "tracking", DAY, {"date": DAY, "cycle_day": 12}, {"date": DAY, "cycle_day": 13},
              {"date": DAY, "cycle_day": 20}, "cycle_day"),
    Versioned("pregnancy_week", "pregnancy", "entry", f"{WEEK:02d}", {"pregnancy_week": WEEK, "notes": "first"},
              {"pregnancy_week": WEEK, "notes": "second"}, {"pregnancy_week": WEEK, "notes": "stale"}, "notes"),
]


def _save(api, spec: Versioned, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"{WH}/{spec.path}/", body, format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()[spec.answer_key]


def _sync(api, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = api.post(f"{WH}/sync/", {"items": items}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.mark.parametrize("spec", KINDS, ids=[k.kind for k in KINDS])
def test_a_device_holding_the_entrys_earlier_life_meets_a_conflict_after_a_delete_and_a_new_entry(api, mother, spec):
    _save(api, spec, spec.first)
    [read] = spec.read(api)  # the offline device reads the entry, then goes offline
    assert read[spec.field] == spec.first[spec.field]
    spec.delete(api, mother)
    recreated = _save(api, spec, spec.second)  # another device (or the page) writes the day again
    assert recreated["version"] > read["version"], "a version never goes back for the same date or week"

    [result] = _sync(api, [{"client_id": "stale-device", "type": spec.kind, "base_version": read["version"],
                            "data": spec.stale_edit}])
    assert result["status"] == "conflict", result
    assert result["version"] == recreated["version"]
    assert result["current"][spec.field] == spec.second[spec.field]
    [stored] = spec.read(api)
    assert stored[spec.field] == spec.second[spec.field], "the new entry is not overwritten"
    assert stored["version"] == recreated["version"]

    # the device reads the conflict's version and sends its change again on top of it: applied
    [again] = _sync(api, [{"client_id": "stale-device-2", "type": spec.kind, "base_version": result["version"],
                           "data": spec.stale_edit}])
    assert again["status"] == "created" and again["version"] > recreated["version"]
    [stored] = spec.read(api)
    assert stored[spec.field] == spec.stale_edit[spec.field] and stored["version"] == again["version"]


@pytest.mark.parametrize("clock", ["running", "standing still"])
def test_a_days_versions_only_rise_through_edits_deletes_and_new_entries(api, mother, monkeypatch, clock):
    """Also while the server's clock stands still (writes within one millisecond, or a clock
    stepped back): versions come from the clock but never repeat."""
    if clock == "standing still":
        monkeypatch.setattr("tracking.writes.current_ms", lambda: 1_741_564_800_000)
    spec = KINDS[0]
    seen: list[int] = []
    for life in range(3):
        for edit in range(3):
            seen.append(_save(api, spec, {**spec.first, "notes": f"life {life} edit {edit}"})["version"])
            [read] = spec.read(api)
            assert read["version"] == seen[-1]
        spec.delete(api, mother)
    # and written again by a sync of a device that saw the day empty (base_version 0)
    [synced] = _sync(api, [{"client_id": "after-deletes", "type": "cycle_day", "base_version": 0,
                            "data": spec.second}])
    assert synced["status"] == "created"
    seen.append(synced["version"])
    assert seen == sorted(seen) and len(set(seen)) == len(seen), seen


@pytest.mark.django_db(transaction=True)
def test_a_stale_device_racing_a_delete_and_a_new_entry_never_overwrites_the_new_entry(mother):
    """A device's sync made on the day's first life runs while another device deletes the day and
    writes it again: the sync lands on the first life (deleted with it) or is a conflict; the new
    entry is never overwritten by it. Each round starts the sync a little later, so the rounds
    cover it landing before the delete, between the delete and the new entry, and after both."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises the requests; the race is exercised on PostgreSQL")
    spec = KINDS[0]
    api = client_for(mother)
    for round_, delay in enumerate((0, 0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.2)):
        _save(api, spec, spec.first)
        [read] = spec.read(api)
        start = threading.Barrier(2)
        outcome: dict[str, Any] = {}

        def stale_device(round_=round_, delay=delay, base=read["version"], start=start, outcome=outcome) -> None:
            try:
                device = client_for(mother)
                start.wait()
                time.sleep(delay)
                [outcome["sync"]] = _sync(device, [{"client_id": f"stale-{round_}", "type": "cycle_day",
                                                    "base_version": base, "data": spec.stale_edit}])
            finally:
                connection.close()

        def other_device(start=start, outcome=outcome) -> None:
            try:
                other = client_for(mother)
                start.wait()
                outcome["deleted"] = other.delete(f"{WH}/cycle-days/{DAY}/").status_code
                outcome["recreated"] = _save(other, spec, spec.second)
            finally:
                connection.close()

        threads = [threading.Thread(target=stale_device), threading.Thread(target=other_device)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcome["deleted"] == 200 and outcome["sync"]["status"] in ("created", "conflict"), outcome
        [stored] = spec.read(api)
        assert stored["notes"] == "second", (round_, outcome)
        assert stored["version"] == outcome["recreated"]["version"] > read["version"]
        spec.delete(api, mother)
