"""Recommendations in the booking flow: the active PPO policy, or the heuristic when it cannot answer.

:func:`recommend` builds the policy's view of a patient's request from the database (roster,
slots, doctors' bookings), asks the ONNX policy within ``SCHEDULER_INFERENCE_BUDGET_MS``, and
falls back to the heuristic (``fallback: true``) when the model is missing, fails or is slow.
The answer is remembered (:mod:`.memory`) so that booking the recommended slot gives the
recommended doctor and counts "recommendation taken".
"""

from __future__ import annotations

import logging
import time as clock
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from accounts.models import User
from appointments import booking, rosters, slot_grid
from appointments.aws_resources import METRIC_AREA
from appointments.scheduler.baselines import heuristic
from appointments.scheduler.features import DecisionView, action_mask
from appointments.scheduler.memory import remember, urgency_of
from appointments.scheduler.params import CANDIDATES, HORIZON_DAYS, MAX_DOCTORS
from appointments.scheduler.registry import active_version, load_policy
from hospitals.models import Department
from hospitals.selectors import is_approved_patient
from phb import metrics
from phb.api.errors import ApiError

logger = logging.getLogger(__name__)

HEURISTIC_CONFIDENCE = 0.5


@dataclass
class Option:
    start_local: datetime
    doctor_id: uuid.UUID
    doctor_name: str = ""


@dataclass
class Recommendation:
    department: Department
    chosen: Option
    alternatives: list[Option] = field(default_factory=list)
    confidence: float = 0.0
    policy_version: str = ""
    fallback: bool = False
    fallback_reason: str = ""


def _parse_dates(values, today: date) -> list[date]:
    if values in (None, ""):
        return []
    if not isinstance(values, list) or len(values) > 31:
        raise ApiError("preferred_dates must be a list of at most 31 dates (YYYY-MM-DD).", code="invalid_date")
    out = []
    for value in values:
        try:
            day = date.fromisoformat(str(value)[:10])
        except ValueError as exc:
            raise ApiError("preferred_dates must be dates such as 2025-01-31.", code="invalid_date") from exc
        if day < today:
            raise ApiError("preferred_dates must not be in the past.", code="date_in_past")
        if day > today + timedelta(days=settings.BOOKING_MAX_DAYS_AHEAD):
            raise ApiError(f"Appointments can be booked at most {settings.BOOKING_MAX_DAYS_AHEAD} days ahead.",
                           code="too_far_ahead")
        out.append(day)
    return sorted(set(out))


def _parse_times(values) -> set[str]:
    if values in (None, ""):
        return set()
    if not isinstance(values, list) or len(values) > 48:
        raise ApiError("preferred_times must be a list of times (HH:MM).", code="invalid_time")
    out = set()
    for value in values:
        try:
            out.add(time.fromisoformat(str(value)[:5]).strftime("%H:%M"))
        except ValueError as exc:
            raise ApiError("preferred_times must be times such as 09:30.", code="invalid_time") from exc
    return out


@dataclass
class _Calendar:
    """Open places from the earliest acceptable time on, per slot and doctor."""

    starts: list[datetime] = field(default_factory=list)  # naive local
    free: list[dict[uuid.UUID, int]] = field(default_factory=list)
    doctors: list[uuid.UUID] = field(default_factory=list)


def _calendar(*, department: Department, earliest: datetime, days: list[date], now: datetime,
              known: slot_grid.DayGrid | None = None) -> _Calendar:
    """The open places of ``days`` from ``earliest`` on; ``known``: a day the caller read already.

    The department has a roster. The days are read in at most two batches, whatever their number:
    those of the next 72 hours, then, only where these give fewer than ``CANDIDATES`` open times,
    the rest. No start later than booking takes (``BOOKING_MAX_DAYS_AHEAD`` from ``now``)."""
    zone = slot_grid.hospital_zone(department.hospital)
    latest = now + timedelta(days=settings.BOOKING_MAX_DAYS_AHEAD)
    out = _Calendar()
    soon = earliest.date() + timedelta(days=3)
    open_days = [day for day in days if any(s >= earliest for s in slot_grid.slot_starts_of_day(day))]
    for batch in ([d for d in open_days if d <= soon], [d for d in open_days if d > soon]):
        if batch and batch[0] > soon and len(out.starts) >= CANDIDATES:
            break  # enough candidates and the next 72 hours seen
        to_read = [d for d in batch if known is None or known.day != d]
        read = slot_grid.read_days(department=department, days=to_read, now=now, rostered=True) if to_read else []
        grids = dict(zip(to_read, read, strict=True))
        if known is not None and known.day in batch:
            grids[known.day] = known
        wanted = [(day, [s for s in slot_grid.slot_starts_of_day(day) if s >= earliest]) for day in batch]
        doctor_ids = sorted({s.doctor_id for day in batch for seat_list in grids[day].seats.values()
                             for s in seat_list}, key=str)
        loads = rosters.doctor_loads_in(doctor_ids=doctor_ids, starts=[
            slot_grid.local_to_aware(s, zone) for _, local_starts in wanted for s in local_starts])
        for day, local_starts in wanted:
            if len(out.starts) >= CANDIDATES and day > soon:
                break
            grid = grids[day]
            remaining = {v.start: v.remaining for v in grid.slots if not v.past}
            for local in local_starts:
                start = slot_grid.local_to_aware(local, zone)
                left = remaining.get(start, 0)
                if left <= 0 or start > latest:
                    continue
                free = {}
                for seat in grid.seats.get(local, ()):
                    n = min(left, seat.patients_per_slot - loads.get((seat.doctor_id, start), 0))
                    if n > 0:
                        free[seat.doctor_id] = n
                if free:
                    out.starts.append(local)
                    out.free.append(free)
    out.doctors = _doctors_with_most_places(out.free)
    return out


