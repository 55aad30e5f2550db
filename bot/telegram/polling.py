"""Long polling that never loses an update: confirm an offset only after the commit.

Why not PTB's `Updater`: it asks for the next batch (which confirms the previous
one to Telegram) as soon as it has queued the updates, before any handler ran — a
crash then loses those messages. Here a batch is fetched, every update in it is
processed through the per-chat processor (chats in parallel, each chat in order),
and only when all of them have committed does the next getUpdates carry the higher
offset. If the process dies mid-batch, Telegram hands the batch out again and the
service ignores the update_ids it already committed. Pending updates are never
dropped at start.

The cost of processing a batch inline is that the next batch waits for the slowest
update of the current one; handling an update is one short transaction, so this
bounds latency at the batch's slowest chat, not at the sum of all chats.

getUpdates goes through the lean `BotApiClient`, and its answer is read as JSON
into the same checked shapes as a webhook body (`bot.telegram.update_model`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from typing import Any

from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.service import LeadService
from bot.telegram.application import Observe, TelegramOptions, TelegramRuntime
from bot.telegram.update_model import read_polled
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# getUpdates answers at most this many updates at once (the Bot API's maximum).
BATCH = 100


class UpdatePoller:
    """Fetch → process → confirm, until `stop()`."""

    def __init__(self, runtime: TelegramRuntime, *, observe: Observe | None = None) -> None:
        self._runtime = runtime
        self._observe = observe
        self._stopping = asyncio.Event()
        self._offset: int | None = None  # None: start from the oldest unconfirmed update
        self._attempts: dict[int, int] = {}

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        # getUpdates answers 409 while a webhook is set; removing it keeps every
        # pending update (drop_pending_updates=False).
        await self._runtime.bot.delete_webhook(drop_pending_updates=False)
        backoff = 0.0
        while not self._stopping.is_set():
            if backoff:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
                if self._stopping.is_set():
                    break
            updates = await self._fetch()
            if updates is None:
                backoff = min(30.0, backoff * 2 or 0.25)
                continue
            backoff = 0.0
            if updates:
                # Once fetched, a batch is always finished, even during shutdown:
                # SIGTERM lets in-flight work complete.
                backoff = await self._process(updates)
        await self._confirm_last_batch()

    async def _fetch(self) -> list[Any] | None:
        """The next batch as JSON ([] after an empty long poll), or None after an error."""
        wait = self._runtime.options.poll_timeout
        params: dict[str, Any] = {"timeout": wait, "limit": BATCH,
                                  "allowed_updates": ALLOWED_UPDATES}
        if self._offset is not None:
            params["offset"] = self._offset
        fetch = asyncio.ensure_future(self._runtime.api.long_poll(params, wait))
        stop = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
        if fetch not in done:
            # Abandoning a long poll confirms nothing: the offset has not moved.
            fetch.cancel()
            with suppress(asyncio.CancelledError, TelegramError):
                await fetch
            return []
        stop.cancel()
        try:
            updates = fetch.result()
        except TimedOut:
            return []
        except InvalidToken:
            raise  # a configuration error: nothing to retry
        except Conflict as exc:
            log.error("getUpdates conflict (another poller or a webhook is set): %s", exc)
            return None
        except RetryAfter as exc:
            log.warning("getUpdates rate-limited: %s", exc)
            return None
        except NetworkError as exc:
            log.warning("getUpdates failed: %s", exc)
            return None
        if not isinstance(updates, list):
            log.warning("getUpdates answered %s, not a list of updates", type(updates).__name__)
            return None
        return updates

    async def _process(self, updates: list[Any]) -> float:
        """Process a batch; returns the back-off before fetching again."""
        # An update whose shape is not Telegram's is confirmed without handling.
        admitted = [u for u in map(read_polled, updates) if u is not None]
        failed = await self._runtime.process_updates(admitted, observe=self._observe)
        if not failed:
            ids = [u["update_id"] for u in updates if isinstance(u, dict)
                   and isinstance(u.get("update_id"), int) and u["update_id"] >= 0]
            if ids:
                self._offset = max(self._offset or 0, max(ids) + 1)
            self._attempts.clear()
            return 0.0
        first = min(failed)
        attempts = self._attempts.get(first, 0) + 1
        self._attempts = {first: attempts}
        if attempts >= self._runtime.options.max_update_attempts:
            log.error("skipping update %s after %s failed attempts", first, attempts)
            # Confirm up to and including it; later updates of the batch are fetched
            # again and the ones already committed are recognised as duplicates.
            self._offset = first + 1
            return 0.0
        # Refetch from the first failure: earlier updates are confirmed, the batch's
        # committed ones come back as duplicates and are skipped by the service.
        self._offset = first
        return min(30.0, 0.5 * 2.0 ** (attempts - 1))

    async def _confirm_last_batch(self) -> None:
        if self._offset is None:
            return
        with suppress(TelegramError):
            # timeout=0 and limit=1: only tells Telegram where we are.
            await self._runtime.api.long_poll(
                {"offset": self._offset, "timeout": 0, "limit": 1,
                 "allowed_updates": ALLOWED_UPDATES}, 0)


async def run_polling(
    *,
    token: str,
    base_url: str,
    service: LeadService,
    uow_factory: Callable[[], UnitOfWork],
    clock: Callable[[], datetime],
    options: TelegramOptions | None = None,
    handle_signals: bool = True,
    started: Callable[[TelegramRuntime], None] | None = None,
    stop_event: asyncio.Event | None = None,
    observe: Observe | None = None,
) -> None:
    """Serve the bot by long polling until SIGTERM/SIGINT (or `stop_event`).

    On a signal: stop fetching, finish the batch in progress, confirm it, let queued
    replies in flight finish, then return.
    """
    runtime = TelegramRuntime(token=token, base_url=base_url, service=service,
                              uow_factory=uow_factory, clock=clock, options=options)
    poller = UpdatePoller(runtime, observe=observe)
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, poller.stop)
    watcher: asyncio.Task[None] | None = None
    if stop_event is not None:
        async def _watch() -> None:
            await stop_event.wait()
            poller.stop()
        watcher = asyncio.create_task(_watch())
    try:
        await runtime.start()
        log.info("Telegram bot @%s polling", runtime.bot_username)
        if started is not None:
            started(runtime)
        await poller.run()
    finally:
        if watcher is not None:
            watcher.cancel()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        await runtime.stop()
