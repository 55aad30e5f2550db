"""DSL for speed-to-lead: how fast sales must claim a qualified lead, and who hears when they don't.

A routing rule may carry `sla:`; `scoring.sla` is the default for rules without
one (and for leads no rule matched). Business hours, when given, are the only
time that counts towards `claim_within`.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from conversations.dsl_base import Model
from conversations.dsl_nurture import Duration

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
CHANNEL_PATTERN = r"^[#@]?[A-Za-z0-9._-]{1,80}$"
SLACK_USER_PATTERN = r"^[UW][A-Z0-9]{2,20}$"


def parse_days(value: object) -> object:
    """ "mon-fri", "mon,wed,fri", ["sat", "sun"] → weekday numbers (Monday is 0)."""
    if isinstance(value, str):
        parts: list[str] = [p.strip().lower() for p in value.split(",") if p.strip()]
    elif isinstance(value, (list, tuple)):
        parts = [str(p).strip().lower() for p in value]
    else:
        return value
    days: set[int] = set()
    for part in parts:
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ValueError(f"{part!r} is not a day or range of days; write e.g. mon-fri or mon,wed,fri")
        start, end = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        if end < start:
            raise ValueError(f"{part!r} runs backwards; write the earlier day first (e.g. mon-fri)")
        days.update(range(start, end + 1))
    if not days:
        raise ValueError("no days given; write e.g. mon-fri")
    return tuple(sorted(days))


def _clock(value: object) -> object:
    if isinstance(value, str):
        match = _CLOCK.match(value.strip())
        if match is None:
            raise ValueError(f"{value!r} is not a time of day; write it as HH:MM, e.g. \"09:00\"")
        return time(int(match.group(1)), int(match.group(2)))
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 09:00 as the sexagesimal number 540 (minutes).
        if 0 <= value < 24 * 60:
            return time(value // 60, value % 60)
    return value


class BusinessHours(Model):
    """The hours in which the SLA clock runs, in one time zone (e.g. the sales team's)."""

    timezone: str
    days: tuple[int, ...] = Field(default=(0, 1, 2, 3, 4))
    start: time = Field(default=time(9, 0), alias="from")
    end: time = Field(default=time(18, 0), alias="to")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Europe/Paris"
            ) from None
        return value

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: object) -> object:
        return parse_days(value)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _times(cls, value: object) -> object:
        return _clock(value)

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.end <= self.start:
            raise ValueError(
                f"business hours end ({self.end:%H:%M}) must be after they start "
                f"({self.start:%H:%M}); hours across midnight are not supported"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Sla(Model):
    """Claim within `claim_within`, or the rule's reps are reminded, then `escalate_to` is told."""

    claim_within: Duration
    remind: bool = True
    escalate_to: str | None = Field(default=None, pattern=CHANNEL_PATTERN)
    mention: tuple[str, ...] = ()
    business_hours: BusinessHours | None = None

    @field_validator("claim_within")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError("claim_within must be at least 1m")
        if value > timedelta(days=30):
            raise ValueError("claim_within must be at most 30d")
        return value

    @field_validator("mention")
    @classmethod
    def _user_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for user in value:
            if not re.match(SLACK_USER_PATTERN, user):
                raise ValueError(
                    f"{user!r} is not a Slack user id; mention people by id, e.g. U024BE7LH "
                    "(profile → ⋮ → Copy member ID)"
                )
        return value

    @model_validator(mode="after")
    def _does_something(self) -> Sla:
        if not self.remind and self.escalate_to is None:
            raise ValueError("this sla neither reminds nor escalates; set remind: true or escalate_to")
        return self
