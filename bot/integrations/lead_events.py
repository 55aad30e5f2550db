"""Lead events for outside systems: published in the transaction that decided them, fanned out later.

Whoever changes a lead (the message service, a rep in Slack, /forget) calls
`publish_lead_event`, which queues one `lead_event` outbox row on the single
`lead_events` destination, so events keep their order. The fan-out sender (run by
the background worker, which knows the configured webhooks and CRM) turns each
into one row per subscribed destination, in the transaction that marks it done.
Publishing therefore needs no configuration, and adding an endpoint later never
changes the message path.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Literal

from conversations.exchange import EngagementRecorded, Event, StageChanged
from storage.records import LeadRecord
from storage.unit_of_work import UnitOfWork

LeadEventType = Literal["lead.qualified", "lead.claimed", "lead.disqualified",
                        "lead.stage_changed", "lead.engagement", "lead.erased"]
EVENT_TYPES: Final[tuple[LeadEventType, ...]] = (
    "lead.qualified", "lead.claimed", "lead.disqualified", "lead.stage_changed",
    "lead.engagement", "lead.erased",
)
LEAD_EVENT_KIND = "lead_event"
FANOUT_DESTINATION = "lead_events"


def publish_lead_event(
    uow: UnitOfWork, *, type: LeadEventType, lead_id: int, data: dict[str, Any], now: datetime
) -> None:
    """Queue one event (no commit: the caller's transaction).

    An erasure's row is not tied to the lead (`lead_id` None), or deleting the lead
    would delete it too; the lead's other pending events do go with it.
    """
    uow.outbox.queue(
        kind=LEAD_EVENT_KIND, destination=FANOUT_DESTINATION, now=now,
        lead_id=None if type == "lead.erased" else lead_id,
        payload={"id": uuid.uuid4().hex, "type": type, "lead_id": lead_id,
                 "occurred_at": now.isoformat(), "data": data},
    )


def engine_lead_events(events: Sequence[Event]) -> list[tuple[LeadEventType, dict[str, Any]]]:
    """The lead events a message's domain events make (pure)."""
    out: list[tuple[LeadEventType, dict[str, Any]]] = []
    for event in events:
        if isinstance(event, StageChanged):
            change = {"from": event.previous, "to": event.stage, "by": "bot"}
            out.append(("lead.stage_changed", change))
            if event.stage == "sql":
                out.append(("lead.qualified", change))
            elif event.stage == "disqualified":
                out.append(("lead.disqualified", {**change, "reason": None}))
        elif isinstance(event, EngagementRecorded):
            out.append(("lead.engagement", {"action": event.action, "via": event.via}))
    return out


def queue_engine_lead_events(
    uow: UnitOfWork, lead: LeadRecord, events: Sequence[Event], now: datetime
) -> None:
    """The service's after-message hook: publish what this message changed."""
    for type_, data in engine_lead_events(events):
        publish_lead_event(uow, type=type_, lead_id=lead.id, data=data, now=now)


def queue_lead_erased(uow: UnitOfWork, lead: LeadRecord, now: datetime) -> None:
    """The service's erase hook (/forget): tell every destination to erase the lead."""
    publish_lead_event(uow, type="lead.erased", lead_id=lead.id, data={}, now=now)
