"""`GET /healthz`: 200 with a reachable, current database; 503 when it is gone or behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from bot.bootstrap import build
from bot.settings import Settings
from tests.databases import _admin_url, _libpq, fresh_postgres_database, postgres_unavailable_reason


async def test_healthy_database_is_200(sqlite_url: str, serve_app: Any) -> None:
    container = build(Settings(database_url=sqlite_url))
    try:
        async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/healthz")
    finally:
        container.close()
    assert response.status_code == 200
    assert response.json()["status"] == "ok" and response.json()["migrations"] == "current"


async def test_unreachable_database_is_503(tmp_path: Path, serve_app: Any) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    container = build(Settings(database_url=f"sqlite:///{folder / 'db.sqlite'}"))
    try:
        async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/healthz")).status_code == 200
            container.engine.dispose()
            for child in folder.iterdir():
                child.unlink()
            folder.rmdir()  # SQLite cannot even create a new file there now
            response = await client.get("/healthz")
    finally:
        container.close()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable",
                               "error": "OperationalError"}


async def test_database_without_migrations_is_503(sqlite_url: str, serve_app: Any) -> None:
    container = build(Settings(database_url=sqlite_url), migrate_database=False)
    try:
        async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
            response = await client.get("/healthz")
    finally:
        container.close()
    assert response.status_code == 503
    assert response.json()["migrations"] == "behind"


async def test_postgres_dropped_under_a_running_server_is_503(serve_app: Any) -> None:
    reason = postgres_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with fresh_postgres_database() as database_url:
        container = build(Settings(database_url=database_url))
        try:
            async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
                assert (await client.get("/healthz")).status_code == 200
                name = database_url.rsplit("/", 1)[1]
                with psycopg.connect(_libpq(_admin_url()), autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                response = await client.get("/healthz")
        finally:
            container.close()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
