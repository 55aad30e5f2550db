"""The database gate on the event loop: SQLite transactions run on the loop unless they
would wait for a writer, PostgreSQL's keep their threads, and one at a time in an order
that lets each caller's follow-up (a reply's send) run before the next transaction."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.bootstrap import build
from bot.dbgate import DatabaseGate
from bot.settings import Settings
from storage.database import (
    BUSY_TIMEOUT_MS,
    create_database_engine,
    transactions_may_run_inline,
)


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = create_database_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (n INTEGER NOT NULL)")
    yield engine
    engine.dispose()


def write(engine: Engine, n: int) -> int:
    """Insert `n` in a transaction; returns the thread it ran on."""
    with engine.begin() as connection:
        connection.exec_driver_sql(f"INSERT INTO notes (n) VALUES ({n})")
    return threading.get_ident()


def notes(engine: Engine) -> list[int]:
    with engine.begin() as connection:
        return [row[0] for row in connection.exec_driver_sql("SELECT n FROM notes ORDER BY n")]


def busy_timeout(engine: Engine) -> int:
    with engine.begin() as connection:
        return int(connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one())


async def thread_of_a_transaction(database_url: str) -> int:
    """The thread a transaction run through the database's gate ran on."""
    container = build(Settings(database_url=database_url))
    try:
        gate = DatabaseGate.for_database(container.uow)

        def transaction() -> int:
            with container.uow() as uow:
                uow.session.connection()
                return threading.get_ident()

        return await gate.run(transaction)
    finally:
        container.close()


async def test_sqlite_transactions_run_on_the_event_loop(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    assert await thread_of_a_transaction(url) == threading.get_ident()
    engine = create_database_engine(url)
    assert transactions_may_run_inline(engine)
    engine.dispose()


async def test_postgresql_transactions_keep_their_thread(postgres_url: str) -> None:
    assert await thread_of_a_transaction(postgres_url) != threading.get_ident()


async def test_a_transaction_finding_the_write_lock_taken_waits_in_a_thread_and_loses_nothing(
    engine: Engine, sqlite_url: str,
) -> None:
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing
    other.execute("INSERT INTO notes (n) VALUES (0)")
    gate = DatabaseGate(1, inline=True)
    threads: list[int] = []

    def work() -> None:
        threads.append(threading.get_ident())
        write(engine, 1)

    task = asyncio.create_task(gate.run(work))
    # The loop is not blocked while the other connection holds the lock.
    loop = asyncio.get_running_loop()
    for _ in range(20):
        started = loop.time()
        await asyncio.sleep(0.01)
        assert loop.time() - started < 0.2
    assert not task.done() and gate.busy
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(task, timeout=10)
    # Tried on the loop (nothing written), then run again in a thread, which waited.
    assert threads[0] == threading.get_ident()
    assert len(threads) == 2 and threads[1] != threading.get_ident()
    assert notes(engine) == [0, 1]
    assert not gate.busy


async def test_a_connection_used_on_the_loop_waits_for_writers_again_in_a_thread(
    engine: Engine,
) -> None:
    gate = DatabaseGate(1, inline=True)
    assert await gate.run(busy_timeout, engine) == 0  # on the loop: never waits
    assert await asyncio.to_thread(busy_timeout, engine) == BUSY_TIMEOUT_MS
    assert await gate.run(busy_timeout, engine) == 0


async def test_what_a_caller_schedules_after_its_transaction_runs_before_the_next_one(
    engine: Engine,
) -> None:
    gate = DatabaseGate(1, inline=True)
    events: list[str] = []

    def transaction(name: str) -> None:
        write(engine, ord(name))
        events.append(f"transaction {name}")

    async def send(name: str) -> None:
        events.append(f"send {name}")

    async def message(name: str) -> None:
        await gate.run(transaction, name)
        asyncio.create_task(send(name))

    # Messages arriving together (one burst): each reply leaves before the next
    # message's transaction, not after the whole burst.
    await asyncio.gather(*(message(name) for name in "abc"))
    await asyncio.sleep(0)
    assert events == ["transaction a", "send a", "transaction b", "send b",
                      "transaction c", "send c"]


async def test_a_failing_transaction_frees_the_gate(engine: Engine) -> None:
    gate = DatabaseGate(1, inline=True)

    def fail() -> None:
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO missing_table VALUES (1)")

    with pytest.raises(Exception, match="missing_table"):
        await gate.run(fail)
    assert not gate.busy
    await asyncio.wait_for(gate.run(write, engine, 2), timeout=5)
    assert notes(engine) == [2]


async def test_a_message_arriving_while_another_process_writes_is_answered_once(
    telegram_bot: Any, tmp_path: Any,
) -> None:
    control = await telegram_bot.prospect(900).say("/start")
    other = sqlite3.connect(tmp_path / "telegram.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing for a while
    ada = telegram_bot.prospect(901)
    said = asyncio.create_task(ada.say("/start"))
    loop = asyncio.get_running_loop()
    for _ in range(30):  # the update is fetched, its transaction waits: the loop does not
        started = loop.time()
        await asyncio.sleep(0.01)
        assert loop.time() - started < 0.2
    assert not said.done() and ada.messages == []
    other.execute("COMMIT")
    other.close()
    assert await asyncio.wait_for(said, timeout=15) == control
    await telegram_bot.settle()
    assert [m.text for m in ada.messages] == control
    assert telegram_bot.lead(901) is not None
