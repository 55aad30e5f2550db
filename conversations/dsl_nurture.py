"""DSL for what happens around the questions: reminders, follow-ups, engagement, booking.

Kept apart from `conversations.dsl` (the questions themselves) so each file
holds one idea; `Script` has a field for each of these.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from conversations.dsl_base import Condition, Identifier, Model, Points, Text

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> object:
    """ "90m", "2h", "1d", "2w" → timedelta (a number alone is seconds)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration; write e.g. 30m, 2h, 1d or 2w")
        return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Reminder(Model):
    """A nudge for a prospect who stopped answering, `after` their last message."""

    after: Duration
    text: Text


class QuietHours(Model):
    """No nudge between `start` and `end`, in the prospect's language region."""

    start: time = time(21, 0)
    end: time = time(8, 0)
    timezones: dict[str, str] = Field(
        default_factory=lambda: {"en": "Europe/London", "fr": "Europe/Paris"}
    )

    @field_validator("timezones")
    @classmethod
    def _known_zones(cls, value: dict[str, str]) -> dict[str, str]:
        for lang, zone in value.items():
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"unknown time zone {zone!r} for {lang}; use an IANA name like Europe/Paris"
                ) from None
        return value


class FollowUp(Model):
    """A message sent `after` the flow ended, to leads matching `when` (stage, temperature…)."""

    id: Identifier
    when: Condition | None = None
    after: Duration
    text: Text
    actions: tuple[Identifier, ...] = ()  # engagement actions offered as buttons


class Nurture(Model):
    reminders: tuple[Reminder, ...] = Field(default=(), max_length=10)
    quiet_hours: QuietHours | None = None
    follow_ups: tuple[FollowUp, ...] = Field(default=(), max_length=20)

    @model_validator(mode="after")
    def _reminders_in_order(self) -> Nurture:
        afters = [r.after for r in self.reminders]
        if afters != sorted(afters):
            raise ValueError("list reminders from the soonest to the latest `after`")
        return self


class EngagementAction(Model):
    """Something a lead does that shows interest: a button here, or a signal on /api/events."""

    id: Identifier
    label: Text | None = None  # shown on a button; signals from outside need none
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    reply: Text | None = None  # what the bot answers when the button is tapped
    points: Points = Points()
    repeat: bool = False  # count every time, or only the first


class Engagement(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: tuple[EngagementAction, ...] = ()
    half_life: Duration | None = None  # engagement points halve every half-life

    def action(self, action_id: str) -> EngagementAction | None:
        for action in self.actions:
            if action.id == action_id:
                return action
        return None


class Booking(Model):
    """The meeting link offered to an SQL lead; {name}, {email}, {lead} are filled in, URL-encoded."""

    url: str = Field(pattern=r"^https?://\S+$")
    text: Text

