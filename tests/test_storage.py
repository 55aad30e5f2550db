"""Storage on SQLite and PostgreSQL: migrations match the models, the unit of work, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage import migrate
from storage.database import create_database_engine, create_session_factory, normalise_database_url
from storage.direct import DirectStatement
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


def test_outbox_claims_heads_of_a_backlog_through_the_partial_indexes(database_url: str) -> None:
    """A deep backlog (Telegram paces replies at ~30/s) must not make each claim read all of it.

    The claim hands out only heads, in id order, and its plan probes each candidate's
    destination through the pending-rows index instead of scanning every pending row.
    """
    uow, engine = _uow(database_url)
    with uow:  # 40 chats, 25 queued replies each, interleaved as concurrent chats write them
        for n in range(25):
            uow.outbox.queue_many(kind="telegram", destination="telegram:", payloads=[],
                                  now=NOW)
            for chat in range(40):
                uow.outbox.queue_many(kind="telegram", destination=f"telegram:{chat}",
                                      payloads=[{"chat": chat, "n": n}], now=NOW)
        uow.outbox.add(kind="slack_alert", destination="slack:#a", payload={"n": 0}, now=NOW)
        uow.commit()
    lease = timedelta(seconds=30)
    with uow:
        claimed = uow.outbox.claim_due(kinds=["telegram"], now=NOW, lease=lease, limit=15)
        assert [(m.payload["chat"], m.payload["n"]) for m in claimed] == [
            (chat, 0) for chat in range(15)
        ]
        uow.commit()
    with uow:  # the leased heads hide their followers; the other chats' heads come next
        claimed = uow.outbox.claim_due(kinds=["telegram"], now=NOW, lease=lease, limit=100)
        assert [(m.payload["chat"], m.payload["n"]) for m in claimed] == [
            (chat, 0) for chat in range(15, 40)
        ]
        uow.commit()
    with uow:
        plan = _claim_plan(uow, engine)
    assert "ix_outbox_pending_destination" in plan, plan
    engine.dispose()  # type: ignore[attr-defined]


def test_the_head_just_queued_is_leased_in_one_statement(database_url: str) -> None:
    uow, engine = _uow(database_url)
    lease = timedelta(seconds=10)
    with uow:
        uow.outbox.queue_many(kind="telegram", destination="telegram:1",
                              payloads=[{"n": 1}, {"n": 2}], now=NOW)
        uow.outbox.queue_many(kind="telegram", destination="telegram:2", payloads=[{"n": 3}],
                              now=NOW + timedelta(seconds=5))
        first = uow.outbox.lease_head(destination="telegram:1", kinds=["telegram"], now=NOW,
                                      lease=lease)
        assert first is not None and (first.payload, first.attempts) == ({"n": 1}, 1)
        # Leased: neither it nor the row behind it is handed out again.
        assert uow.outbox.lease_head(destination="telegram:1", kinds=["telegram"], now=NOW,
                                     lease=lease) is None
        assert uow.outbox.claim_due(kinds=["telegram"], now=NOW, lease=lease) == []
        # Not due yet; another kind's worker never takes it.
        assert uow.outbox.lease_head(destination="telegram:2", kinds=["telegram"], now=NOW,
                                     lease=lease) is None
        later = NOW + timedelta(seconds=6)
        assert uow.outbox.lease_head(destination="telegram:2", kinds=["slack_alert"], now=later,
                                     lease=lease) is None
        uow.outbox.mark_delivered(first.id, result={"message_id": 5}, now=NOW)
        second = uow.outbox.lease_head(destination="telegram:1", kinds=["telegram"], now=NOW,
                                       lease=lease)
        assert second is not None and second.payload == {"n": 2}
        uow.commit()
    expired = NOW + lease + timedelta(seconds=1)
    with uow:  # an expired lease (a killed sender) is taken again, counting the attempt
        again = uow.outbox.lease_head(destination="telegram:1", kinds=["telegram"], now=expired,
                                      lease=lease)
        assert again is not None and (again.id, again.attempts) == (second.id, 2)
    engine.dispose()  # type: ignore[attr-defined]


def _claim_plan(uow: UnitOfWork, engine: object) -> str:
    """The database's plan for the claim statement exactly as it is sent, parameters included."""
    captured: list[tuple[str, object]] = []
    run_all = DirectStatement.all

    def capture(statement: DirectStatement, session: Any, params: Any) -> Any:
        sql, parameters = statement.sent(session, params)
        if "FROM outbox AS earlier" in sql:
            captured.append((sql, parameters))
        return run_all(statement, session, params)

    with patch.object(DirectStatement, "all", capture):
        uow.outbox.claim_due(kinds=["telegram"], now=NOW, lease=timedelta(seconds=1))
    assert captured, "the claim statement was not seen"
    statement, parameters = captured[0]
    sqlite = uow.session.get_bind().dialect.name == "sqlite"
    explain = ("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement
    rows = uow.session.connection().exec_driver_sql(explain, parameters)  # type: ignore[arg-type]
    return " ".join(str(row) for row in rows)


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


def test_a_lease_has_one_holder_until_it_expires_or_is_released(database_url: str) -> None:
    uow, engine = _uow(database_url)
    ttl = timedelta(seconds=15)
    with uow:
        assert uow.leases.holder("sender", now=NOW) is None
        assert uow.leases.hold("sender", "a", now=NOW, ttl=ttl)
        assert not uow.leases.hold("sender", "b", now=NOW, ttl=ttl)
        assert uow.leases.hold("other", "b", now=NOW, ttl=ttl)  # leases are independent
        uow.commit()
    with uow:  # the holder renews; the other keeps being refused while it does
        assert uow.leases.hold("sender", "a", now=NOW + timedelta(seconds=10), ttl=ttl)
        assert not uow.leases.hold("sender", "b", now=NOW + timedelta(seconds=20), ttl=ttl)
        assert uow.leases.holder("sender", now=NOW + timedelta(seconds=20)) == "a"
        uow.commit()
    expired = NOW + timedelta(seconds=25)
    with uow:  # a holder that stopped renewing (killed) is taken over once expired
        assert uow.leases.holder("sender", now=expired) is None
        assert uow.leases.hold("sender", "b", now=expired, ttl=ttl)
        assert not uow.leases.hold("sender", "a", now=expired, ttl=ttl)
        uow.leases.release("sender", "a")  # not a's to release: nothing happens
        assert uow.leases.holder("sender", now=expired) == "b"
        uow.leases.release("sender", "b")
        assert uow.leases.hold("sender", "a", now=expired, ttl=ttl)  # released: free at once
        uow.commit()
    engine.dispose()  # type: ignore[attr-defined]
