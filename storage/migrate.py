"""Alembic, driven from code: `leadbot db upgrade` and the start-up check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


# Key of the PostgreSQL advisory lock that serialises migrations ("leadbot" in ASCII).
MIGRATION_LOCK = 0x6C65616462_6F74


def upgrade(engine: Engine) -> None:
    """Apply every migration not yet applied (idempotent), one process at a time.

    On PostgreSQL the migration's transaction first takes an advisory lock, so
    processes starting together (LEADBOT_AUTO_MIGRATE) migrate one after the other:
    the first applies the migrations, the others then find the schema current.
    SQLite's BEGIN IMMEDIATE already lets one writer in at a time.
    """
    config = alembic_config(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_current(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)
