"""Engines and sessions: SQLite (WAL, one writer) by default, PostgreSQL to scale out."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from storage import json_text


def normalise_database_url(url: str) -> str:
    """Accept the `postgres://` URLs PaaS platforms hand out; use psycopg 3 for PostgreSQL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    make_url(url)  # raises ArgumentError on a malformed URL
    return url


def libpq_conninfo(engine: Engine) -> str | None:
    """The engine's PostgreSQL database as a libpq URL for a psycopg connection of one's
    own (e.g. to LISTEN); None on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


# Connections a process may hold beyond its pool in a burst (closed when returned).
POOL_OVERFLOW = 2
# Pool connections kept free of message handling for health checks, metrics and jobs.
POOL_RESERVE = 2


# A pooled connection idle for longer than this is checked (a round trip) before use.
PING_AFTER_IDLE_SECONDS = 5.0


def create_database_engine(
    url: str, *, concurrency: int = 1, ping_after_idle: float = PING_AFTER_IDLE_SECONDS
) -> Engine:
    """An engine; on PostgreSQL, a pool for `concurrency` message transactions at once.

    The pool keeps `concurrency` + POOL_RESERVE connections open: a connection opened
    beyond it is closed when returned, and a new PostgreSQL connection costs a fork
    and an authentication — under load that churn cost more CPU than the queries.

    One transaction at a time per process is the default, as with SQLite: a process
    is one core of Python, and threads running transactions side by side contend for
    the interpreter — on the load benchmark four at once cost 10–30 % more web CPU
    per update than one, and two processes lost their lead over SQLite. Scale out with
    processes; raise `concurrency` when the database is far (each transaction then
    waits several network round trips, which other transactions can use).
    """
    url = normalise_database_url(url)
    if url.startswith("sqlite"):
        return _create_sqlite_engine(url)
    # hide_parameters: a failing statement's message names the SQL, never the values
    # bound to it (emails, names, prospects' words) — those would land in the logs.
    engine = create_engine(url, pool_size=concurrency + POOL_RESERVE, max_overflow=POOL_OVERFLOW,
                           hide_parameters=True, json_serializer=json_text.dumps,
                           json_deserializer=json_text.loads)
    _ping_idle_connections(engine, ping_after_idle)
    return engine


def _ping_idle_connections(engine: Engine, after: float) -> None:
    """Check a pooled connection before use only when it sat idle for `after` seconds.

    SQLAlchemy's `pool_pre_ping` costs a round trip on *every* checkout: about one
    statement in ten on the message path. A connection in steady use is known to be
    alive; one that sat idle may have been cut (a database restart, a proxy's idle
    timeout), so it is pinged and, if dead, replaced before anyone uses it. A
    connection cut while in steady use fails its transaction once (a webhook answers
    503 and Telegram delivers the update again); SQLAlchemy then replaces every
    connection of the pool opened before the failure.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception:  # noqa: BLE001 — any failure means: do not hand this one out
            alive = False
        if not alive:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("pooled connection is gone")


def concurrency(engine: Engine) -> int:
    """How many message transactions a process runs at once on this engine."""
    if engine.dialect.name == "sqlite":
        return 1  # one writer: concurrent writers only wait in the busy handler
    size = getattr(engine.pool, "size", None)
    return max(1, (size() if callable(size) else 1 + POOL_RESERVE) - POOL_RESERVE)


def transactions_may_run_inline(engine: Engine) -> bool:
    """Whether a short transaction may run on the event loop itself (SQLite: a local
    file, no network round trips; one that would wait for a writer runs in a thread)."""
    return engine.dialect.name == "sqlite"


class WriteLockTaken(Exception):
    """A transaction begun under `without_waiting_for_writers` found another connection
    writing; nothing was done: run it again where it may wait."""


# How long an SQLite connection waits for another connection's write lock.
BUSY_TIMEOUT_MS = 30_000

_NO_WAIT: ContextVar[bool] = ContextVar("sqlite_no_wait", default=False)


@contextmanager
def without_waiting_for_writers() -> Iterator[None]:
    """Transactions begun in this block on SQLite raise `WriteLockTaken` at once instead
    of waiting for another connection (thread or process) to commit: for work on the
    event loop, which must never sleep in SQLite's busy handler."""
    token = _NO_WAIT.set(True)
    try:
        yield
    finally:
        _NO_WAIT.reset(token)


# How long a connection keeps trying to switch a new database file to WAL.
WAL_SWITCH_SECONDS = 30.0


def _use_wal(cursor: Any) -> None:
    """Put the database in WAL mode (it stays so), also when processes open it together.

    Switching needs the database to itself and SQLite answers "database is locked" at
    once, without waiting, while another connection is in a transaction — e.g. a web
    process and a worker starting on a new file, one already migrating. So: nothing to
    do when another connection already switched it; otherwise retry until it works.
    """
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    while True:
        if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")  # "memory" for in-memory databases
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _create_sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False,
                                              "timeout": BUSY_TIMEOUT_MS / 1000},
                           hide_parameters=True, json_serializer=json_text.dumps,
                           json_deserializer=json_text.loads)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy's `begin` event issue BEGIN itself (pysqlite's own
        # transaction handling defers it, which breaks the one-writer rule).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        record.info["busy_timeout"] = BUSY_TIMEOUT_MS
        # Checkpoint every ~40 MB of WAL instead of ~4 MB: the checkpoint's fsync is the
        # one multi-millisecond pause on the message path, so make it ten times rarer.
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        # Take the write lock when the transaction starts: two processes handling
        # the same chat then run one after the other instead of failing on upgrade.
        # Straight to the driver: this runs for every transaction. A failure (the
        # database still locked after the busy timeout, a broken file) is raised as
        # SQLAlchemy raises any driver error, which SQLAlchemy does not do itself for
        # an error in this event.
        pooled = connection.connection
        driver = pooled.dbapi_connection
        # Without waiting (on the event loop): the lock is taken at once or not at all.
        # Once BEGIN IMMEDIATE holds it, a WAL transaction waits for no other connection
        # (readers never block it, and the commit's automatic checkpoint is passive),
        # so the timeout only matters here. A connection keeps the timeout it was last
        # given: set only when it changes, which it seldom does.
        timeout = 0 if _NO_WAIT.get() else BUSY_TIMEOUT_MS
        if pooled.info.get("busy_timeout") != timeout:
            driver.execute(f"PRAGMA busy_timeout={timeout}")
            pooled.info["busy_timeout"] = timeout
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            if (timeout == 0 and isinstance(exc, sqlite3.OperationalError)
                    and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY):
                raise WriteLockTaken("another connection holds the write lock") from exc
            connection._handle_dbapi_exception(exc, "BEGIN IMMEDIATE", (), None, None)

    return engine


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    # No autoflush: the service flushes once at commit instead of before every query.
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)
