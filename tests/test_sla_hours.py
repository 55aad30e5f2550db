"""Business-time arithmetic and the `sla:` DSL: pure functions, checked by hand and by property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from conversations.dsl_sla import BusinessHours, Sla
from conversations.sla import business_deadline, business_elapsed

PARIS = BusinessHours.model_validate(
    {"timezone": "Europe/Paris", "days": "mon-fri", "from": "09:00", "to": "18:00"})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_without_business_hours_every_minute_counts() -> None:
    assert business_deadline(utc(2026, 11, 28, 23, 55), timedelta(minutes=10), None) == utc(2026, 11, 29, 0, 5)


def test_a_lead_qualified_at_night_waits_for_the_morning() -> None:
    # Tuesday 23:00 Paris (22:00 UTC) → Wednesday 09:10 Paris (08:10 UTC).
    assert business_deadline(utc(2026, 11, 24, 22, 0), timedelta(minutes=10), PARIS) == utc(2026, 11, 25, 8, 10)


def test_the_weekend_is_skipped_and_daylight_saving_moves_the_window() -> None:
    # Friday 27 March 2026 17:30 Paris (16:30 UTC, winter time); clocks go forward on Sunday.
    # 30 min left on Friday, 30 more on Monday from 09:00 Paris, now 07:00 UTC.
    deadline = business_deadline(utc(2026, 3, 27, 16, 30), timedelta(hours=1), PARIS)
    assert deadline == utc(2026, 3, 30, 7, 30)


def test_elapsed_counts_only_open_hours() -> None:
    assert business_elapsed(utc(2026, 11, 27, 16, 0), utc(2026, 11, 30, 9, 0), PARIS) == timedelta(hours=2)
    assert business_elapsed(utc(2026, 11, 30, 9, 0), utc(2026, 11, 27, 16, 0), PARIS) == timedelta(0)


@given(start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)),
       minutes=st.integers(min_value=1, max_value=60 * 24 * 10))
def test_the_deadline_is_exactly_that_much_business_time_later(start: datetime, minutes: int) -> None:
    deadline = business_deadline(start, timedelta(minutes=minutes), PARIS)
    assert business_elapsed(start, deadline, PARIS) == timedelta(minutes=minutes)


@pytest.mark.parametrize(("sla", "message"), [
    ({"claim_within": "soon"}, "is not a duration"),
    ({"claim_within": "10m", "mention": ["bob"]}, "is not a Slack user id"),
    ({"claim_within": "10m", "remind": False}, "neither reminds nor escalates"),
    ({"claim_within": "10m", "business_hours": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
    ({"claim_within": "10m", "business_hours": {"timezone": "UTC", "days": "fri-mon"}}, "runs backwards"),
    ({"claim_within": "10m", "business_hours": {"timezone": "UTC", "from": "18:00", "to": "09:00"}},
     "must be after they start"),
    ({"claim_within": "10m", "escalate_to": "#sales managers"}, "escalate_to"),
])
def test_sla_mistakes_are_named(sla: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Sla.model_validate(sla)


def test_days_and_unquoted_yaml_times_are_read() -> None:
    hours = BusinessHours.model_validate({"timezone": "UTC", "days": "mon,wed-thu", "from": 540, "to": "17:30"})
    assert hours.days == (0, 2, 3) and f"{hours.start:%H:%M}-{hours.end:%H:%M}" == "09:00-17:30"