def _doctors_with_most_places(free: list[dict[uuid.UUID, int]]) -> list[uuid.UUID]:
    """The ``MAX_DOCTORS`` doctors (the policy's action space) with the most open places in ``free``,
    in a fixed order."""
    seen: dict[uuid.UUID, int] = {}
    for places in free:
        for doctor_id, n in places.items():
            seen[doctor_id] = seen.get(doctor_id, 0) + n
    return sorted(sorted(seen, key=lambda d: (-seen[d], str(d)))[:MAX_DOCTORS], key=str)


def _view(*, calendar: _Calendar, urgency: int, asap: bool, requested: datetime, earliest: datetime,
          department: Department) -> tuple[DecisionView, list[int]]:
    index = {d: i for i, d in enumerate(calendar.doctors)}
    picked = [j for j, free in enumerate(calendar.free) if any(d in index for d in free)][:CANDIDATES]
    wait = np.zeros(CANDIDATES)
    lead = np.zeros(CANDIDATES)
    valid = np.zeros(CANDIDATES, dtype=bool)
    free = np.zeros((CANDIDATES, MAX_DOCTORS), dtype=np.int64)
    for k, j in enumerate(picked):
        start = calendar.starts[j]
        wait[k] = (start - earliest).total_seconds() / 3600.0
        lead[k] = (start - requested).total_seconds() / 3600.0
        valid[k] = True
        for doctor, n in calendar.free[j].items():
            if doctor in index:
                free[k, index[doctor]] = n
    rostered = np.zeros(MAX_DOCTORS, dtype=bool)
    rostered[: len(calendar.doctors)] = True
    load = np.zeros(MAX_DOCTORS, dtype=np.int64)
    if picked:
        zone = slot_grid.hospital_zone(department.hospital)
        day = calendar.starts[picked[0]].date()
        day_start = slot_grid.local_to_aware(datetime.combine(day, time(0)), zone)
        loads = rosters.day_loads(doctor_ids=calendar.doctors, day_start=day_start,
                                  day_end=day_start + timedelta(days=1))
        for doctor, i in index.items():
            load[i] = loads.get(doctor, 0)
    totals = [(s, sum(f.values())) for s, f in zip(calendar.starts, calendar.free, strict=True)]
    view = DecisionView(
        urgency=urgency, asap=asap, hour_of_day=requested.hour + requested.minute / 60.0,
        weekday=requested.weekday(), wait_hours=wait, lead_hours=lead, valid=valid, free=free, rostered=rostered,
        load_today=load,
        free_next_24h=sum(n for s, n in totals if s < earliest + timedelta(hours=24)),
        free_next_72h=sum(n for s, n in totals if s < earliest + timedelta(hours=72)),
    )
    return view, picked


def _names(ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "full_name"))


def _fallback(reason: str) -> None:
    metrics.record("SchedulerFallback", area=METRIC_AREA, dimensions={"Reason": reason})


def _policy_scores(view: DecisionView) -> tuple[np.ndarray | None, str, str]:
    """(probabilities, version, fallback reason)."""
    if not settings.SCHEDULER_ENABLED:
        return None, "", "disabled"
    version = active_version()
    try:
        policy = load_policy(version)
        if policy is None:
            return None, version, "model_missing"
        started = clock.perf_counter()
        probabilities = policy.probabilities(view)
        elapsed_ms = (clock.perf_counter() - started) * 1000
        metrics.record("SchedulerInferenceTime", elapsed_ms, unit="Milliseconds", area=METRIC_AREA)
        if elapsed_ms > settings.SCHEDULER_INFERENCE_BUDGET_MS:
            return None, version, "slow"
        if not np.all(np.isfinite(probabilities)):
            return None, version, "model_failed"
        return probabilities, version, ""
    except Exception:
        logger.exception("scheduler model failed", extra={"event": "scheduler_model_failed", "version": version})
        return None, version, "model_failed"


