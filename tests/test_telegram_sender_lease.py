"""One process sends for the bot: Telegram's ~30 messages/s is per bot, not per process.

Two Telegram runtimes share one database, each talking to its own fake Bot API, so
what each one sent is visible separately. Only the holder of the sender lease sends
(whichever process queued the replies); when it stops, the other takes over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

from bot.bootstrap import build
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from bot.telegram.application import TelegramRuntime
from bot.telegram.delivery import KIND, DeliveryPolicy
from conversations.exchange import Inbound
from tests.fakes.telegram_api import FakeTelegram

FAST_LEASE = DeliveryPolicy(first_backoff=0.1, idle_poll=0.1, sender_lease=timedelta(seconds=2),
                            lease_renew_every=0.3, lease_check_every=0.2)


def _runtime(container: Any, fake: FakeTelegram, options: Any) -> TelegramRuntime:
    return TelegramRuntime(token=fake.token, base_url=fake.base_url, service=container.service,
                           uow_factory=container.uow, clock=container.clock,
                           options=replace(options, register_commands=False, delivery=FAST_LEASE))


def _queue_greetings(container: Any, chats: range) -> None:
    for chat in chats:
        container.service.handle_message(
            ConversationKey("telegram", str(chat)), Inbound.parse_text("/start"),
            message_id=f"u{chat}", profile=Profile(first_name="Ann"), outbound=KIND)


def _pending(container: Any) -> int:
    with container.uow() as uow:
        return len(uow.outbox.pending(kinds=[KIND]))


def _chats_reached(fake: FakeTelegram, chats: range) -> set[int]:
    return {chat for chat in chats if fake.texts(chat)}


async def _until(condition: Any, *, timeout: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def _two_senders(
    database_url: str, options: Any
) -> AsyncIterator[tuple[Any, TelegramRuntime, FakeTelegram, TelegramRuntime, FakeTelegram]]:
    """Two runtimes on one database, each with its own fake; the first holds the lease."""
    container = build(Settings(database_url=database_url))
    with FakeTelegram() as fake_a, FakeTelegram() as fake_b:
        first = _runtime(container, fake_a, options)
        second = _runtime(container, fake_b, options)
        await first.start()
        await _until(lambda: first.delivery.sending, timeout=5, what="the first to hold the lease")
        await second.start()
        try:
            yield container, first, fake_a, second, fake_b
        finally:
            await second.stop()
            if first.delivery._loop_task is not None and first.delivery._loop_task.cancelled():
                await first.close()  # its loop was killed: close its HTTP clients only
            else:
                await first.stop()  # nothing left to do when the test stopped it
            container.close()


async def test_only_the_lease_holder_sends_and_the_other_takes_over_when_it_stops(
    database_url: str, telegram_options: Any
) -> None:
    async with _two_senders(database_url, telegram_options) as (
        container, first, fake_a, second, fake_b
    ):
        batch = range(100, 120)
        await asyncio.to_thread(_queue_greetings, container, batch)
        second.delivery.kick()  # a process that does not send: nothing happens at once
        first.delivery.kick()
        await _until(lambda: _pending(container) == 0, timeout=15,
                     what="the holder to send every greeting")
        assert _chats_reached(fake_a, batch) == set(batch)
        await asyncio.sleep(0.5)  # several of the other's lease checks
        assert _chats_reached(fake_b, batch) == set()
        assert not second.delivery.sending

        await first.stop()  # a clean stop hands the lease over at once
        batch = range(200, 220)
        await asyncio.to_thread(_queue_greetings, container, batch)
        await _until(lambda: _pending(container) == 0, timeout=15,
                     what="the other process to take over and send")
        assert _chats_reached(fake_b, batch) == set(batch)
        assert second.delivery.sending
        assert _chats_reached(fake_a, batch) == set()


async def test_a_holder_that_dies_is_taken_over_once_its_lease_expires(
    sqlite_url: str, telegram_options: Any
) -> None:
    async with _two_senders(sqlite_url, telegram_options) as (
        container, first, fake_a, _second, fake_b
    ):
        # "Dies": its loop stops without releasing the lease or sending anything more.
        assert first.delivery._loop_task is not None
        first.delivery._loop_task.cancel()
        batch = range(300, 310)
        await asyncio.to_thread(_queue_greetings, container, batch)
        started = asyncio.get_running_loop().time()
        await _until(lambda: _pending(container) == 0, timeout=15,
                     what="the survivor to take over")
        assert _chats_reached(fake_b, batch) == set(batch)
        # Not before the dead holder's lease (2 s here) ran out.
        assert asyncio.get_running_loop().time() - started >= 1.0
        assert _chats_reached(fake_a, batch) == set()
