"""Shared set-up for the lifecycle tests: a migrated database and its service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from bot.lifecycle.api import ScriptLifecycle
from storage import migrate
from storage.database import create_database_engine, create_session_factory
from tests.transcripts import DEFAULT_PATH

DEFAULT_TEXT = DEFAULT_PATH.read_text()
SECTOR_ASK = "Which sector is your company in?"
TABLES = ("leads", "conversations", "answers", "events", "outbox", "processed_messages",
          "script_versions", "script_deployments", "key_values")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    lifecycle: ScriptLifecycle

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as db:
            return {t: int(db.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                    for t in TABLES}


@contextmanager
def migrated(url: str) -> Iterator[Database]:
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    sessions = create_session_factory(engine)
    try:
        yield Database(engine, sessions, ScriptLifecycle(sessions, clock=Clock()))
    finally:
        engine.dispose()


def variant_of(text_: str, old: str, new: str) -> str:
    assert old in text_, old
    return text_.replace(old, new)
