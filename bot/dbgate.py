"""The one async database runner: synchronous database work (service calls, outbox bookkeeping) off the event loop.

SQLite has one writer per database: threads that write at the same time do not run
faster, they wait in SQLite's busy handler, whose sleeps grow to 100 ms. So with
SQLite the gate lets one transaction through at a time (in arrival order); with
PostgreSQL `DATABASE_CONCURRENCY` at once (one by default: threads side by side
contend for the interpreter), each chat still serialised by its row locks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from storage.database import concurrency
from storage.unit_of_work import UnitOfWork

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseGate:
    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._users = 0  # calls running or waiting for a slot

    @property
    def busy(self) -> bool:
        """Whether a call is running or waiting (another transaction is about to run)."""
        return self._users > 0

    @classmethod
    def for_database(cls, uow_factory: Callable[[], UnitOfWork]) -> DatabaseGate:
        """One at a time on SQLite; on PostgreSQL as many as the engine was sized for."""
        with uow_factory() as uow:
            bind = uow.session.get_bind()
        return cls(concurrency(bind.engine))

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        self._users += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(function, *args, **kwargs)
        finally:
            self._users -= 1



