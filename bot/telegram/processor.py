"""Run one chat's updates in order, different chats at the same time.

Strictly sequential processing lets one slow chat delay everyone, and fully
concurrent processing gives up ordering within a chat. This keeps a FIFO lock per
chat: an update waits only for earlier updates of its own chat. `asyncio.Lock`
wakes waiters in arrival order, and updates are submitted in update_id order, so a
chat's messages reach the service in order. At most `max_concurrent` updates run
at once; the rest wait their turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from bot.telegram.update_model import UpdateShape

T = TypeVar("T")


class PerChatOrder:
    def __init__(self, max_concurrent: int = 64) -> None:
        self._slots = asyncio.Semaphore(max_concurrent)
        self._locks: dict[object, asyncio.Lock] = {}
        self._users: dict[object, int] = {}

    async def run(self, update: UpdateShape, work: Awaitable[T]) -> T:
        """`work` (the handling of `update`), after the earlier updates of its chat."""
        key = chat_key(update)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._slots:
                return await work
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:  # nobody waiting: don't keep a lock per chat forever
                del self._users[key]
                del self._locks[key]


def chat_key(update: UpdateShape) -> object:
    """The chat an update belongs to (its sender when it names no chat)."""
    message = update.message or update.edited_message
    if message is not None:
        return message.chat.id
    query = update.callback_query
    if query is not None:
        if query.message is not None:
            return query.message.chat.id
        return ("user", query.from_.id)
    return ("update", update.update_id)  # nothing to order against
