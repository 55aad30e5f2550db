"""The PTB callbacks: hand each update to the lead service, then wake the deliverer.

No conversation logic here. The service records the message and queues the
replies in one transaction; the deliverer sends them. What stays here is what only
Telegram has: answering a button's callback query and pointing group chats to a
private chat.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.service import LeadService
from bot.dbgate import DatabaseGate
from bot.telegram.delivery import KIND, TelegramDelivery
from bot.telegram.inbound import ForService, PointToPrivateChat, translate
from bot.telegram.texts import GROUP_REDIRECT, language_of

log = logging.getLogger(__name__)


class UpdateFailures:
    """update_ids whose handling raised, so the poller does not confirm them."""

    def __init__(self) -> None:
        self._failed: set[int] = set()

    def take(self, update_id: int) -> bool:
        """True when this update failed (and forget it)."""
        if update_id in self._failed:
            self._failed.discard(update_id)
            return True
        return False

    async def record(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """PTB error handler: called with the exception a handler raised."""
        if isinstance(update, Update):
            self._failed.add(update.update_id)
            log.error("update %s failed; it will be retried", update.update_id,
                      exc_info=context.error)
        else:
            log.error("error outside an update", exc_info=context.error)


class LeadUpdateHandler:
    """The one callback for every update (registered through a `TypeHandler`)."""

    def __init__(
        self, *, service: LeadService, delivery: TelegramDelivery, gate: DatabaseGate
    ) -> None:
        self._service = service
        self._gate = gate
        self._delivery = delivery

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        translation = translate(update)
        if isinstance(translation, ForService):
            await self._handle(translation, context)
        elif isinstance(translation, PointToPrivateChat):
            await self._point_to_private_chat(translation, context)
        elif translation.callback_query_id is not None:
            await _answer_callback(context, translation.callback_query_id)

    async def _handle(self, message: ForService, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            # The service is synchronous (SQLAlchemy); a thread keeps the loop free for
            # other chats. It commits the answer and the queued replies together, and
            # ignores an update_id it has already seen.
            # The first reply is leased in the same transaction and handed to the
            # sender at once: no second transaction, no wait for the next claim.
            destination = f"{KIND}:{message.key.chat_id}"
            claimed: list[object] = []
            await self._gate.run(
                self._service.handle_message,
                message.key,
                message.inbound,
                message_id=message.message_id,
                profile=message.profile,
                outbound=KIND,
                then=lambda uow, now: claimed.append(
                    self._delivery.claim_destination(uow, destination, now)),
            )
        finally:
            # Always answer a tap, even if handling failed: the client shows a spinner
            # until we do. The visible answer is the edited question message.
            if message.callback_query_id is not None:
                await _answer_callback(context, message.callback_query_id)
        self._delivery.launch(claimed[-1] if claimed else None)

    async def _point_to_private_chat(
        self, target: PointToPrivateChat, context: ContextTypes.DEFAULT_TYPE
    ) -> None:
        text = GROUP_REDIRECT[language_of(target.language_code)].format(
            username=context.bot.username)
        try:
            await context.bot.send_message(target.chat_id, text)
        except TelegramError as exc:  # not allowed to post there: nothing else to do
            log.info("could not answer in group %s: %s", target.chat_id, exc)


async def _answer_callback(context: ContextTypes.DEFAULT_TYPE, query_id: str) -> None:
    try:
        await context.bot.answer_callback_query(query_id)
    except TelegramError as exc:  # too old (after a restart): harmless
        log.info("could not answer callback query %s: %s", query_id, exc)

