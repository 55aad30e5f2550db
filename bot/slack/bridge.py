"""The Slack ↔ Telegram thread bridge, both directions, as outbox rows written in the caller's transaction.

* Prospect → Slack: :func:`queue_thread_relays` is the service's `after_message`
  hook; what a prospect writes after the flow ends is queued as a `slack_thread` row
  behind the lead's alert (same destination, so it never overtakes the alert).
* Rep → prospect: :func:`relay_rep_reply` turns a reply in an alert's thread into a
  `telegram` outbox row signed with the rep's name, once per Slack `event_id`
  (Slack retries events it thinks failed), and never after `/stop` or `/forget`.

Nothing here commits: the unit of work's owner does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from bot.slack.card_source import EVENT_SALES_REPLY
from bot.slack.threads import (
    ERASE_KIND,
    THREAD_KIND,
    alert_location,
    alert_row_id,
    lead_for_thread,
)
from storage.records import LeadRecord
from storage.unit_of_work import UnitOfWork

MESSAGE_AFTER_FLOW = "message_after_flow"
SLACK_CHANNEL = "slack"  # processed_messages channel for Slack event ids
MAX_RELAY_CHARS = 3500  # Telegram's limit is 4096; leave room for the signature


def _event_type(event: Any) -> str | None:
    if isinstance(event, dict):
        value = event.get("type")
    else:
        value = getattr(event, "type", None)
    return value if isinstance(value, str) else None


def _event_text(event: Any) -> str:
    value = event.get("text") if isinstance(event, dict) else getattr(event, "text", "")
    return str(value or "")


def queue_thread_relays(
    uow: UnitOfWork, lead: LeadRecord, events: Iterable[Any], now: datetime
) -> None:
    """The `after_message` hook: queue each message-after-flow into the lead's alert thread.

    Leads without an alert (never qualified) have no thread: their messages stay in the
    events table only.
    """
    texts = [_event_text(e) for e in events if _event_type(e) == MESSAGE_AFTER_FLOW]
    texts = [t for t in texts if t.strip()]
    if not texts:
        return
    alert_id = alert_row_id(uow, lead.id)
    alert = uow.outbox.get(alert_id) if alert_id is not None else None
    if alert is None:
        return
    author = lead.name or lead.first_name or (f"@{lead.username}" if lead.username else "Prospect")
    for text in texts:
        uow.outbox.add(
            kind=THREAD_KIND, destination=alert.destination, lead_id=lead.id, now=now,
            payload={"alert_outbox_id": alert.id, "text": text, "author": author},
        )


def queue_alert_erasure(uow: UnitOfWork, lead: LeadRecord, now: datetime) -> bool:
    """Call before deleting a lead (/forget): its alert and our thread messages get scrubbed.

    The row carries no lead id (the lead's rows are about to be deleted, cascade
    included) and no personal data: only where the alert is. Returns False when the
    alert was never posted (a pending alert disappears with the lead's rows).
    """
    location = alert_location(uow, lead.id)
    if location is None:
        return False
    uow.outbox.add(
        kind=ERASE_KIND, destination=f"slack-erase:{location.channel}", now=now,
        payload={"channel": location.channel, "ts": location.ts},
    )
    return True


@dataclass(frozen=True, slots=True)
class ThreadReply:
    event_id: str
    channel: str
    thread_ts: str
    user_id: str
    user_name: str
    text: str  # already plain text (see :func:`slack_to_plain_text`)


class RelayOutcome(Enum):
    RELAYED = "relayed"
    DUPLICATE = "duplicate"
    NOT_AN_ALERT_THREAD = "not_an_alert_thread"
    LEAD_ERASED = "lead_erased"
    PROSPECT_STOPPED = "prospect_stopped"
    NO_CHAT = "no_chat"


def relay_rep_reply(uow: UnitOfWork, reply: ThreadReply, *, now: datetime) -> RelayOutcome:
    """Queue a rep's thread reply for the prospect (no commit)."""
    lead_id = lead_for_thread(uow, channel=reply.channel, thread_ts=reply.thread_ts)
    if lead_id is None:
        return RelayOutcome.NOT_AN_ALERT_THREAD
    # Remembered in the same transaction as the relay: a concurrent retry of the same
    # event finds the id taken (ON CONFLICT DO NOTHING), so the prospect gets it once.
    if not uow.processed.remember(SLACK_CHANNEL, reply.event_id, now=now):
        return RelayOutcome.DUPLICATE
    lead = uow.leads.get(lead_id)
    if lead is None:
        return RelayOutcome.LEAD_ERASED
    if lead.stopped:
        return RelayOutcome.PROSPECT_STOPPED
    if lead.channel != "telegram":
        return RelayOutcome.NO_CHAT
    text = reply.text if len(reply.text) <= MAX_RELAY_CHARS else reply.text[:MAX_RELAY_CHARS] + "…"
    uow.outbox.add(
        kind="telegram", destination=f"telegram:{lead.chat_id}", lead_id=lead.id, now=now,
        payload={
            "text": f"{text}\n\n— {reply.user_name}",
            "choices": [], "question_id": None, "request_phone": False, "remove_keyboard": False,
        },
    )
    uow.events.add(
        lead_id=lead.id, type=EVENT_SALES_REPLY, now=now,
        payload={"user_id": reply.user_id, "user_name": reply.user_name, "text": reply.text},
    )
    return RelayOutcome.RELAYED


_LINK = re.compile(r"<([^<>|]+)\|([^<>]+)>")
_BARE = re.compile(r"<([^<>|]+)>")


def slack_to_plain_text(text: str, *, users: dict[str, str] | None = None) -> str:
    """Slack message markup to what a Telegram user should read.

    `<https://x|label>` → "label (https://x)", `<@U1>` → "@name", `<#C1|sales>` → "#sales",
    then the three escaped characters back.
    """
    users = users or {}

    def labelled(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith("#"):
            return f"#{label}"
        if target.startswith("@"):
            return f"@{label}"
        return f"{label} ({target})"

    def bare(match: re.Match[str]) -> str:
        target = match.group(1)
        if target.startswith("@"):
            return "@" + users.get(target[1:], "colleague")
        if target.startswith("!"):
            return "@" + target[1:]
        return target

    text = _BARE.sub(bare, _LINK.sub(labelled, text))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
