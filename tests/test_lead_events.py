"""Which lead events a message's domain events publish (pure), an engagement signal
reaching the outbox as `lead.engagement` in the signal's own transaction, and events
fanned out in order in the transaction that claims them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from bot.dbgate import DatabaseGate
from bot.integrations import fanout, fanout_sender
from bot.integrations.fanout import WEBHOOK_KIND
from bot.integrations.fanout_sender import LeadEventFanOut
from bot.integrations.lead_events import EVENT_TYPES, LEAD_EVENT_KIND, engine_lead_events
from bot.integrations.webhook_config import WebhookEndpoint
from bot.outbox.worker import OutboxWorker, WorkerPolicy
from conversations.exchange import EngagementRecorded, StageChanged
from storage.models import OutboxMessage
from tests.conftest import ControlledClock
from tests.sla_helpers import open_container, qualify


def change(previous: str, stage: str) -> StageChanged:
    return StageChanged(previous=previous, stage=stage, score=80, fit=40, intent=40,
                        temperature="hot", reasons=())


def test_stage_changes_and_engagement_map_to_lead_events() -> None:
    assert engine_lead_events([change("mql", "sql"), EngagementRecorded(action="webinar", via="signal")]) == [
        ("lead.stage_changed", {"from": "mql", "to": "sql", "by": "bot"}),
        ("lead.qualified", {"from": "mql", "to": "sql", "by": "bot"}),
        ("lead.engagement", {"action": "webinar", "via": "signal"}),
    ]
    assert [t for t, _ in engine_lead_events([change("engaged", "disqualified")])] == [
        "lead.stage_changed", "lead.disqualified"]
    assert engine_lead_events([change("new", "engaged")]) == [
        ("lead.stage_changed", {"from": "new", "to": "engaged", "by": "bot"})]


def test_an_engagement_signal_publishes_lead_engagement(sqlite_url: str, clock: ControlledClock) -> None:
    container = open_container(sqlite_url, None, clock)
    lead_id = qualify(container, "42")
    action = container.script.script.engagement.actions[0].id
    container.service.record_signal(lead_id, action, event_id="evt-1")
    container.service.record_signal(lead_id, action, event_id="evt-1")  # a retried signal counts once
    with container.uow() as uow:
        events = [r.payload for r in uow.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == LEAD_EVENT_KIND).order_by(OutboxMessage.id))]
    assert [e["type"] for e in events].count("lead.engagement") == 1
    assert events[-1]["data"] == {"action": action, "via": "signal"} and events[-1]["lead_id"] == lead_id
    container.close()


# --- fanned out in the transaction that claims them ------------------------------------


def _fan_out_worker(container: Any, endpoint: WebhookEndpoint, *, batch: int,
                    transactions: list[int]) -> OutboxWorker:
    def counted_uow() -> Any:
        transactions.append(1)
        return container.uow()

    return OutboxWorker(
        name="fan-out", db=DatabaseGate.for_database(container.uow), uow_factory=counted_uow,
        clock=container.clock, policy=WorkerPolicy(claim_batch=batch),
        senders=[LeadEventFanOut(endpoints=[endpoint], hubspot=False,
                                 script_provider=lambda: container.script.script)])


def _events(container: Any) -> tuple[list[tuple[str, str, str]], list[str]]:
    """The lead events' (id, type, status), and the event ids the webhook rows carry, by row id."""
    with container.uow() as uow:
        rows = [(r.kind, r.payload, r.status) for r in uow.session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id))]
    events = [(payload["id"], payload["type"], status) for kind, payload, status in rows
              if kind == LEAD_EVENT_KIND]
    webhooks = [payload["message_id"].removeprefix("msg_") for kind, payload, _ in rows
                if kind == WEBHOOK_KIND]
    return events, webhooks


async def test_lead_events_are_fanned_out_in_order_in_the_claims_own_transaction(
        sqlite_url: str, clock: ControlledClock) -> None:
    container = open_container(sqlite_url, None, clock)
    for chat in ("1", "2", "3"):
        qualify(container, chat)
    published, _ = _events(container)
    assert len(published) >= 6  # each lead: engaged, mql, sql, qualified…
    endpoint = WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="whsec_" + "A" * 32,
                               events=frozenset(EVENT_TYPES))
    transactions: list[int] = []
    worker = _fan_out_worker(container, endpoint, batch=100, transactions=transactions)

    handled = await worker.deliver_due()

    events, webhooks = _events(container)
    assert handled == len(published)
    assert len(transactions) == 1  # no send task, no second transaction to record them
    assert {status for _, _, status in events} == {"delivered"}
    assert webhooks == [event_id for event_id, _, _ in published]  # one each, in order
    container.close()


async def test_a_claim_fans_out_at_most_a_batch_and_the_loop_claims_the_rest_soon(
        sqlite_url: str, clock: ControlledClock) -> None:
    container = open_container(sqlite_url, None, clock)
    qualify(container, "1")
    qualify(container, "2")
    published, _ = _events(container)
    endpoint = WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="whsec_" + "A" * 32,
                               events=frozenset({"lead.qualified"}))
    transactions: list[int] = []
    worker = _fan_out_worker(container, endpoint, batch=2, transactions=transactions)

    assert await worker.deliver_due() == 2
    events, webhooks = _events(container)
    assert [status for _, _, status in events] == (
        ["delivered"] * 2 + ["pending"] * (len(published) - 2))

    worker.start()  # the loop: claim after claim, each of at most two, until none is left
    try:
        for _ in range(200):
            events, webhooks = _events(container)
            if all(status == "delivered" for _, _, status in events):
                break
            await asyncio.sleep(0.01)
    finally:
        await worker.stop()
    assert all(status == "delivered" for _, _, status in events)
    assert webhooks == [event_id for event_id, type_, _ in published if type_ == "lead.qualified"]
    assert len(webhooks) == 2
    container.close()


async def test_a_fan_out_that_fails_on_the_database_leaves_every_event_pending(
        sqlite_url: str, clock: ControlledClock, monkeypatch: pytest.MonkeyPatch) -> None:
    container = open_container(sqlite_url, None, clock)
    qualify(container, "1")
    published, _ = _events(container)
    endpoint = WebhookEndpoint(url="http://127.0.0.1:9/hook", secret="whsec_" + "A" * 32,
                               events=frozenset(EVENT_TYPES))
    calls: list[str] = []
    real_fan_out = fanout.fan_out

    def failing_third(uow: Any, event: Any, **kwargs: Any) -> int:
        calls.append(event.id)
        if len(calls) == 3:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real_fan_out(uow, event, **kwargs)

    monkeypatch.setattr(fanout_sender, "fan_out", failing_third)
    worker = _fan_out_worker(container, endpoint, batch=100, transactions=[])
    with pytest.raises(OperationalError):
        await worker.deliver_due()
    events, webhooks = _events(container)
    assert [status for _, _, status in events] == ["pending"] * len(published) and webhooks == []

    monkeypatch.setattr(fanout_sender, "fan_out", real_fan_out)
    assert await worker.deliver_due() == len(published)  # all of them, once, in order
    events, webhooks = _events(container)
    assert webhooks == [event_id for event_id, _, _ in published]
    container.close()
