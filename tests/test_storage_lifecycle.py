"""Database life around the pool: connections cut under it, processes starting together.

The pool pings a connection only when it sat idle; one in steady use that was cut
fails its transaction once, and the next transaction gets a working connection.
Migrations run one process at a time.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from storage import migrate
from storage.database import create_database_engine, create_session_factory
from storage.unit_of_work import UnitOfWork


def _cut_every_connection(url: str) -> int:
    """What a restart does to the pool: terminate every backend of the database."""
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def _backend_pid(uow_factory: Any) -> int:
    with uow_factory() as uow:
        return int(uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _engine(url: str, **options: Any) -> tuple[Any, Any]:
    engine = create_database_engine(url, **options)
    migrate.upgrade(engine)
    factory = create_session_factory(engine)
    return engine, lambda: UnitOfWork(factory)


def test_an_idle_connection_that_was_cut_is_replaced_before_use(postgres_url: str) -> None:
    engine, uow = _engine(postgres_url, ping_after_idle=0.2)
    before = _backend_pid(uow)
    assert _cut_every_connection(postgres_url) >= 1
    time.sleep(0.3)  # idle longer than the threshold: checked at checkout
    assert _backend_pid(uow) != before  # a new connection, and no error on the way
    engine.dispose()


def test_a_busy_connection_that_was_cut_fails_once_then_the_pool_recovers(
    postgres_url: str,
) -> None:
    engine, uow = _engine(postgres_url, ping_after_idle=3600)  # never pinged
    _backend_pid(uow)
    assert _cut_every_connection(postgres_url) >= 1
    with pytest.raises(DBAPIError) as failure:
        _backend_pid(uow)
    assert failure.value.connection_invalidated
    _backend_pid(uow)  # the pool replaced the cut connections
    engine.dispose()


def _upgrade_together(url: str, processes: int = 4) -> list[Any]:
    """Engines of `processes` "processes" migrating `url` at the same instant; asserts none failed."""
    engines = [create_database_engine(url) for _ in range(processes)]
    start = threading.Barrier(len(engines))
    failures: list[BaseException] = []

    def upgrade(engine: Any) -> None:
        start.wait()
        try:
            migrate.upgrade(engine)
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    threads = [threading.Thread(target=upgrade, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    return engines


def test_processes_starting_together_migrate_once_without_failing(database_url: str) -> None:
    """LEADBOT_AUTO_MIGRATE with several processes starting at once: no race on the schema."""
    engines = _upgrade_together(database_url)
    assert all(migrate.is_current(engine) for engine in engines)
    for engine in engines:
        engine.dispose()


def test_processes_opening_a_new_sqlite_file_together_all_start(tmp_path: Any) -> None:
    """A web process and a worker starting on a new SQLite file: the WAL switch must not fail.

    Switching to WAL needs the file to itself, and SQLite refuses at once ("database is
    locked") while another connection is migrating. Several rounds: the race is narrow.
    """
    for round_ in range(25):
        engines = _upgrade_together(f"sqlite:///{tmp_path / f'fresh-{round_}.db'}")
        with engines[0].connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        for engine in engines:
            engine.dispose()
