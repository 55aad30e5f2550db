"""Wire one Telegram bot for Leadbot: its Bot API clients, the update handler, the deliverer.

`TelegramRuntime` is what both long polling (`bot.telegram.polling`) and a webhook
route use: `start()`, then `process_updates([...])` for each batch, then `stop()`.
Updates are handled as the checked JSON Telegram sent (`bot.telegram.update_model`),
ordered per chat (`bot.telegram.processor`); the lead service keeps conversation state
in the database. Replies and the bot's other calls on the message path (answering a
tap, the group redirect, getUpdates) go through the lean `BotApiClient`; the
python-telegram-bot `Bot` only makes the calls at start (getMe, the command menu, the
webhook), where its typed parameters are worth more than its cost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from bot.dbgate import DatabaseGate
from bot.service import LeadService
from bot.telegram.botapi import BotApiClient
from bot.telegram.delivery import DeliveryPolicy, TelegramDelivery
from bot.telegram.handlers import LeadUpdateHandler, UpdateFailures, WebhookAnswers
from bot.telegram.pacing import ChatPacer, PacingPolicy
from bot.telegram.processor import PerChatOrder
from bot.telegram.texts import COMMANDS
from bot.telegram.transport import AiohttpRequest
from bot.telegram.update_model import UpdateShape
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# How an update went ("ok" / "failed") and how long it took, for the metrics.
Observe = Callable[[str, float], None]


@dataclass(frozen=True, slots=True)
class TelegramOptions:
    poll_timeout: int = 25  # seconds a getUpdates long poll may wait
    pacing: PacingPolicy = field(default_factory=PacingPolicy)
    delivery: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    max_concurrent_updates: int = 64
    # An update whose handling keeps failing (e.g. the database is down) is retried
    # this many times with back-off before it is skipped, so one poisoned update
    # cannot stall every chat forever.
    max_update_attempts: int = 8
    register_commands: bool = True
    # Telegram's bulk limit: about 30 messages a second across all chats.
    overall_per_second: int = 30
    request_timeout: float = 5.0


class TelegramRuntime:
    """One bot: per-chat ordered update handling + outbox delivery."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        service: LeadService,
        uow_factory: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        options: TelegramOptions | None = None,
    ) -> None:
        self.options = options or TelegramOptions()
        timeout = self.options.request_timeout
        # aiohttp rather than PTB's default httpx: a tenth of the CPU per call with
        # many calls in flight (see bot.telegram.transport).
        self.bot = Bot(token, base_url=base_url, request=AiohttpRequest(
            connection_limit=4, connect_timeout=timeout, read_timeout=timeout,
            write_timeout=timeout, pool_timeout=timeout))
        gate = DatabaseGate.for_database(uow_factory)
        # Telegram's overall limit (TELEGRAM_SEND_RATE) and the per-group limit pace every
        # call made through it; a 429 is not retried inside the call but rescheduled in
        # the outbox, so a long retry_after never holds a delivery lease.
        self.api = BotApiClient(token=token, base_url=base_url, timeout=timeout,
                                overall_per_second=self.options.overall_per_second)
        self.delivery = TelegramDelivery(
            api=self.api,
            uow_factory=uow_factory,
            clock=clock,
            pacer=ChatPacer(self.options.pacing),
            gate=gate,
            policy=self.options.delivery,
        )
        self.failures = UpdateFailures()
        self.answers = WebhookAnswers()
        self._order = PerChatOrder(self.options.max_concurrent_updates)
        self.running = False  # between start() and stop()
        self._handler = LeadUpdateHandler(
            service=service, delivery=self.delivery, gate=gate, api=self.api,
            username=lambda: self.bot_username, answers=self.answers)

    @property
    def bot_username(self) -> str:
        return str(self.bot.username)

    async def connect(self) -> None:
        """Check the token and learn the bot's name (getMe); open the API client."""
        await self.bot.initialize()
        await self.api.start()

    async def start(self) -> None:
        """Connect (getMe), register the command menu, start delivering queued replies."""
        await self.connect()
        if self.options.register_commands:
            await self._register_commands()
        self.delivery.start()
        self.running = True

    async def stop(self) -> None:
        """Let in-flight sends finish, then close the HTTP clients (once: a second stop
        does nothing)."""
        if self.running:
            self.running = False
            await self.delivery.stop()
        await self.close()

    async def close(self) -> None:
        """Close the HTTP clients, without waiting for the deliverer."""
        await self.bot.shutdown()
        await self.api.close()

    async def process_updates(
        self, updates: Sequence[UpdateShape], *, observe: Observe | None = None
    ) -> list[int]:
        """Handle a batch; returns the update_ids that failed (not committed).

        All updates run at once through the per-chat processor: one chat's updates
        in order, chats in parallel. Returning only when every one of them finished
        is what lets the poller confirm the batch safely. `observe(outcome, seconds)`
        is told how each update went ("ok" or "failed") and how long it took.
        """
        loop = asyncio.get_running_loop()
        finished: dict[int, float] = {}

        async def handle(update: UpdateShape) -> None:
            try:
                await self._handler(update)
            except Exception as exc:  # noqa: BLE001 — recorded: the update is not confirmed
                self.failures.record(update.update_id, exc)
            finished[update.update_id] = loop.time()

        started = loop.time()
        if len(updates) == 1:  # a webhook's update: no gather to set up
            await self._order.run(updates[0], handle(updates[0]))
        else:
            await asyncio.gather(*(self._order.run(update, handle(update)) for update in updates))
        failed = [u.update_id for u in updates if self.failures.take(u.update_id)]
        if observe is not None:
            for update in updates:
                seconds = finished.get(update.update_id, loop.time()) - started
                observe("failed" if update.update_id in failed else "ok", seconds)
        return failed

    async def process_webhook_update(
        self, update: UpdateShape
    ) -> tuple[bool, dict[str, Any] | None]:
        """Handle one update a webhook delivered: (whether it committed, the Bot API call
        to put in the HTTP answer, if any — see `WebhookAnswers`)."""
        self.answers.offer(update.update_id)
        try:
            failed = await self.process_updates([update])
        finally:
            call = self.answers.take(update.update_id)
        if failed:
            return False, None
        return True, call

    async def _register_commands(self) -> None:
        bot = self.bot
        try:
            for lang, commands in COMMANDS.items():
                menu = [BotCommand(name, description) for name, description in commands]
                # English is also the menu for every language without its own.
                await bot.set_my_commands(menu, language_code=None if lang == "en" else lang)
        except TelegramError as exc:  # cosmetic: the bot works without a menu
            log.warning("could not register the command menu: %s", exc)
