"""The unit of work on SQLite and PostgreSQL: direct statements and ORM work in one unit
share one transaction, whichever comes first; the connection goes back to the pool
however the unit ends; a locked database fails the unit clearly and hands back what
was handed to it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError

from storage import migrate
from storage.database import create_database_engine, create_session_factory
from storage.models import KeyValue, ProcessedMessage
from storage.unit_of_work import UnitOfWork

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _checked_out(engine: Engine) -> int:
    return engine.pool.checkedout()  # type: ignore[attr-defined, no-any-return]


def _stored(uow: UnitOfWork) -> tuple[list[str], list[str]]:
    """The message ids remembered (a direct statement) and the keys stored (the ORM)."""
    with uow:
        messages = uow.session.scalars(select(ProcessedMessage.message_id)).all()
        keys = uow.session.scalars(select(KeyValue.key)).all()
    return sorted(messages), sorted(keys)


@pytest.mark.parametrize("first", ["direct", "orm"])
def test_direct_statements_and_orm_work_share_one_transaction(
    store: tuple[UnitOfWork, Engine], first: str,
) -> None:
    uow, engine = store

    def both(message_id: str, key: str) -> None:
        steps = [lambda: uow.processed.remember("telegram", message_id, now=NOW),
                 lambda: uow.key_values.put(key, {"n": 1}, now=NOW)]
        for work in steps if first == "direct" else reversed(steps):
            work()
        uow.session.flush()

    with uow:
        both("1", "a")  # not committed: neither stays
    assert _stored(uow) == ([], [])
    with uow:
        both("2", "b")
        uow.rollback()
        both("3", "c")
        uow.commit()
    assert _stored(uow) == (["3"], ["c"])
    with uow:
        both("4", "d")
        uow.commit()
        both("5", "e")  # a new transaction after the commit, rolled back at the end
    assert _stored(uow) == (["3", "4"], ["c", "d"])
    assert _checked_out(engine) == 0


def test_the_connection_goes_back_to_the_pool_however_the_unit_ends(
    store: tuple[UnitOfWork, Engine],
) -> None:
    uow, engine = store
    with uow:
        uow.processed.remember("telegram", "1", now=NOW)
        assert _checked_out(engine) == 1
        uow.commit()
    assert _checked_out(engine) == 0
    with pytest.raises(RuntimeError), uow:
        uow.processed.remember("telegram", "2", now=NOW)
        raise RuntimeError("the handler failed")
    assert _checked_out(engine) == 0
    with uow:
        assert _checked_out(engine) == 0  # nothing is checked out before it is needed
        assert not uow.processed.seen("telegram", "2")


def test_a_locked_sqlite_database_fails_the_unit_and_hands_back_what_it_was_given(
    sqlite_url: str,
) -> None:
    engine = create_database_engine(sqlite_url)
    migrate.upgrade(engine)

    @event.listens_for(engine, "connect")
    def _wait_briefly(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=200")  # not 30 s, in a test

    engine.dispose()  # connections opened from here on wait briefly
    uow = UnitOfWork(create_session_factory(engine))
    other = engine.connect()
    other.begin()  # BEGIN IMMEDIATE: the one writer
    handed_back: list[str] = []
    with pytest.raises(OperationalError, match="locked"), uow:
        uow.if_rolled_back(lambda: handed_back.append("outcome"))
        uow.processed.remember("telegram", "1", now=NOW)
    assert handed_back == ["outcome"]
    assert _checked_out(engine) == 1  # only the other one
    other.rollback()
    other.close()
    with uow:
        assert uow.processed.remember("telegram", "1", now=NOW)
        uow.commit()
    with uow:
        assert uow.processed.seen("telegram", "1")
    assert _checked_out(engine) == 0
    engine.dispose()
