"""Deliver queued Telegram replies (outbox rows of kind "telegram") with retries.

The service writes replies into the outbox in the same transaction as the answer,
so a reply is never lost: if the process dies after the commit, the row is still
pending and is sent on restart (after its lease expires). This module owns only
the sending side: claim due rows (each chat's oldest first, so a chat's replies
keep their order), pace them per chat, send, and record the outcome — delivered,
retry later (429 `retry_after`, 5xx, timeouts, with back-off) or failed (the user
blocked the bot, a request Telegram will never accept).

Telegram allows a bot about 30 messages a second in all, whichever process sends
them. So every process runs this loop, but only the holder of the "telegram-sender"
lease (:mod:`storage.leases`) claims and sends; the others record their last
outcomes and check every few seconds whether the lease is free (its holder stopped,
or died and stopped renewing). The holder also polls for rows queued by the other
processes, which cannot wake it directly.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import uuid
import warnings
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.telegram.dbgate import DatabaseGate
from bot.telegram.pacing import ChatPacer
from bot.telegram.render import (
    Delivered,
    EditQuestion,
    SendText,
    StripKeyboard,
    render_reply,
)
from storage.models import OutboxMessage
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

KIND = "telegram"
SENDER_LEASE = "telegram-sender"
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    # A claimed row is invisible to other deliverers for `lease`; an attempt is cut
    # off well before that, so two processes never send the same row at once.
    lease: timedelta = timedelta(seconds=10)
    attempt_timeout: float = 7.0
    max_attempts: int = 12
    first_backoff: float = 0.5
    max_backoff: float = 300.0
    # Rows may also be queued by other processes (web processes, a rep's reply from
    # Slack): the sending process looks for them this often when nothing woke it.
    idle_poll: float = 0.25
    # Only one process sends (the bot's ~30/s is global). The holder renews its lease
    # every `lease_renew_every` seconds; if it dies, another process takes over within
    # `sender_lease` plus `lease_check_every`.
    sender_lease: timedelta = timedelta(seconds=15)
    lease_renew_every: float = 5.0
    lease_check_every: float = 2.0
    # Kicks arriving faster than this are coalesced into one claim: under load every
    # handled message kicks, and a claim per message would compete with the messages
    # themselves for the database (Telegram's ~30 sends/s is the pace anyway).
    min_claim_interval: float = 0.05
    # Sends waiting for Telegram's pace at most: claiming far ahead of ~30 sends/s
    # only holds leases and rescans a backlog that cannot go out sooner anyway.
    max_in_flight: int = 60


@dataclass(frozen=True, slots=True)
class _Outcome:
    row_id: int
    result: dict[str, Any] | None  # delivered
    retry_at: datetime | None  # else: retry then
    error: str  # else: failed for good


@dataclass(frozen=True, slots=True)
class _Job:
    row_id: int
    destination: str
    chat_id: int
    payload: dict[str, Any]
    attempts: int
    lang: str
    previous: Delivered | None
    question: Delivered | None


class TelegramDelivery:
    """One background loop per process; `kick()` it when new rows were committed."""

    def __init__(
        self,
        *,
        bot: Bot,
        uow_factory: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        pacer: ChatPacer,
        gate: DatabaseGate,
        policy: DeliveryPolicy = DeliveryPolicy(),
    ) -> None:
        self._bot = bot
        self._gate = gate
        self._uow_factory = uow_factory
        self._clock = clock
        self._pacer = pacer
        self._policy = policy
        self._kicked = asyncio.Event()
        self._stopping = False
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        # Outcomes of finished sends, written in the same transaction as the next claim:
        # one SQLite write per round instead of two per message.
        self._outcomes: list[_Outcome] = []
        self._loop_task: asyncio.Task[None] | None = None
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.sending = False  # whether this process holds the sender lease

    def kick(self) -> None:
        self._kicked.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="telegram-delivery")

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop claiming; let sends in flight finish (they were already leased)."""
        self._stopping = True
        self._kicked.set()
        if self._loop_task is not None:
            await self._loop_task
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=grace)
        try:
            await self._gate.run(self._finish, self._take_outcomes())
        except Exception:  # leases expire; the rows are retried by the next process
            log.exception("could not record the last delivery outcomes")
        self.sending = False

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_claim = -self._policy.min_claim_interval
        lease_due = loop.time()  # when to renew the sender lease, or try to take it
        while not self._stopping:
            pause = last_claim + self._policy.min_claim_interval - loop.time()
            if pause > 0 and not self._outcomes:
                # Coalesce claims — but a finished send is recorded at once: until it is,
                # a crash would make the next process send that message again.
                await asyncio.sleep(pause)
            last_claim = loop.time()
            self._kicked.clear()
            outcomes = self._take_outcomes()
            check_lease = loop.time() >= lease_due
            room = self._policy.max_in_flight - len(self._in_flight)
            jobs: list[_Job] = []
            if check_lease or (self.sending and room > 0) or outcomes:
                try:
                    jobs, self.sending = await self._gate.run(
                        self._claim, outcomes, check_lease=check_lease,
                        claim=room > 0, limit=max(room, 0),
                    )
                except Exception:  # the database is down: keep the loop alive, try again
                    log.exception("could not claim Telegram replies")
                    self._outcomes[:0] = outcomes  # record them with the next attempt
                    self.sending, check_lease = False, True
                if check_lease:
                    lease_due = loop.time() + (self._policy.lease_renew_every if self.sending
                                               else self._policy.lease_check_every)
            for job in jobs:
                task = asyncio.create_task(self._deliver(job), name=f"deliver:{job.destination}")
                self._in_flight[job.destination] = task
                task.add_done_callback(functools.partial(self._finished, job.destination))
            # Woken by new rows (kick), finished sends, and retries falling due
            # (_wake_at); the idle poll picks up rows queued by other processes.
            wait = self._policy.idle_poll if self.sending else self._policy.lease_check_every
            with suppress(TimeoutError):
                await asyncio.wait_for(self._kicked.wait(),
                                       timeout=max(0.0, min(wait, lease_due - loop.time())))

    def _finished(self, destination: str, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(destination, None)
        self._kicked.set()  # that chat's next reply may be waiting

    def _take_outcomes(self) -> list[_Outcome]:
        outcomes, self._outcomes = self._outcomes, []
        return outcomes

    # --- database side (runs in a worker thread) ------------------------------------

    def _claim(
        self, outcomes: list[_Outcome], *, check_lease: bool, claim: bool, limit: int
    ) -> tuple[list[_Job], bool]:
        """Record finished sends, renew (or try to take) the sender lease when due, and
        — holding it — lease the next due row of each idle chat. Returns (jobs, sending)."""
        now = self._clock()
        with self._uow_factory() as uow:
            self._record_outcomes(uow, outcomes, now)
            sending = self.sending
            if check_lease:
                sending = uow.leases.hold(SENDER_LEASE, self.holder, now=now,
                                          ttl=self._policy.sender_lease)
            jobs: list[_Job] = []
            if sending and claim:
                rows = uow.outbox.claim_due(
                    kinds=[KIND], now=now, lease=self._policy.lease, limit=min(limit, 50)
                )
                jobs = [self._job(uow, row) for row in rows]
            uow.commit()
        if check_lease and sending != self.sending:
            log.info("%s sending Telegram replies", "now" if sending else "no longer")
        return jobs, sending

    def _finish(self, outcomes: list[_Outcome]) -> None:
        """On stop: record the last outcomes and hand the sender lease over at once."""
        now = self._clock()
        with self._uow_factory() as uow:
            self._record_outcomes(uow, outcomes, now)
            uow.leases.release(SENDER_LEASE, self.holder)
            uow.commit()

    @staticmethod
    def _record_outcomes(uow: UnitOfWork, outcomes: list[_Outcome], now: datetime) -> None:
        for outcome in outcomes:
            if outcome.result is not None:
                uow.outbox.mark_delivered(outcome.row_id, result=outcome.result, now=now)
            elif outcome.retry_at is not None:
                uow.outbox.mark_retry(outcome.row_id, error=outcome.error, retry_at=outcome.retry_at)
            else:
                uow.outbox.mark_failed(outcome.row_id, error=outcome.error)

    def _job(self, uow: UnitOfWork, row: OutboxMessage) -> _Job:
        lang, previous, question = "en", None, None
        if row.lead_id is not None:
            lead = uow.leads.get(row.lead_id)
            lang = lead.language if lead is not None else "en"
            for earlier in uow.outbox.for_lead(row.lead_id, kind=KIND):
                if earlier.id >= row.id or earlier.status != "delivered":
                    continue
                result = earlier.result or {}
                if question is not None and question.message_id in (
                    result.get("edited"), result.get("stripped")
                ):
                    question = None  # its keyboard is gone
                delivered = Delivered.from_result(result, earlier.payload)
                if delivered is None:
                    continue
                previous = delivered
                if delivered.had_choices and not delivered.request_phone:
                    question = delivered
        return _Job(
            row_id=row.id,
            destination=row.destination,
            chat_id=int(row.destination.split(":", 1)[1]),
            payload=dict(row.payload),
            attempts=row.attempts,
            lang=lang,
            previous=previous,
            question=question,
        )

    def _wake_at(self, when: datetime) -> None:
        delay = max(0.0, (when - self._clock()).total_seconds())
        asyncio.get_running_loop().call_later(delay, self._kicked.set)

    # --- Telegram side --------------------------------------------------------------

    async def _deliver(self, job: _Job) -> None:
        try:
            result = await asyncio.wait_for(self._send(job), timeout=self._policy.attempt_timeout)
        except RetryAfter as exc:
            wait = retry_after(exc)
            log.warning("Telegram asked us to slow down for %s (chat %s)", wait, job.chat_id)
            await self._record(job, retry_at=self._clock() + wait, error=f"429: {exc}")
        except (Forbidden, ChatMigrated) as exc:
            # The prospect blocked the bot or the chat moved: retrying can't help.
            log.info("reply to chat %s dropped: %s", job.chat_id, exc)
            await self._record(job, error=f"{type(exc).__name__}: {exc}")
        except BadRequest as exc:
            log.error("Telegram rejected reply %s to chat %s: %s", job.row_id, job.chat_id, exc)
            await self._record(job, error=f"BadRequest: {exc}")
        except (TelegramError, TimeoutError) as exc:  # 5xx, network errors, timeouts
            await self._retry_later(job, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a bug must not kill the loop; the row is retried
            log.exception("unexpected error delivering reply %s", job.row_id)
            await self._retry_later(job, f"{type(exc).__name__}: {exc}")
        else:
            await self._record(job, result=result)

    async def _retry_later(self, job: _Job, error: str) -> None:
        if job.attempts >= self._policy.max_attempts:
            log.error("giving up on reply %s to chat %s: %s", job.row_id, job.chat_id, error)
            await self._record(job, error=error)
            return
        backoff = min(self._policy.max_backoff, self._policy.first_backoff * 2 ** (job.attempts - 1))
        log.warning("reply to chat %s failed (%s); retrying in %.1fs", job.chat_id, error, backoff)
        await self._record(job, retry_at=self._clock() + timedelta(seconds=backoff), error=error)

    async def _record(self, job: _Job, *, result: dict[str, Any] | None = None,
                      retry_at: datetime | None = None, error: str = "") -> None:
        # Recorded by the loop's next transaction; until then the destination's row is
        # still leased, so nothing else of that chat is sent ahead of it.
        self._outcomes.append(_Outcome(job.row_id, result, retry_at, error))
        if retry_at is not None:
            self._wake_at(retry_at)

    async def _send(self, job: _Job) -> dict[str, Any]:
        result: dict[str, Any] = {}
        operations = render_reply(job.payload, lang=job.lang, previous=job.previous,
                                  question=job.question)
        stripped: dict[str, Any] = {}
        for operation in operations:
            await self._pacer.wait(job.chat_id)
            if isinstance(operation, StripKeyboard):
                with suppress(BadRequest):  # already gone, or too old to edit: cosmetic
                    await self._bot.edit_message_reply_markup(
                        chat_id=job.chat_id, message_id=operation.message_id, reply_markup=None)
                stripped = {"stripped": operation.message_id}
                continue
            if isinstance(operation, EditQuestion):
                try:
                    await self._bot.edit_message_text(
                        chat_id=job.chat_id, message_id=operation.message_id, text=operation.html,
                        parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW,
                    )
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
            message = await self._bot.send_message(
                chat_id=job.chat_id, text=operation.html, parse_mode=ParseMode.HTML,
                reply_markup=operation.markup, link_preview_options=_NO_PREVIEW,
            )
            result = {"message_id": message.message_id, "text": operation.plain}
        return {**result, **stripped}


def retry_after(exc: RetryAfter) -> timedelta:
    """The wait Telegram asked for (an int in PTB 22 unless PTB_TIMEDELTA is set)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))
