"""Deliver queued Telegram replies (outbox rows of kind "telegram"): the Telegram sender of the outbox worker.

The service writes replies into the outbox in the same transaction as the answer,
so a reply is never lost: if the process dies after the commit, the row is still
pending and is sent on restart. Claiming, leases, back-off and recording are the
outbox worker's (`bot.outbox.worker`); this module owns what is Telegram's: turn a
row into Bot API calls (each chat's replies in order, paced per chat), and map
Telegram's answers to outcomes — delivered, retry later (429 `retry_after`, 5xx,
timeouts) or failed (the user blocked the bot, a request Telegram will never accept).

Telegram allows a bot about 30 messages a second in all, whichever process sends
them. So every process runs the worker, but only the holder of the
"telegram-sender" lease (:mod:`storage.leases`) claims and sends; the others check
every few seconds whether the lease is free (its holder stopped, or died).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.dbgate import DatabaseGate
from bot.outbox.worker import ClaimedJob, Failed, OutboxWorker, Outcome, RetryLater, WorkerPolicy
from bot.outbox.worker import Delivered as Sent
from bot.telegram.botapi import BotApiClient
from bot.telegram.pacing import ChatPacer
from bot.telegram.render import (
    Delivered,
    EditQuestion,
    Operation,
    SendText,
    StripKeyboard,
    render_reply,
    uses_language,
)
from storage.outbox import ClaimedRow
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

KIND = "telegram"
SENDER_LEASE = "telegram-sender"
_NO_PREVIEW = {"is_disabled": True}  # LinkPreviewOptions, as plain JSON

# The worker's policy; its defaults are Telegram's (lease 10 s, 12 attempts…).
DeliveryPolicy = WorkerPolicy


def chat_id_of(destination: str) -> int:
    """The chat of a "telegram:<id>" destination; ValueError when it is not one."""
    prefix, _, chat = destination.partition(":")
    if prefix != KIND or not chat.isascii() or not chat.lstrip("-").isdigit():
        raise ValueError(f"not a Telegram chat destination: {destination[:64]!r}")
    chat_id = int(chat)
    if abs(chat_id) >= 2**52:  # Telegram's ids fit in 52 bits
        raise ValueError(f"Telegram chat id out of range: {destination[:64]!r}")
    return chat_id


# How many of a chat's latest deliveries a reply reads first: its previous message and
# the open question are nearly always among them (older ones are read only if not).
RECENT_DELIVERIES = 8


def last_reply_and_open_question(
    delivered: Sequence[tuple[dict[str, Any], dict[str, Any] | None]],
) -> tuple[Delivered | None, Delivered | None, bool]:
    """From a chat's deliveries (payload, result), newest first: the last message sent, the
    last question with buttons unless a later delivery edited or stripped its keyboard, and
    whether that question was found (False: an older delivery might still be it)."""
    previous: Delivered | None = None
    gone: set[Any] = set()  # message ids whose keyboard a later delivery removed
    for payload, result in delivered:
        result = result or {}
        sent = Delivered.from_result(result, payload)
        if sent is not None:
            if previous is None:
                previous = sent
            if sent.had_choices and not sent.request_phone:
                return previous, (None if sent.message_id in gone else sent), True
        gone.update((result.get("edited"), result.get("stripped")))
    return previous, None, False


@dataclass(frozen=True, slots=True)
class TelegramJob:
    row_id: int
    chat_id: int
    operations: tuple[Operation, ...]
    # A keyboard already removed by the call in the webhook's answer (recorded as stripped).
    stripped_in_answer: int | None = None


class TelegramSender:
    """Sends one reply row as Bot API calls, paced per chat."""

    kinds = (KIND,)

    def __init__(self, *, api: BotApiClient, pacer: ChatPacer) -> None:
        self._api = api
        self._pacer = pacer

    def prepare(self, uow: UnitOfWork, row: ClaimedRow, now: datetime) -> TelegramJob:
        chat_id = chat_id_of(row.destination)
        lang, previous, question = "en", None, None
        if row.lead_id is not None:
            if uses_language(row.payload):  # one query saved on most replies
                lang = uow.leads.language_of(row.lead_id) or "en"
            recent = uow.outbox.delivered_before(row.lead_id, kind=KIND, before=row.id,
                                                 limit=RECENT_DELIVERIES)
            previous, question, settled = last_reply_and_open_question(recent)
            if not settled and len(recent) == RECENT_DELIVERIES:  # look further back
                previous, question, _ = last_reply_and_open_question(
                    uow.outbox.delivered_before(row.lead_id, kind=KIND, before=row.id))
        operations = render_reply(dict(row.payload), lang=lang, previous=previous,
                                  question=question)
        return TelegramJob(row.id, chat_id, tuple(operations))

    def on_delivered(self, uow: UnitOfWork, job: Any, result: dict[str, Any], now: datetime) -> None:
        pass

    async def send(self, job: TelegramJob) -> Outcome:
        try:
            return Sent(await self._send(job))
        except RetryAfter as exc:
            wait = retry_after(exc)
            log.warning("Telegram asked us to slow down for %s (chat %s)", wait, job.chat_id)
            return RetryLater(f"429: {exc}", delay=wait.total_seconds())
        except (Forbidden, ChatMigrated) as exc:
            # The prospect blocked the bot or the chat moved: retrying can't help.
            log.info("reply to chat %s dropped: %s", job.chat_id, exc)
            return Failed(f"{type(exc).__name__}: {exc}")
        except BadRequest as exc:
            log.error("Telegram rejected reply %s to chat %s: %s", job.row_id, job.chat_id, exc)
            return Failed(f"BadRequest: {exc}")
        except TelegramError as exc:  # 5xx, network errors, timeouts
            return RetryLater(f"{type(exc).__name__}: {exc}")

    async def _send(self, job: TelegramJob) -> dict[str, Any]:
        # The answer first, then the cosmetic clean-up of the previous question's
        # keyboard: under per-chat pacing the reply never waits behind the edit.
        operations = sorted(job.operations, key=lambda op: isinstance(op, StripKeyboard))
        result: dict[str, Any] = {}
        stripped: dict[str, Any] = {}
        for operation in operations:
            # Only new messages are paced per chat (Telegram's ~1 message/s to a chat);
            # edits of our own messages are not messages, and go at the global pace.
            if isinstance(operation, StripKeyboard):
                with suppress(BadRequest):  # already gone, or too old to edit: cosmetic
                    await self._call("editMessageReplyMarkup", chat_id=job.chat_id,
                                     message_id=operation.message_id)
                stripped = {"stripped": operation.message_id}
                continue
            if isinstance(operation, EditQuestion):
                try:
                    await self._call("editMessageText", chat_id=job.chat_id,
                                     message_id=operation.message_id, text=operation.html,
                                     parse_mode="HTML", link_preview_options=_NO_PREVIEW)
                    result = {"edited": operation.message_id}
                    continue
                except BadRequest as exc:
                    if "not modified" in str(exc).lower():  # a retry after a lost answer
                        result = {"edited": operation.message_id}
                        continue
                    log.info("could not edit question %s (%s); sending instead",
                             operation.message_id, exc)
                    operation = operation.fallback
            assert isinstance(operation, SendText)
            await self._pacer.wait(job.chat_id)
            extra = {"reply_markup": operation.markup} if operation.markup is not None else {}
            message = await self._call("sendMessage", chat_id=job.chat_id, text=operation.html,
                                       parse_mode="HTML",
                                       link_preview_options=_NO_PREVIEW, **extra)
            result = {"message_id": int(message["message_id"]), "text": operation.plain}
        if job.stripped_in_answer is not None:
            stripped = {"stripped": job.stripped_in_answer}
        return {**result, **stripped}

    async def _call(self, method: str, **params: Any) -> Any:
        """A Bot API call at the global pace, answered as plain JSON: no PTB objects are
        built for answers nobody reads beyond a `message_id`."""
        return await self._api.call(method, params)


class TelegramDelivery(OutboxWorker):
    """The outbox worker carrying Telegram replies, sending only while it holds the sender lease."""

    def __init__(
        self, *, api: BotApiClient, uow_factory: Callable[[], UnitOfWork], clock: Callable[[], datetime],
        pacer: ChatPacer, gate: DatabaseGate, policy: WorkerPolicy = WorkerPolicy(),
    ) -> None:
        super().__init__(name="telegram-delivery", db=gate, uow_factory=uow_factory, clock=clock,
                         policy=policy, senders=[TelegramSender(api=api, pacer=pacer)],
                         exclusive_lease=SENDER_LEASE)

    def take_keyboard_strip(self, claimed: Any) -> tuple[Any, int | None]:
        """Split the keyboard removal off a job `claim_destination` returned: the caller
        makes that call in the webhook's answer; the job records it as done."""
        if not isinstance(claimed, ClaimedJob) or not isinstance(claimed.job, TelegramJob):
            return claimed, None
        job = claimed.job
        strips = [op for op in job.operations if isinstance(op, StripKeyboard)]
        if len(strips) != 1:
            return claimed, None
        rest = tuple(op for op in job.operations if not isinstance(op, StripKeyboard))
        lighter = replace(job, operations=rest, stripped_in_answer=strips[0].message_id)
        return replace(claimed, job=lighter), strips[0].message_id


def retry_after(exc: RetryAfter) -> timedelta:
    """The wait Telegram asked for (an int in PTB 22 unless PTB_TIMEDELTA is set)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))
