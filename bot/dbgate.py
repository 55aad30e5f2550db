"""The one async database runner: synchronous database work (service calls, outbox bookkeeping) off the event loop.

SQLite has one writer per database: threads that write at the same time do not run
faster, they wait in SQLite's busy handler, whose sleeps grow to 100 ms. So with
SQLite the gate lets one transaction through at a time (in arrival order); with
PostgreSQL `DATABASE_CONCURRENCY` at once (one by default: threads side by side
contend for the interpreter), each chat still serialised by its row locks.

The gate has its own threads, as many as it lets through, taking the calls in arrival
order from one queue; a call's outcome goes straight back to the event loop. That
costs about half of what `asyncio.to_thread` does per call (a context copy, the
default executor's futures chained to asyncio's), paid on every transaction of the
message path.

On SQLite a transaction takes well under a millisecond, and even that hand-off costs
about a sixth of a message's CPU (the loop and the thread trading the interpreter), so
it runs on the event loop itself — as long as it waits for nobody: it begins without
waiting for the write lock, and if another connection (a job's thread, another
process) holds it, the work runs in a thread, which may wait. A function run through
the gate must therefore be safe to run again after a BEGIN found the lock taken (its
earlier transactions, if any, only read). PostgreSQL's transactions wait on the
network: they keep the threads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, ParamSpec, TypeVar

from storage.database import (
    WriteLockTaken,
    concurrency,
    transactions_may_run_inline,
    without_waiting_for_writers,
)
from storage.unit_of_work import UnitOfWork

# An event loop iteration with nothing else to run takes a few microseconds; one that
# ran other callbacks (a reply's send, a request being read) takes tens or hundreds.
IDLE_ITERATION = 80e-6
# At most this many iterations let other work go before a transaction on the loop.
MAX_YIELDS = 16

P = ParamSpec("P")
T = TypeVar("T")


class _Call:
    """One call handed to the gate's threads, and where its outcome goes."""

    __slots__ = ("abandoned", "function", "future", "loop")

    def __init__(self, function: Callable[[], Any], loop: asyncio.AbstractEventLoop,
                 future: asyncio.Future[Any]) -> None:
        self.function = function
        self.loop = loop
        self.future = future
        self.abandoned = False  # the caller was cancelled: do not start it

    def run(self) -> None:
        if self.abandoned:
            return
        try:
            result = self.function()
        except BaseException as exc:  # noqa: BLE001 — handed to the caller, as to_thread does
            self._settle(_fail, exc)
        else:
            self._settle(_succeed, result)

    def _settle(self, settle: Callable[[asyncio.Future[Any], Any], None], value: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(settle, self.future, value)
        except RuntimeError:  # the loop was closed meanwhile: nobody is waiting any more
            pass


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if future.done():
        return
    if isinstance(exc, StopIteration):  # an asyncio future refuses it (as to_thread's does)
        failure = RuntimeError("a database call raised StopIteration")
        failure.__cause__ = exc
        exc = failure
    future.set_exception(exc)


class DatabaseGate:
    def __init__(self, limit: int, *, inline: bool = False) -> None:
        # Its threads are started when first needed, finish the call at hand when the
        # interpreter exits (as the default executor's do), and stop with the gate.
        self._threads = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="database-gate")
        self._slots = asyncio.Semaphore(limit)
        self._users = 0  # calls running or waiting for a thread
        self._inline = inline

    @property
    def busy(self) -> bool:
        """Whether a call is running or waiting (another transaction is about to run)."""
        return self._users > 0

    @classmethod
    def for_database(cls, uow_factory: Callable[[], UnitOfWork]) -> DatabaseGate:
        """One at a time on SQLite, on the event loop; on PostgreSQL as many as the engine
        was sized for, in threads."""
        with uow_factory() as uow:
            bind = uow.session.get_bind()
        return cls(concurrency(bind.engine), inline=transactions_may_run_inline(bind.engine))

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        self._users += 1
        try:
            await self._slots.acquire()
            release_now = True
            try:
                if self._inline:
                    await _until_the_loop_is_idle()
                    try:
                        with without_waiting_for_writers():
                            result = function(*args, **kwargs)
                    except WriteLockTaken:
                        pass  # another connection is writing: wait for it in a thread
                    else:
                        # Keep the slot until the loop has run what the caller schedules
                        # next (the reply's send): otherwise the other messages of a burst
                        # that arrived together would all run their transactions first,
                        # and every reply would leave after the whole burst.
                        asyncio.get_running_loop().call_soon(self._slots.release)
                        release_now = False
                        return result
                return await self._in_thread(partial(function, *args, **kwargs))
            finally:
                if release_now:
                    self._slots.release()
        finally:
            self._users -= 1

    async def _in_thread(self, function: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        call = _Call(function, loop, future)
        # The next call is handed over once the loop has taken the last one's outcome
        # (the caller holds the slot until then): its thread would otherwise start at
        # once and contend for the interpreter with the loop sending the reply just
        # produced.
        self._threads.submit(call.run)
        try:
            return await future
        except asyncio.CancelledError:
            # Not started yet: it never will be. Already running: a thread cannot be
            # stopped; it finishes (its transaction commits or rolls back as usual) and
            # the calls behind it wait for it.
            call.abandoned = True
            raise


async def _until_the_loop_is_idle() -> None:
    """Let what is ready on the loop go before a transaction runs on it: yield until an
    iteration passes with nothing else in it (at most MAX_YIELDS times).

    In a thread, a transaction shares the interpreter with the loop, and SQLite's C
    work even runs beside it on another core; on the loop it would run before the
    sends and requests already waiting there (replies' p50 under bursts was about
    2 ms worse without this, on the reply-path benchmark).
    """
    for _ in range(MAX_YIELDS):
        started = time.perf_counter()
        await asyncio.sleep(0)
        if time.perf_counter() - started < IDLE_ITERATION:
            return
