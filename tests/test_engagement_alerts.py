"""Engagement after the chat, end to end: `/api/events` over HTTP and button taps re-score a lead,
a lead that crosses the SQL threshold gets exactly one Slack alert (delivered to the fake
Slack), engagement decays with the half-life, and a booked meeting shows on the alert.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.api.events import create_api_app
from bot.bootstrap import Container, build
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from bot.slack.alert import AlertCard, alert_blocks, alert_fallback_text, render_alert_text
from bot.slack.delivery import DeliveryPolicy, SlackDelivery, build_delivery_client
from bot.slack.threads import UPDATE_KIND
from conversations.exchange import Inbound
from tests.conftest import ControlledClock
from tests.fakes.slack_api import DEFAULT_TOKEN, FakeSlackApi

API_KEY = "engagement-key"
BOB = ["/start", "hospital", "45", "15k", "in 6 months", "Bob Martin", "Clinic",
       "bob@clinic.org", "skip"]  # 40 points (fit 25, intent 15): mql, warm
ADA = ["/start spring", "we sell accounting software", "about 120", "50k", "asap",
       "Ada Lovelace", "Analytical Engines", "ada@example.com", "skip"]  # sql in the chat


@dataclass
class Desk:
    """The bot as sales and marketing see it: a container, its API over HTTP, Slack delivery."""

    container: Container
    clock: ControlledClock
    http: httpx.AsyncClient
    url: str
    slack: SlackDelivery
    fake: FakeSlackApi

    def chat(self, chat_id: str, lines: list[str]) -> int:
        key = ConversationKey("telegram", chat_id)
        for number, line in enumerate(lines):
            self._send(key, Inbound.parse_text(line, first_name="Bob", language_code="en"),
                       f"{chat_id}-{number}")
        lead_id = self.lead_id(chat_id)
        assert lead_id is not None
        return lead_id

    def tap(self, chat_id: str, token: str) -> None:
        self._send(ConversationKey("telegram", chat_id), Inbound(kind="choice", choice=token),
                   f"{chat_id}-tap-{token}-{self.clock.now.isoformat()}")

    def _send(self, key: ConversationKey, inbound: Inbound, message_id: str) -> None:
        self.container.service.handle_message(
            key, inbound, message_id=message_id, outbound="telegram",
            profile=Profile(first_name="Bob", username=f"u{key.chat_id}", language_code="en"),
        )

    def lead_id(self, chat_id: str) -> int | None:
        with self.container.uow() as uow:
            lead = uow.leads.by_chat("telegram", chat_id)
            return lead.id if lead is not None else None

    async def event(self, lead_id: int, event: str, **extra: Any) -> dict[str, Any]:
        response = await self.http.post(self.url + "/api/events", headers={
            "Authorization": f"Bearer {API_KEY}"}, json={"lead": {"id": lead_id}, "event": event,
                                                         **extra})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def outbox(self, lead_id: int, kind: str) -> list[Any]:
        with self.container.uow() as uow:
            return uow.outbox.for_lead(lead_id, kind=kind)

    def alerts_in_slack(self) -> list[dict[str, Any]]:
        return [m for m in self.fake.all_messages() if "thread_ts" not in m]


@pytest.fixture
def container(database_url: str, clock: ControlledClock) -> Iterator[Container]:
    """A SQLite file, and PostgreSQL when a server is there (the booking hook locks rows)."""
    built = build(Settings(database_url=database_url, leadbot_api_key=API_KEY), clock=clock)
    yield built
    built.close()


@pytest.fixture
async def desk(
    container: Container, clock: ControlledClock, fake_slack: FakeSlackApi, serve_asgi: Any,
) -> AsyncIterator[Desk]:
    url = await serve_asgi(create_api_app(service=container.service, uow_factory=container.uow,
                                          settings=container.settings))
    slack = SlackDelivery(
        session_factory=container.session_factory,
        client=build_delivery_client(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
        default_channel="#sales", script_provider=lambda: container.script.script,
        policy=DeliveryPolicy(lease=timedelta(seconds=5), backoff_base=0.05, backoff_max=0.3,
                              poll_interval=0.05),
        clock=clock,
    )
    async with httpx.AsyncClient(trust_env=False, timeout=10) as http:
        yield Desk(container, clock, http, url, slack, fake_slack)


async def test_events_and_taps_take_a_lead_to_sql_and_sales_get_exactly_one_alert(
    desk: Desk, clock: ControlledClock,
) -> None:
    bob = desk.chat("301", BOB)
    assert (await desk.event(bob, "webinar_registration"))["lead"]["score"] == 55

    # Two days on, the warm follow-up offers buttons; Bob taps one.
    clock.advance(days=2)
    assert desk.container.service.send_due_nudges() == 1
    desk.tap("301", "e:case_study")  # 40 + 14 (the webinar, 2 days old, decays) + 10 = 64
    assert desk.outbox(bob, "slack_alert") == []
    assert await desk.slack.deliver_due() == 0  # nothing for sales yet

    crossed = await desk.event(bob, "content_download", id="dl-9")  # 74 ≥ 70
    assert crossed["lead"] == {"id": bob, "stage": "sql", "score": 74, "temperature": "hot"}
    for event in ("email_open", "content_download"):  # more interest: still one alert
        await desk.event(bob, event)
    await desk.event(bob, "content_download", id="dl-9")  # a retry of the qualifying event
    assert len(desk.outbox(bob, "slack_alert")) == 1

    assert await desk.slack.deliver_due() == 1
    assert await desk.slack.deliver_due() == 0
    [alert] = desk.alerts_in_slack()
    assert "Qualified lead: Bob Martin (Clinic)" in alert["text"]
    blocks = str(alert["blocks"])
    assert "webinar_registration" in blocks  # the engagement is part of *why*

    response = await desk.http.post(desk.url + "/api/events",
                                    json={"lead": {"id": bob}, "event": "email_open"})
    assert response.status_code == 401  # no API key: refused


async def test_engagement_points_halve_with_each_half_life(
    desk: Desk, clock: ControlledClock,
) -> None:
    bob = desk.chat("302", BOB)  # fit 25 + intent 15
    assert (await desk.event(bob, "webinar_registration"))["lead"]["score"] == 40 + 15

    clock.advance(days=14)  # the script's half-life: the webinar is worth 7.5 → 8
    assert (await desk.event(bob, "email_open"))["lead"]["score"] == 40 + 8 + 2

    clock.advance(days=14)  # 3.75 → 4 for the webinar, 1 for the email open
    assert (await desk.event(bob, "email_open"))["lead"]["score"] == 40 + 4 + 1 + 2
    with desk.container.uow() as uow:
        lead = uow.leads.get(bob)
        assert lead is not None and (lead.score, lead.intent) == (47, 22)
        assert "webinar_registration: +4 intent" in lead.reasons


async def test_a_meeting_booked_after_the_alert_updates_it_once(desk: Desk) -> None:
    ada = desk.chat("303", ADA)
    assert await desk.slack.deliver_due() == 1
    [alert] = desk.alerts_in_slack()
    assert "Meeting" not in str(alert["blocks"])

    await desk.event(ada, "meeting_booked", id="cal-1")
    await desk.event(ada, "meeting_booked", id="cal-2")  # a second confirmation: no second update
    assert len(desk.outbox(ada, UPDATE_KIND)) == 1
    assert await desk.slack.deliver_due() == 1
    assert await desk.slack.deliver_due() == 0

    [updated] = desk.alerts_in_slack()
    assert updated["ts"] == alert["ts"] and updated.get("edited")
    assert "📅 Booked" in str(updated["blocks"]) and "meeting booked" in updated["text"]
    assert len(desk.fake.calls_to("chat.update")) == 1


async def test_a_meeting_booked_before_the_alert_is_posted_is_on_it(desk: Desk) -> None:
    ada = desk.chat("304", ADA)
    await desk.event(ada, "meeting_booked")
    assert desk.outbox(ada, UPDATE_KIND) == []
    assert await desk.slack.deliver_due() == 1
    [alert] = desk.alerts_in_slack()
    assert "📅 Booked" in str(alert["blocks"])
    assert desk.fake.calls_to("chat.update") == []


async def test_a_booking_that_qualifies_the_lead_is_on_its_first_alert(desk: Desk) -> None:
    bob = desk.chat("305", BOB)  # mql
    assert (await desk.event(bob, "meeting_booked"))["lead"]["stage"] == "sql"  # 40 + 40
    assert desk.outbox(bob, UPDATE_KIND) == []
    assert await desk.slack.deliver_due() == 1
    assert "📅 Booked" in str(desk.alerts_in_slack()[0]["blocks"])


def test_the_card_shows_the_booking_in_every_rendering() -> None:
    booked = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
    card = AlertCard(lead_id=7, stage="sql", name="Ada", meeting_booked_at=booked)
    blocks = str(alert_blocks(card))
    assert f"<!date^{int(booked.timestamp())}^" in blocks and "2026-11-30 14:05 UTC" in blocks
    assert "meeting booked" in alert_fallback_text(card)
    assert "Meeting: booked 2026-11-30 14:05 UTC" in render_alert_text(card)
    plain = AlertCard(lead_id=7, stage="sql", name="Ada")
    assert "Booked" not in str(alert_blocks(plain)) and "meeting" not in alert_fallback_text(plain)
