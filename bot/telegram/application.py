"""Wire python-telegram-bot for Leadbot: the Application, its handler, the deliverer.

`TelegramRuntime` is what both long polling (`bot.telegram.polling`) and a webhook
route use: `start()`, then `process_updates([...])` for each batch, then `stop()`.
Conversation state never lives in PTB (no ConversationHandler, no persistence):
the lead service keeps it in the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, TypeHandler

from bot.dbgate import DatabaseGate
from bot.service import LeadService
from bot.telegram.botapi import BotApiClient
from bot.telegram.delivery import DeliveryPolicy, TelegramDelivery
from bot.telegram.handlers import LeadUpdateHandler, UpdateFailures, WebhookAnswers
from bot.telegram.pacing import ChatPacer, PacingPolicy
from bot.telegram.processor import PerChatUpdateProcessor
from bot.telegram.texts import COMMANDS
from bot.telegram.transport import AiohttpRequest
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
    """One bot: PTB Application + per-chat ordered processing + outbox delivery."""

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
        self.application: Application = (  # type: ignore[type-arg]
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .updater(None)  # we poll ourselves: offsets are confirmed after the commit
            # aiohttp rather than PTB's default httpx: a tenth of the CPU per call with
            # many replies in flight (see bot.telegram.transport).
            .request(AiohttpRequest(connection_limit=64, connect_timeout=timeout,
                                    read_timeout=timeout, write_timeout=timeout,
                                    pool_timeout=timeout))
            .get_updates_request(AiohttpRequest(connection_limit=1, connect_timeout=timeout,
                                                read_timeout=timeout, write_timeout=timeout,
                                                pool_timeout=timeout))
            # 30 msg/s overall and the group limits; 429s are not retried inside the
            # call (max_retries=0) but rescheduled in the outbox, so a long retry_after
            # never holds a delivery lease.
            .rate_limiter(AIORateLimiter(overall_max_rate=self.options.overall_per_second,
                                         max_retries=0))
            .concurrent_updates(PerChatUpdateProcessor(self.options.max_concurrent_updates))
            .build()
        )
        gate = DatabaseGate.for_database(uow_factory)
        # The outbox's replies skip PTB's Bot: a lean JSON client, at the same overall pace.
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
        self.application.add_handler(TypeHandler(
            Update, LeadUpdateHandler(service=service, delivery=self.delivery, gate=gate,
                                      answers=self.answers)))
        self.application.add_error_handler(self.failures.record)

    @property
    def bot_username(self) -> str:
        return str(self.application.bot.username)

    async def start(self) -> None:
        """Connect (getMe), register the command menu, start delivering queued replies."""
        await self.application.initialize()
        await self.application.start()
        if self.options.register_commands:
            await self._register_commands()
        await self.api.start()
        self.delivery.start()

    async def stop(self) -> None:
        """Let in-flight sends finish, then close the HTTP clients."""
        await self.delivery.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        await self.api.close()

    async def process_updates(
        self, updates: Sequence[Update], *, observe: Observe | None = None
    ) -> list[int]:
        """Handle a batch; returns the update_ids that failed (not committed).

        All updates run at once through the per-chat processor: one chat's updates
        in order, chats in parallel. Returning only when every one of them finished
        is what lets the poller confirm the batch safely. `observe(outcome, seconds)`
        is told how each update went ("ok" or "failed") and how long it took.
        """
        processor = self.application.update_processor
        loop = asyncio.get_running_loop()
        finished: dict[int, float] = {}

        async def handle(update: Update) -> None:
            await self.application.process_update(update)
            finished[update.update_id] = loop.time()

        started = loop.time()
        await asyncio.gather(*(processor.process_update(update, handle(update))
                               for update in updates))
        failed = [u.update_id for u in updates if self.failures.take(u.update_id)]
        if observe is not None:
            for update in updates:
                seconds = finished.get(update.update_id, loop.time()) - started
                observe("failed" if update.update_id in failed else "ok", seconds)
        return failed

    async def process_webhook_update(self, update: Update) -> tuple[bool, dict[str, Any] | None]:
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
        bot = self.application.bot
        try:
            for lang, commands in COMMANDS.items():
                menu = [BotCommand(name, description) for name, description in commands]
                # English is also the menu for every language without its own.
                await bot.set_my_commands(menu, language_code=None if lang == "en" else lang)
        except TelegramError as exc:  # cosmetic: the bot works without a menu
            log.warning("could not register the command menu: %s", exc)
