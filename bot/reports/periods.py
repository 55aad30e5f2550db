"""`--since` / `--until` values: a day (`2024-05-01`) or a moment (`2024-05-01T09:30`).

A day given to `--until` includes that whole day; a moment is excluded. Times
without a zone are UTC, like everything the database stores.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


class PeriodError(ValueError):
    pass


def parse_moment(text: str | None, *, option: str, end: bool) -> datetime | None:
    if text is None:
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PeriodError(
            f"{option} {text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_period(
    since: str | None, until: str | None
) -> tuple[datetime | None, datetime | None]:
    start = parse_moment(since, option="--since", end=False)
    stop = parse_moment(until, option="--until", end=True)
    if start is not None and stop is not None and stop <= start:
        raise PeriodError(f"--until {until} is not after --since {since}; swap them?")
    return start, stop
