"""When to nudge a lead next: reminders while a conversation stalls, follow-ups after it.

Pure: from the script and the conversation state, the next nudge and the time
it is due (moved out of quiet hours in the prospect's region). The service
stores that time on the lead, so a worker anywhere picks it up — and nothing
is lost across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from conversations.conditions import Facts, holds
from conversations.dsl import Script
from conversations.dsl_nurture import QuietHours
from conversations.state import ConversationState

MAX_NUDGES = 6  # a hard ceiling whatever the script says: we never pester


@dataclass(frozen=True, slots=True)
class Nudge:
    kind: Literal["reminder", "follow_up"]
    key: str  # "reminder:0", "follow_up:case_study"
    due_at: datetime
    index: int = 0  # which reminder, or which follow-up


def next_nudge(script: Script, state: ConversationState, facts: Facts) -> Nudge | None:
    """The next nudge owed to this conversation (`facts`: what follow-up conditions see)."""
    if state.status in ("new", "stopped") or state.stage == "disqualified":
        return None
    if state.nudges_sent >= MAX_NUDGES:
        return None
    nurture = script.nurture
    nudge: Nudge | None = None
    if state.status == "active" and state.current is not None and state.last_activity:
        if state.reminders_sent < len(nurture.reminders):
            reminder = nurture.reminders[state.reminders_sent]
            nudge = Nudge(
                "reminder",
                f"reminder:{state.reminders_sent}",
                state.last_activity + reminder.after,
                state.reminders_sent,
            )
    elif state.status == "completed" and state.completed_at is not None:
        for index, follow_up in enumerate(nurture.follow_ups):
            if follow_up.id in state.follow_ups_sent:
                continue
            if follow_up.when is None or holds(follow_up.when, facts):
                nudge = Nudge(
                    "follow_up", f"follow_up:{follow_up.id}",
                    state.completed_at + follow_up.after, index,
                )
                break
    if nudge is None or nurture.quiet_hours is None:
        return nudge
    due = outside_quiet_hours(nudge.due_at, nurture.quiet_hours, lang=state.lang)
    return Nudge(nudge.kind, nudge.key, due, nudge.index)


def outside_quiet_hours(moment: datetime, quiet: QuietHours, *, lang: str) -> datetime:
    """`moment`, or the end of the quiet hours it falls in (local time of the language's zone)."""
    zone = ZoneInfo(quiet.timezones.get(lang) or next(iter(quiet.timezones.values()), "UTC"))
    local = moment.astimezone(zone)
    if not _in_quiet(local.time(), quiet.start, quiet.end):
        return moment
    end = datetime.combine(local.date(), quiet.end, tzinfo=zone)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(moment.tzinfo)


def _in_quiet(now: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= now < end
    return now >= start or now < end  # the window wraps past midnight
