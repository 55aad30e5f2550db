"""Storage on SQLite and PostgreSQL: migrations match the models, the unit of work, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage import migrate
from storage.database import create_database_engine, create_session_factory, normalise_database_url
from storage.models import Base
from storage.unit_of_work import UnitOfWork

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _uow(url: str) -> tuple[UnitOfWork, object]:
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    return UnitOfWork(create_session_factory(engine)), engine


def test_migrations_match_models(database_url: str) -> None:
    engine = create_database_engine(database_url)
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    migrate.upgrade(engine)  # idempotent
    engine.dispose()


def test_unit_of_work_rolls_back_unless_committed(database_url: str) -> None:
    uow, engine = _uow(database_url)
    with uow:
        uow.leads.get_or_create_locked("telegram", "1", now=NOW)
    with uow:
        assert uow.leads.by_chat("telegram", "1") is None
        lead = uow.leads.get_or_create_locked("telegram", "1", now=NOW)
        uow.commit()
    with uow:
        again = uow.leads.get_or_create_locked("telegram", "1", now=NOW)
        assert again.id == lead.id
        assert again.created_at == NOW  # aware UTC datetimes round-trip
    engine.dispose()  # type: ignore[attr-defined]


def test_outbox_orders_per_destination_dedupes_and_leases(database_url: str) -> None:
    uow, engine = _uow(database_url)
    with uow:
        first = uow.outbox.add(kind="slack_alert", destination="slack:#a", payload={"n": 1},
                               now=NOW, dedupe_key="alert:1:sql")
        assert uow.outbox.add(kind="slack_alert", destination="slack:#a", payload={"n": 1},
                              now=NOW, dedupe_key="alert:1:sql") is None
        uow.outbox.add(kind="slack_alert", destination="slack:#a", payload={"n": 2}, now=NOW)
        uow.outbox.add(kind="slack_alert", destination="slack:#b", payload={"n": 3}, now=NOW)
        uow.commit()
    assert first is not None
    lease = timedelta(seconds=30)
    with uow:
        claimed = uow.outbox.claim_due(kinds=["slack_alert"], now=NOW, lease=lease)
        assert [m.payload["n"] for m in claimed] == [1, 3]  # only each destination's head
        uow.commit()
    with uow:  # leased rows are not handed out twice
        assert uow.outbox.claim_due(kinds=["slack_alert"], now=NOW, lease=lease) == []
        uow.outbox.mark_delivered(first.id, result={"ts": "1.1"}, now=NOW)
        uow.commit()
    with uow:
        claimed = uow.outbox.claim_due(kinds=["slack_alert"], now=NOW, lease=lease)
        assert [m.payload["n"] for m in claimed] == [2]  # #b's head is still leased
        uow.commit()
    later = NOW + timedelta(seconds=31)
    with uow:  # an expired lease (a killed worker) is taken over
        claimed = uow.outbox.claim_due(kinds=["slack_alert"], now=later, lease=lease)
        assert sorted(m.payload["n"] for m in claimed) == [2, 3]
        assert all(m.attempts == 2 for m in claimed)
    engine.dispose()  # type: ignore[attr-defined]


def test_processed_messages_are_remembered(database_url: str) -> None:
    uow, engine = _uow(database_url)
    with uow:
        assert not uow.processed.seen("telegram", "42")
        uow.processed.remember("telegram", "42", now=NOW)
        uow.commit()
    with uow:
        assert uow.processed.seen("telegram", "42")
        assert not uow.processed.seen("slack", "42")
    engine.dispose()  # type: ignore[attr-defined]


def test_postgres_urls_are_normalised() -> None:
    assert normalise_database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_database_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_uses_wal(sqlite_url: str) -> None:
    engine = create_database_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
