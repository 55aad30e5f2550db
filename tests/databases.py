"""Test databases: a fresh SQLite file, or a fresh PostgreSQL database when a server is there."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import psycopg

LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", LOCAL_POSTGRES)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@cache
def postgres_unavailable_reason() -> str | None:
    """None when PostgreSQL can be used, else why not (shown as the skip reason)."""
    try:
        with psycopg.connect(_libpq(_admin_url()), connect_timeout=3):
            return None
    except Exception as exc:  # any failure to connect means "skip", with the reason
        return (
            f"PostgreSQL not reachable at {_admin_url()} ({type(exc).__name__}: {exc}); "
            "set TEST_DATABASE_URL or start the local server"
        )


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database for one test and drop it afterwards."""
    admin = _libpq(_admin_url())
    name = f"leadbot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = _admin_url().rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
