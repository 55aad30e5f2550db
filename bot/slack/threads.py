"""Where each lead's alert lives in Slack, both ways: lead → (channel, ts) and thread → lead.

Lead → message: the delivered `slack_alert` outbox row's `result`. Thread → lead: a
`key_values` row written in the transaction that marks the alert delivered, because a
rep's thread reply only carries `channel` and `thread_ts` and the outbox `result` is
JSON (not indexable the same way on SQLite and PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.unit_of_work import UnitOfWork

ALERT_KIND = "slack_alert"
THREAD_KIND = "slack_thread"
ERASE_KIND = "slack_erase"
UPDATE_KIND = "slack_alert_update"  # re-render a posted alert (e.g. a meeting was booked)
ESCALATION_KIND = "slack_escalation"  # an unclaimed lead, posted elsewhere with a link to its alert
# Marks our own messages so delivery can find one posted before a crash.
METADATA_EVENT_TYPE = "leadbot_outbox"


@dataclass(frozen=True, slots=True)
class AlertLocation:
    channel: str
    ts: str
    outbox_id: int


def thread_key(channel: str, ts: str) -> str:
    return f"slack.thread:{channel}:{ts}"


def remember_alert_thread(uow: UnitOfWork, *, lead_id: int, channel: str, ts: str, now: datetime) -> None:
    uow.key_values.put(thread_key(channel, ts), {"lead_id": lead_id}, now=now)


def lead_for_thread(uow: UnitOfWork, *, channel: str, thread_ts: str) -> int | None:
    row = uow.key_values.get_locked(thread_key(channel, thread_ts))
    if row is None:
        return None
    lead_id = row.value.get("lead_id")
    return lead_id if isinstance(lead_id, int) else None


def alert_row_id(uow: UnitOfWork, lead_id: int) -> int | None:
    """The lead's alert outbox row (delivered or not): thread messages queue behind it."""
    rows = uow.outbox.for_lead(lead_id, kind=ALERT_KIND)
    return rows[-1].id if rows else None


def alert_location(uow: UnitOfWork, lead_id: int) -> AlertLocation | None:
    """Where the lead's alert was posted; None while it is not delivered yet."""
    for row in reversed(uow.outbox.for_lead(lead_id, kind=ALERT_KIND)):
        result = row.result or {}
        if row.status == "delivered" and result.get("channel") and result.get("ts"):
            return AlertLocation(str(result["channel"]), str(result["ts"]), row.id)
    return None


def is_alert_of(uow: UnitOfWork, lead_id: int, *, channel: str, ts: str) -> bool:
    """True when the message at (channel, ts) is this lead's alert.

    A button's value names a lead; the message it was clicked on must be that
    lead's alert, else a crafted (even if signed) action could change another lead
    and overwrite this card with it. An erased lead has no alert any more: the
    action goes on and reports the erasure.
    """
    if uow.leads.get(lead_id) is None:
        return True
    location = alert_location(uow, lead_id)
    return location is not None and (location.channel, location.ts) == (channel, ts)
