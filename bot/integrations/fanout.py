"""Fanning a lead event out to its destinations: one outbox row per subscribed webhook and the CRM.

Runs in the transaction that marks the `lead_event` row done, so each event
reaches each destination exactly once; the rows' `dedupe_key` (event id and
destination) makes that a database fact too. The webhook body is built here, once:
every endpoint and every retry sends the same bytes under the same `webhook-id`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.integrations.lead_json import lead_json
from bot.integrations.webhook_config import WebhookEndpoint
from conversations.dsl import Script
from storage.unit_of_work import UnitOfWork

WEBHOOK_KIND = "webhook"
HUBSPOT_KIND = "hubspot"
PAYLOAD_VERSION = 1
# What the CRM sync acts on: contact upserts on the lifecycle events, GDPR delete on erasure.
HUBSPOT_EVENTS = frozenset({"lead.qualified", "lead.claimed", "lead.disqualified",
                            "lead.stage_changed", "lead.erased"})


@dataclass(frozen=True, slots=True)
class LeadEventRow:
    """A claimed `lead_event` row's payload, copied out of its session."""

    id: str
    type: str
    lead_id: int
    occurred_at: str
    data: dict[str, Any]

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> LeadEventRow:
        return cls(id=str(payload["id"]), type=str(payload["type"]), lead_id=int(payload["lead_id"]),
                   occurred_at=str(payload["occurred_at"]), data=dict(payload.get("data") or {}))


def webhook_body(event: LeadEventRow, lead: dict[str, Any] | None) -> str:
    """The JSON body receivers get (Standard Webhooks shape: type, timestamp, data)."""
    data: dict[str, Any] = {"lead_id": event.lead_id, **event.data}
    if lead is not None and event.type != "lead.erased":
        data["lead"] = lead
    return json.dumps({"type": event.type, "version": PAYLOAD_VERSION, "timestamp": event.occurred_at,
                       "data": data}, ensure_ascii=False, separators=(",", ":"))


def fan_out(
    uow: UnitOfWork, event: LeadEventRow, *, endpoints: Sequence[WebhookEndpoint],
    hubspot: bool, script: Script | None, now: datetime,
) -> int:
    """Queue the event for each destination that wants it; returns how many rows were queued."""
    lead_id = None if event.type == "lead.erased" else event.lead_id
    queued = 0
    wanted = [e for e in endpoints if event.type in e.events]
    if wanted:
        lead = lead_json(uow, event.lead_id, script) if lead_id is not None else None
        if lead_id is not None and lead is None:
            return 0  # erased meanwhile: its lead.erased event follows
        body = webhook_body(event, lead)
        for endpoint in wanted:
            queued += uow.outbox.add(
                kind=WEBHOOK_KIND, destination=endpoint.destination, lead_id=lead_id, now=now,
                dedupe_key=f"{event.id}:{endpoint.destination}",
                payload={"message_id": f"msg_{event.id}", "type": event.type, "body": body},
            ) is not None
    if hubspot and event.type in HUBSPOT_EVENTS:
        # One destination per lead: a lead's syncs stay in order, leads sync in parallel.
        queued += uow.outbox.add(
            kind=HUBSPOT_KIND, destination=f"hubspot:{event.lead_id}", lead_id=lead_id, now=now,
            dedupe_key=f"{event.id}:hubspot",
            payload={"type": event.type, "lead_id": event.lead_id},
        ) is not None
    return queued
