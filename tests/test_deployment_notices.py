"""On PostgreSQL a publish is served at once: deployments are NOTIFYed and processes LISTEN.

The periodic check is set to an hour here, so only the notice can explain a switch
within seconds. A listener whose connection is cut opens it again and catches up on
what was published meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from bot.lifecycle import records
from bot.lifecycle.api import ScriptLifecycle
from bot.lifecycle.deployment_listener import DeploymentListener
from bot.lifecycle.source import DatabaseScriptSource
from bot.settings import DEFAULT_SCRIPT
from storage import migrate
from storage.database import create_database_engine, create_session_factory, libpq_conninfo
from storage.unit_of_work import UnitOfWork
from tests.lifecycle_helpers import DEFAULT_TEXT, SECTOR_ASK, variant_of

HOUR = 3600.0
SWITCH_WITHIN = 5.0  # seconds; the periodic check would take an hour


def sector_ask(source: DatabaseScriptSource) -> str:
    """What the source serves now, as last loaded (`loaded()` never checks by itself)."""
    return source.loaded().script.question("sector").ask.get("en", "en")


def within(seconds: float, condition: Callable[[], bool]) -> float:
    """How long `condition` took to hold; fails after `seconds`."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < seconds, "not switched in time"
        time.sleep(0.02)
    return time.monotonic() - began


def listening_source(
    engine: Engine, factory: sessionmaker[Session]
) -> tuple[DatabaseScriptSource, DeploymentListener]:
    """A serving process's script source, checking only hourly but listening (connected)."""
    source = DatabaseScriptSource(ScriptLifecycle(factory), lambda: UnitOfWork(factory),
                                  file=None, bundled=DEFAULT_SCRIPT, interval=HOUR)
    source.start()
    conninfo = libpq_conninfo(engine)
    assert conninfo is not None
    listener = source.listen(conninfo)
    assert listener.listening.wait(10)
    return source, listener


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_database_engine(postgres_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def test_a_publish_and_a_rollback_are_served_at_once(engine: Engine) -> None:
    factory = create_session_factory(engine)
    source, listener = listening_source(engine, factory)
    try:
        publisher = ScriptLifecycle(factory)  # another "process": the CLI or the workspace
        publisher.publish(variant_of(DEFAULT_TEXT, SECTOR_ASK, "Your sector?"), author="ada")
        within(SWITCH_WITHIN, lambda: sector_ask(source) == "Your sector?")
        publisher.rollback(author="ada")
        within(SWITCH_WITHIN, lambda: sector_ask(source) == SECTOR_ASK)
    finally:
        source.close()
    assert not listener.listening.is_set()


def test_a_listener_cut_off_reconnects_and_catches_up(engine: Engine) -> None:
    factory = create_session_factory(engine)
    source, listener = listening_source(engine, factory)
    try:
        with engine.begin() as db:
            cut = db.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN %'")).all()
        assert len(cut) == 1
        # Published while nobody listens: the notice is lost, the reconnection finds it.
        ScriptLifecycle(factory).publish(variant_of(DEFAULT_TEXT, SECTOR_ASK, "Sector?"),
                                         author="ada")
        within(SWITCH_WITHIN + 2, lambda: sector_ask(source) == "Sector?")
        assert listener.listening.is_set()
    finally:
        source.close()


def test_a_deployment_rolled_back_is_never_announced(engine: Engine) -> None:
    factory = create_session_factory(engine)
    ScriptLifecycle(factory).import_file(DEFAULT_SCRIPT, bundled=True)
    conninfo = libpq_conninfo(engine)
    assert conninfo is not None
    notices: list[float] = []
    listener = DeploymentListener(conninfo, lambda: notices.append(time.monotonic()))
    listener.start()
    try:
        assert listener.listening.wait(10)
        within(SWITCH_WITHIN, lambda: len(notices) == 1)  # the catch-up made on connecting
        with UnitOfWork(factory) as uow:  # never committed: rolled back on leaving
            uow.scripts.deploy(kind="rollback", variants=records.single(1), author="ada",
                               note="", now=datetime.now(UTC))
        time.sleep(1.5)
        assert len(notices) == 1
        ScriptLifecycle(factory).rollback(1, author="ada")
        within(SWITCH_WITHIN, lambda: len(notices) == 2)
    finally:
        listener.stop()


def test_sqlite_has_nothing_to_listen_to(sqlite_url: str) -> None:
    engine = create_database_engine(sqlite_url)
    try:
        assert libpq_conninfo(engine) is None
    finally:
        engine.dispose()
