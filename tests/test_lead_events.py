"""Which lead events a message's domain events publish (pure), and an engagement signal
reaching the outbox as `lead.engagement` in the signal's own transaction."""

from __future__ import annotations

from sqlalchemy import select

from bot.integrations.lead_events import LEAD_EVENT_KIND, engine_lead_events
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
