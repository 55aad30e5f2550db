"""The outbox sender that fans lead events out (no network: the work is the transaction).

There is nothing to send: the worker delivers each event in the transaction that
claims it (`DeliveredInClaim`), where `on_delivered` writes one row per subscribed
destination (see `bot.integrations.fanout`) and the next event follows in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.integrations.fanout import LeadEventRow, fan_out
from bot.integrations.lead_events import LEAD_EVENT_KIND
from bot.integrations.webhook_config import WebhookEndpoint
from bot.outbox.worker import DeliveredInClaim
from conversations.dsl import Script
from storage.outbox import ClaimedRow
from storage.unit_of_work import UnitOfWork


class LeadEventFanOut(DeliveredInClaim):
    kinds: Sequence[str] = (LEAD_EVENT_KIND,)

    def __init__(self, *, endpoints: Sequence[WebhookEndpoint], hubspot: bool,
                 script_provider: Callable[[], Script | None]) -> None:
        self._endpoints = tuple(endpoints)
        self._hubspot = hubspot
        self._script = script_provider

    def prepare(self, uow: UnitOfWork, row: ClaimedRow, now: datetime) -> LeadEventRow:
        return LeadEventRow.from_payload(row.payload)

    def on_delivered(self, uow: UnitOfWork, job: LeadEventRow, result: dict[str, Any], now: datetime) -> None:
        fan_out(uow, job, endpoints=self._endpoints, hubspot=self._hubspot, script=self._script(), now=now)
