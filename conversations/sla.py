"""Speed-to-lead arithmetic: when an SLA step falls due, and how much business time has passed.

Pure functions of their arguments (no clock reads). Without business hours every
second counts; with them, only the seconds inside the open windows do. Windows
are built in the business time zone and compared in UTC, so daylight-saving
changes shift the window, never the length of a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from conversations.dsl_sla import BusinessHours, Sla

SlaStep = Literal["reminder", "escalation"]
# A year of calendar days: far more than any 30-day SLA needs, even mon-only hours.
_MAX_DAYS = 400


def _windows(hours: BusinessHours, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The open windows (UTC) from the local day containing `since` onwards."""
    zone = hours.zone
    day: date = since.astimezone(zone).date()
    for _ in range(_MAX_DAYS):
        if day.weekday() in hours.days:
            opens = datetime.combine(day, hours.start, tzinfo=zone).astimezone(UTC)
            closes = datetime.combine(day, hours.end, tzinfo=zone).astimezone(UTC)
            yield opens, closes
        day += timedelta(days=1)


def business_deadline(start: datetime, duration: timedelta, hours: BusinessHours | None) -> datetime:
    """The moment `duration` of business time has passed since `start`."""
    if hours is None:
        return start + duration
    remaining = duration
    for opens, closes in _windows(hours, start):
        if closes <= start:
            continue
        begin = max(start, opens)
        available = closes - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise ValueError("business hours leave no open time in a year")  # days validated non-empty


def business_elapsed(start: datetime, end: datetime, hours: BusinessHours | None) -> timedelta:
    """Business time between `start` and `end` (zero when end is before start)."""
    if end <= start:
        return timedelta(0)
    if hours is None:
        return end - start
    total = timedelta(0)
    for opens, closes in _windows(hours, start):
        if opens >= end:
            break
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    return total


@dataclass(frozen=True, slots=True)
class SlaPlan:
    """When the SLA is breached, and the first step to take then (None: nothing to do)."""

    deadline: datetime
    first_step: SlaStep
    first_due: datetime


def plan_sla(sla: Sla, qualified_at: datetime) -> SlaPlan:
    """The reminder falls due at `claim_within`; the escalation one period later.

    Without a reminder the escalation falls due when the SLA is breached.
    """
    deadline = business_deadline(qualified_at, sla.claim_within, sla.business_hours)
    first: SlaStep = "reminder" if sla.remind else "escalation"
    return SlaPlan(deadline=deadline, first_step=first, first_due=deadline)


def after_step(sla: Sla, step: SlaStep, due_at: datetime) -> tuple[SlaStep, datetime] | None:
    """The step following `step` (which fell due at `due_at`), or None when it was the last."""
    if step == "reminder" and sla.escalate_to is not None:
        return "escalation", business_deadline(due_at, sla.claim_within, sla.business_hours)
    return None
