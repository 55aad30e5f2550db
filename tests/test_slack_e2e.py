"""End to end through the real service: a prospect qualifies on Telegram, sales get one alert,
a rep answers in the thread and the prospect's reply comes back into it.

The prospect is played through `LeadService.handle_message` (as the Telegram adapter
calls it); Slack is the fake Web API; our Slack endpoint runs under uvicorn and gets
requests signed like Slack's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.bootstrap import Container, build
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from bot.slack.app import build_interactive_client, create_bolt_app, create_slack_asgi_app
from bot.slack.bridge import queue_thread_relays
from bot.slack.delivery import DeliveryPolicy, SlackDelivery, build_delivery_client
from bot.slack.runtime import render_lead_alert_text
from conversations.exchange import Inbound
from storage.models import OutboxMessage
from storage.unit_of_work import UnitOfWork
from tests.fakes.slack_api import DEFAULT_TOKEN, FakeSlackApi
from tests.slack_signing import SIGNING_SECRET, signed_event

log = logging.getLogger(__name__)
HOT = ["/start spring-campaign", "we sell accounting software", "about 120", "50k", "asap",
       "Ada Lovelace", "Analytical Engines", "ada@example.com", "skip"]
COLD = ["/start", "school", "just me", "2000 euros", "just looking"]


@pytest.fixture
def container(sqlite_url: str) -> Iterator[Container]:
    built = build(Settings(database_url=sqlite_url), hooks=[queue_thread_relays])
    yield built
    built.close()


def delivery(container: Container, fake: FakeSlackApi) -> SlackDelivery:
    return SlackDelivery(
        session_factory=container.session_factory,
        client=build_delivery_client(token=DEFAULT_TOKEN, base_url=fake.base_url),
        default_channel="#sales", script_provider=lambda: container.script.script,
        policy=DeliveryPolicy(lease=timedelta(seconds=5), backoff_base=0.05, backoff_max=0.3,
                              poll_interval=0.05),
    )


def say(container: Container, chat_id: str, lines: list[str], *, first: int = 0) -> None:
    key = ConversationKey("telegram", chat_id)
    profile = Profile(first_name="Ada", username=f"ada{chat_id}", language_code="en")
    for number, line in enumerate(lines, start=first):
        container.service.handle_message(
            key, Inbound.parse_text(line, first_name="Ada", language_code="en"),
            message_id=f"{chat_id}-{number}", profile=profile, outbound="telegram",
        )


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def alerts(fake: FakeSlackApi) -> list[dict[str, Any]]:
    return [m for m in fake.all_messages() if "thread_ts" not in m]


async def test_a_qualified_prospect_gets_exactly_one_alert_and_a_cold_one_none(
    container: Container, fake_slack: FakeSlackApi,
) -> None:
    worker = delivery(container, fake_slack)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop))
    try:
        say(container, "2001", COLD)
        qualified_at = time.monotonic()
        say(container, "1001", HOT)
        await until(lambda: len(alerts(fake_slack)) == 1)
        log.info("alert in Slack %.3f s after the qualifying answer", time.monotonic() - qualified_at)
        say(container, "1001", ["one more thing: we have 3 sites"], first=100)  # no second alert
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await task
    [alert] = alerts(fake_slack)
    blocks = str(alert["blocks"])
    for detail in ("Ada Lovelace", "Analytical Engines", "ada@example.com",
                   "we sell accounting software", "about 120", "spring-campaign", "intent"):
        assert detail in blocks, detail
    assert "Qualified lead: Ada Lovelace" in alert["text"]


async def test_thread_bridge_round_trip(
    container: Container, fake_slack: FakeSlackApi, serve_asgi: Any,
) -> None:
    say(container, "1001", HOT)
    worker = delivery(container, fake_slack)
    assert await worker.deliver_due() == 1
    [alert] = alerts(fake_slack)
    bolt = create_bolt_app(
        client=build_interactive_client(token=DEFAULT_TOKEN, base_url=fake_slack.base_url),
        signing_secret=SIGNING_SECRET, session_factory=container.session_factory,
        script_provider=lambda: container.script.script, clock=lambda: datetime.now(UTC),
    )
    url = await serve_asgi(create_slack_asgi_app(bolt, signing_secret=SIGNING_SECRET))
    event = {"type": "message", "channel": "C0SALES01",
             "user": "U0SAM0001", "text": "Hi Ada, can we talk tomorrow at 10?",
             "ts": f"{time.time():.6f}", "thread_ts": alert["ts"]}
    async with httpx.AsyncClient(trust_env=False) as http:
        for retry in (None, 1):  # Slack retried the event: relayed once
            request = signed_event(event, event_id="Ev0E2E", retry_num=retry)
            response = await http.post(url + "/slack/events", content=request.body,
                                       headers=request.headers)
            assert response.status_code == 200

    def relayed() -> list[str]:
        with UnitOfWork(container.session_factory) as uow:
            rows = uow.session.scalars(select(OutboxMessage).where(
                OutboxMessage.kind == "telegram", OutboxMessage.destination == "telegram:1001"))
            return [str(r.payload["text"]) for r in rows if "— sam" in str(r.payload["text"])]

    await until(lambda: len(relayed()) == 1)
    await asyncio.sleep(0.3)
    assert relayed() == ["Hi Ada, can we talk tomorrow at 10?\n\n— sam"]

    say(container, "1001", ["Yes, 10 works for me"], first=200)
    await worker.deliver_due()
    await until(lambda: bool(fake_slack.thread_messages("sales", alert["ts"])))
    [reply] = fake_slack.thread_messages("sales", alert["ts"])
    assert "Yes, 10 works for me" in reply["text"] and "Ada Lovelace" in reply["text"]


def test_the_terminal_rendering_of_a_real_lead(container: Container) -> None:
    say(container, "1001", HOT)
    with UnitOfWork(container.session_factory) as uow:
        text = render_lead_alert_text(uow, 1, container.script.script)
    assert text is not None and "Ada Lovelace" in text and "Software & SaaS" in text

