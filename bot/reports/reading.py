"""A read-only database connection for reports and exports.

The service's SQLite engine opens every transaction with BEGIN IMMEDIATE (one
writer at a time); a report or an export holding that lock for seconds would
stall the bot. In WAL mode readers never block the writer, so reports use a
plain deferred connection with `PRAGMA query_only` (a report must never write);
on PostgreSQL the session is READ ONLY for the same reason.
A missing SQLite file is an error here, not a new empty database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from storage.database import create_database_engine, normalise_database_url


class DatabaseMissing(Exception):
    """The SQLite file named by DATABASE_URL does not exist."""


def open_read_engine(url: str) -> Engine:
    url = normalise_database_url(url)
    if not url.startswith("sqlite"):
        engine = create_database_engine(url)

        @event.listens_for(engine, "connect")
        def _read_only_session(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cursor.close()
            dbapi_connection.commit()

        return engine
    database = make_url(url).database
    if database and database != ":memory:" and not Path(database).exists():
        raise DatabaseMissing(database)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine
