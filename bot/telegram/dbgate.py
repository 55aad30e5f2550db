"""Run the synchronous database work (service calls, outbox bookkeeping) off the event loop.

SQLite has one writer per database: threads that write at the same time do not run
faster, they wait in SQLite's busy handler, whose sleeps grow to 100 ms. So with
SQLite the gate lets one transaction through at a time (in arrival order); with
PostgreSQL several run at once, each chat still serialised by its row lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from storage.unit_of_work import UnitOfWork

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseGate:
    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)

    @classmethod
    def for_database(cls, uow_factory: Callable[[], UnitOfWork], *, limit: int = 8) -> DatabaseGate:
        with uow_factory() as uow:
            dialect = uow.session.get_bind().dialect.name
        return cls(1 if dialect == "sqlite" else limit)

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._slots:
            return await asyncio.to_thread(function, *args, **kwargs)