def recommend(*, patient: User, hospital_id, department_id, preferred_dates=None, preferred_times=None,
              priority: str = "normal", now: datetime | None = None,
              known: slot_grid.DayGrid | None = None) -> Recommendation:
    """``known``: a day of this department the caller read already (as of ``now``)."""
    hospital, department = booking.resolve_target(hospital_id=hospital_id, department_id=department_id)
    if not is_approved_patient(user=patient, hospital_id=hospital.pk):  # booking would refuse every time
        raise ApiError("You are not an approved patient of this hospital. Register and wait for approval before "
                       "booking.", status_code=403, code="not_registered")
    urgency = urgency_of(priority)
    now = now or timezone.now()
    zone = slot_grid.hospital_zone(hospital)
    requested = now.astimezone(zone).replace(tzinfo=None)
    dates = _parse_dates(preferred_dates, requested.date())
    times = _parse_times(preferred_times)
    if not (known.rostered if known is not None else rosters.has_roster(department=department)):
        raise ApiError("This department has no doctor roster yet: choose a time from the list of slots.",
                       code="no_roster")
    earliest = max(requested, datetime.combine(dates[0], time(0))) if dates else requested
    asap = earliest.date() == requested.date()
    last_day = requested.date() + timedelta(days=settings.BOOKING_MAX_DAYS_AHEAD)  # what booking takes
    days = dates or [earliest.date() + timedelta(days=i) for i in range(HORIZON_DAYS)]
    days = [day for day in days if day <= last_day]
    calendar = _calendar(department=department, earliest=earliest, days=days, now=now, known=known)
    if times:
        keep = [j for j, s in enumerate(calendar.starts) if s.strftime("%H:%M") in times]
        if keep:  # the doctors shown to the policy are those of the times kept
            calendar.starts = [calendar.starts[j] for j in keep]
            calendar.free = [calendar.free[j] for j in keep]
            calendar.doctors = _doctors_with_most_places(calendar.free)
    if not calendar.starts and dates:  # nothing on the preferred dates: the days after them
        days = [dates[-1] + timedelta(days=i) for i in range(1, HORIZON_DAYS)
                if dates[-1] + timedelta(days=i) <= last_day]
        calendar = _calendar(department=department, earliest=earliest, days=days, now=now)
    if not calendar.starts or not calendar.doctors:
        raise ApiError("No doctor has a free place in the next two weeks for these dates.", status_code=409,
                       code="no_availability")
    view, picked = _view(calendar=calendar, urgency=urgency, asap=asap, requested=requested, earliest=earliest,
                         department=department)
    mask = action_mask(view)
    probabilities, version, reason = _policy_scores(view)
    metrics.record("SchedulerRecommendation", area=METRIC_AREA)
    if probabilities is None:
        _fallback(reason)
        order = [heuristic(view, mask)] + [a for a in np.flatnonzero(mask) if a != heuristic(view, mask)]
        confidence = HEURISTIC_CONFIDENCE
    else:
        order = [int(a) for a in np.argsort(-probabilities, kind="stable") if mask[a]]
        chosen_time = order[0] // MAX_DOCTORS
        confidence = float(probabilities[chosen_time * MAX_DOCTORS:(chosen_time + 1) * MAX_DOCTORS].sum())
    options, seen_times = [], set()
    for action in order:
        j, d = divmod(int(action), MAX_DOCTORS)
        start = calendar.starts[picked[j]]
        if start in seen_times:
            continue
        seen_times.add(start)
        options.append(Option(start_local=start, doctor_id=calendar.doctors[d]))
        if len(options) == 4:
            break
    names = _names([o.doctor_id for o in options])
    for option in options:
        option.doctor_name = names.get(option.doctor_id, "")
    result = Recommendation(department=department, chosen=options[0], alternatives=options[1:],
                            confidence=round(confidence, 3), policy_version=version or "heuristic",
                            fallback=probabilities is None, fallback_reason=reason)
    remember(patient_id=patient.pk, department_id=department.pk,
             start=slot_grid.local_to_aware(result.chosen.start_local, zone), doctor_id=result.chosen.doctor_id,
             version=result.policy_version, fallback=result.fallback)
    return result


def recommended_start_of_day(*, patient: User, department: Department, grid: slot_grid.DayGrid) -> datetime | None:
    """The aware start of the slot recommended to ``patient`` on the day of ``grid`` (the slots page's
    read of it; None: no recommendation that day)."""
    if not patient.is_authenticated or not patient.is_patient or not grid.rostered:
        return None
    day = grid.day
    try:
        result = recommend(patient=patient, hospital_id=department.hospital_id, department_id=department.pk,
                           preferred_dates=[day.isoformat()], now=grid.now, known=grid)
    except ApiError:
        return None
    if result.chosen.start_local.date() != day:
        return None
    return slot_grid.local_to_aware(result.chosen.start_local, slot_grid.hospital_zone(department.hospital))
