"""The database gate: calls run on its own threads, as many at once as it allows, in
arrival order; results and errors come back to the caller; a call whose caller gave up
before it started never runs."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bot.dbgate import DatabaseGate
from storage.database import create_database_engine, create_session_factory
from storage.unit_of_work import UnitOfWork


class Recorder:
    """Synchronous work that notes when it runs, and on which thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.order: list[int] = []
        self.threads: set[str] = set()

    def work(self, number: int, *, seconds: float = 0.01) -> int:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.order.append(number)
            self.threads.add(threading.current_thread().name)
        time.sleep(seconds)
        with self.lock:
            self.running -= 1
        return number * 10


async def test_one_at_a_time_in_arrival_order_off_the_event_loop() -> None:
    gate, recorder = DatabaseGate(1), Recorder()
    results = await asyncio.gather(*(gate.run(recorder.work, n) for n in range(8)))
    assert results == [n * 10 for n in range(8)]
    assert recorder.order == list(range(8))
    assert recorder.most_at_once == 1
    assert threading.current_thread().name not in recorder.threads
    assert not gate.busy


async def test_as_many_at_once_as_the_limit() -> None:
    gate, recorder = DatabaseGate(3), Recorder()
    await asyncio.gather(*(gate.run(recorder.work, n, seconds=0.05) for n in range(9)))
    assert recorder.most_at_once == 3
    assert len(recorder.threads) == 3


async def test_an_error_reaches_the_caller_and_the_gate_carries_on() -> None:
    gate = DatabaseGate(1)

    def fail() -> None:
        raise LookupError("no such lead")

    def stop() -> None:
        raise StopIteration

    with pytest.raises(LookupError, match="no such lead"):
        await gate.run(fail)
    with pytest.raises(RuntimeError, match="StopIteration"):  # an asyncio future refuses it
        await gate.run(stop)
    assert await gate.run(lambda: 42) == 42


async def test_busy_while_a_call_runs_or_waits() -> None:
    gate, started, release = DatabaseGate(1), threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(5)

    assert not gate.busy
    held = asyncio.create_task(gate.run(hold))
    await asyncio.to_thread(started.wait, 5)
    assert gate.busy
    release.set()
    await held
    assert not gate.busy


async def test_a_call_cancelled_before_it_started_never_runs() -> None:
    gate, started, release = DatabaseGate(1), threading.Event(), threading.Event()
    ran: list[str] = []

    def hold() -> None:
        started.set()
        release.wait(5)
        ran.append("first")

    first = asyncio.create_task(gate.run(hold))
    await asyncio.to_thread(started.wait, 5)
    second = asyncio.create_task(gate.run(ran.append, "second"))
    await asyncio.sleep(0)  # the second call is queued behind the first
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert gate.busy  # the first still runs
    release.set()
    await first
    assert await gate.run(ran.append, "third") is None
    assert ran == ["first", "third"]


async def test_for_database_lets_one_through_on_sqlite(sqlite_url: str) -> None:
    engine = create_database_engine(sqlite_url)
    gate = DatabaseGate.for_database(lambda: UnitOfWork(create_session_factory(engine)))
    recorder = Recorder()
    await asyncio.gather(*(gate.run(recorder.work, n) for n in range(4)))
    assert recorder.most_at_once == 1
    engine.dispose()
