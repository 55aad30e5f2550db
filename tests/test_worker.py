"""`leadbot worker`'s jobs: Slack alerts, Telegram replies and reminders — and taking over a dead worker's lease.

The worker runs in this event loop (`bot.runtime.work`) against the fake Slack and
the fake Bot API, on a SQLite file; the clock is moved by hand for reminders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from benchmarks.telegram_traffic import HOT
from bot.bootstrap import Container, build
from bot.jobs import JobOptions
from bot.runtime import work
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from bot.slack.delivery import DeliveryPolicy as SlackPolicy
from conversations.exchange import Inbound
from tests.fakes.slack_api import DEFAULT_TOKEN, FakeSlackApi

FAST_JOBS = JobOptions(nudge_every=0.05, stop_grace=0.5)


@pytest.fixture
def container(sqlite_url: str, fake_telegram: Any, fake_slack: FakeSlackApi, clock: Any
              ) -> Iterator[Container]:
    built = build(Settings(
        database_url=sqlite_url, telegram_bot_token=fake_telegram.token,
        telegram_api_base_url=fake_telegram.base_url, slack_bot_token=DEFAULT_TOKEN,
        slack_api_base_url=fake_slack.base_url, slack_channel="#sales",
    ), clock=clock)
    yield built
    built.close()


def say(container: Container, chat_id: int, texts: list[str], *, first: int = 1) -> None:
    for number, text in enumerate(texts, first):
        container.service.handle_message(
            ConversationKey("telegram", str(chat_id)), Inbound.parse_text(text, first_name="Ada"),
            message_id=f"{chat_id}:{number}", profile=Profile(first_name="Ada"),
            outbound="telegram")


def alerts(slack: FakeSlackApi) -> list[dict[str, Any]]:
    return [m for m in slack.all_messages()
            if (m.get("metadata") or {}).get("event_type") == "leadbot_outbox"
            and not m.get("thread_ts")]


async def until(condition: Any, what: str, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_worker_delivers_alert_replies_and_reminders_then_stops_cleanly(
    container: Container, fake_telegram: Any, fake_slack: FakeSlackApi, clock: Any,
    telegram_options: Any,
) -> None:
    say(container, 801, HOT)  # qualifies: replies and one alert are queued
    say(container, 802, HOT[:3])  # stops answering mid-way: a reminder is due in 2 h
    stop = asyncio.Event()
    worker = asyncio.create_task(work(container, stop=stop, telegram_options=telegram_options,
                                      job_options=FAST_JOBS))
    await until(lambda: len(alerts(fake_slack)) == 1, "the Slack alert")
    # One message per turn: /start and the eight answers.
    await until(lambda: len(fake_telegram.messages(801)) >= len(HOT), "the replies to 801")
    replies_before = len(fake_telegram.messages(802))
    clock.advance(hours=2, minutes=5)
    # The reminder, then the question it stopped at, asked again: one message.
    await until(lambda: len(fake_telegram.messages(802)) >= replies_before + 1, "the reminder")
    [reminder] = fake_telegram.texts(802)[replies_before:]
    nudge, question = reminder.split("\n\n")
    assert nudge.startswith("Still there?") and "budget" in question
    stop.set()
    await asyncio.wait_for(worker, timeout=20)
    with container.uow() as uow:
        assert uow.outbox.pending() == []


async def test_a_dead_workers_alert_is_taken_over_after_its_lease_and_posted_once(
    container: Container, fake_slack: FakeSlackApi, telegram_options: Any, clock: Any,
) -> None:
    say(container, 803, HOT)
    lease = SlackPolicy(lease=timedelta(seconds=1), backoff_base=0.05, backoff_max=0.2,
                        poll_interval=0.05)
    # Worker A posts the alert, then hangs before hearing back — and dies.
    fake_slack.hang_next(1, method="chat.postMessage", seconds=30, apply=True)
    stop_a = asyncio.Event()
    worker_a = asyncio.create_task(work(container, stop=stop_a, telegram_options=telegram_options,
                                        job_options=FAST_JOBS, slack_policy=lease))
    await until(lambda: len(alerts(fake_slack)) == 1, "worker A's post")
    worker_a.cancel()  # no graceful stop: its claim stays leased, its outcome unrecorded
    with pytest.raises(asyncio.CancelledError):
        await worker_a
    with container.uow() as uow:
        (row,) = uow.outbox.pending(kinds=["slack_alert"])
        assert row.attempts == 1
    fake_slack.clear_faults()
    clock.advance(seconds=2)  # the dead worker's lease (1 s) runs out
    # Worker B takes the row over once the lease ran out, finds the post, does not repeat it.
    stop_b = asyncio.Event()
    worker_b = asyncio.create_task(work(container, stop=stop_b, telegram_options=telegram_options,
                                        job_options=FAST_JOBS, slack_policy=lease))

    def delivered() -> bool:
        with container.uow() as uow:
            return not uow.outbox.pending(kinds=["slack_alert"])

    await until(delivered, "worker B to take the alert over", timeout=20)
    stop_b.set()
    await asyncio.wait_for(worker_b, timeout=20)
    assert len(alerts(fake_slack)) == 1
