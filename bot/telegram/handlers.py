"""Handle one update: hand it to the lead service, then hand the reply to the deliverer.

No conversation logic here. The service records the message and queues the
replies in one transaction; the deliverer sends them. What stays here is what only
Telegram has: answering a button's callback query and pointing group chats to a
private chat.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from telegram.error import TelegramError

from bot.dbgate import DatabaseGate
from bot.logging_faults import FaultLog
from bot.service import LeadService
from bot.telegram.botapi import BotApiClient
from bot.telegram.delivery import KIND, TelegramDelivery
from bot.telegram.inbound import ForService, PointToPrivateChat, translate
from bot.telegram.texts import GROUP_REDIRECT, language_of
from bot.telegram.update_model import UpdateShape

log = logging.getLogger(__name__)


class UpdateFailures:
    """update_ids whose handling raised, so the poller does not confirm them.

    The cause of each recent failure is kept a while, so the webhook can tell a
    retry that may work (the database is down) from one that cannot. Failures are
    logged through a :class:`FaultLog`: a database outage is one line, a summary
    every ten seconds and "recovered", not a traceback per update.
    """

    KEEP_CAUSES = 1024

    def __init__(self, faults: FaultLog | None = None) -> None:
        self._failed: set[int] = set()
        self._causes: OrderedDict[int, BaseException] = OrderedDict()
        self.faults = faults or FaultLog("Telegram updates", log)

    def take(self, update_id: int) -> bool:
        """True when this update failed (and forget it)."""
        if update_id in self._failed:
            self._failed.discard(update_id)
            return True
        self.faults.succeeded()
        return False

    def cause(self, update_id: int) -> BaseException | None:
        """Why this update failed, if it did recently."""
        return self._causes.get(update_id)

    def record(self, update_id: int, error: BaseException) -> None:
        """The handling of `update_id` raised `error`."""
        self._failed.add(update_id)
        self._causes.pop(update_id, None)  # re-inserted as the newest
        self._causes[update_id] = error
        while len(self._causes) > self.KEEP_CAUSES:
            self._causes.popitem(last=False)
        self.faults.failed(error)


class WebhookAnswers:
    """Bot API calls to make in the webhook's HTTP answer, by update_id.

    Telegram runs one Bot API call given as the body of a webhook's 200 answer, which
    costs neither side a request. Telegram reports nothing back for it — no result,
    no error, no message id — so only calls whose answer Leadbot does not need go
    there: acknowledging a button tap, and removing the keyboard of the question a
    typed answer just answered. Replies that create messages are always sent through
    the outbox: Leadbot needs their message ids (to edit or strip their keyboards
    later) and must know they arrived.
    """

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any] | None] = {}

    def offer(self, update_id: int) -> None:
        """The webhook will answer this update and can carry a call."""
        self._calls[update_id] = None

    def can_carry(self, update_id: int) -> bool:
        return update_id in self._calls and self._calls[update_id] is None

    def carry(self, update_id: int, method: str, **params: Any) -> None:
        self._calls[update_id] = {"method": method, **params}

    def take(self, update_id: int) -> dict[str, Any] | None:
        """The call for this update's answer, if any (and forget the offer)."""
        return self._calls.pop(update_id, None)


class LeadUpdateHandler:
    """What every update goes through; Bot API calls of its own go through `api`."""

    def __init__(
        self, *, service: LeadService, delivery: TelegramDelivery, gate: DatabaseGate,
        api: BotApiClient, username: Callable[[], str], answers: WebhookAnswers | None = None,
    ) -> None:
        self._service = service
        self._gate = gate
        self._delivery = delivery
        self._api = api
        self._username = username
        self._answers = answers or WebhookAnswers()

    async def __call__(self, update: UpdateShape) -> None:
        translation = translate(update)
        if isinstance(translation, ForService):
            await self._handle(update.update_id, translation)
        elif isinstance(translation, PointToPrivateChat):
            await self._point_to_private_chat(translation)
        elif translation.callback_query_id is not None:
            await self._acknowledge_tap(update.update_id, translation.callback_query_id)

    async def _acknowledge_tap(self, update_id: int, query_id: str) -> None:
        # The client shows a spinner until the tap is answered.
        if self._answers.can_carry(update_id):
            self._answers.carry(update_id, "answerCallbackQuery", callback_query_id=query_id)
        else:
            await self._answer_callback(query_id)

    async def _handle(self, update_id: int, message: ForService) -> None:
        try:
            # The service is synchronous (SQLAlchemy): the gate runs it on the loop or in
            # a thread (see bot.dbgate). It commits the answer and the queued replies
            # together, and ignores an update_id it has already seen.
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
        except BaseException:
            # Always answer a tap, even if handling failed (the webhook then answers
            # with an error status, which carries no call).
            if message.callback_query_id is not None:
                await self._answer_callback(message.callback_query_id)
            raise
        if message.callback_query_id is not None:  # the visible answer is the edited question
            await self._acknowledge_tap(update_id, message.callback_query_id)
        job = claimed[-1] if claimed else None
        if job is not None and self._answers.can_carry(update_id):
            job, strip = self._delivery.take_keyboard_strip(job)
            if strip is not None:
                self._answers.carry(update_id, "editMessageReplyMarkup",
                                    chat_id=int(message.key.chat_id), message_id=strip)
        self._delivery.launch(job)

    async def _point_to_private_chat(self, target: PointToPrivateChat) -> None:
        text = GROUP_REDIRECT[language_of(target.language_code)].format(username=self._username())
        try:
            await self._api.call("sendMessage", {"chat_id": target.chat_id, "text": text})
        except TelegramError as exc:  # not allowed to post there: nothing else to do
            log.info("could not answer in group %s: %s", target.chat_id, exc)

    async def _answer_callback(self, query_id: str) -> None:
        try:
            await self._api.call("answerCallbackQuery", {"callback_query_id": query_id})
        except TelegramError as exc:  # too old (after a restart): harmless
            log.info("could not answer callback query %s: %s", query_id, exc)
