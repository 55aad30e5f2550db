"""Run one chat's updates in order, different chats at the same time.

PTB's default processing is strictly sequential (one slow chat delays everyone) and
`concurrent_updates=True` gives up ordering within a chat (PROTOCOLS.md §1.4). This
update processor keeps a FIFO lock per chat: an update waits only for earlier
updates of its own chat. `asyncio.Lock` wakes waiters in arrival order, and updates
are submitted in update_id order, so a chat's messages reach the service in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[object, asyncio.Lock] = {}
        self._users: dict[object, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # nobody waiting: don't keep a lock per chat forever
                del self._users[key]
                del self._locks[key]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _chat_key(update: object) -> object:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
    return ("update", id(update))  # nothing to order against
