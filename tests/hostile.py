"""Helpers of the hostile-input suite (tests/test_hostile_*.py): what "nothing happened" means.

After each hostile request the suite checks three things: the status code, that no
row of any data table changed, and that nothing in the captured log is a
traceback or an error. Then a normal prospect must still get an answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from benchmarks.telegram_traffic import SECRET_HEADER, text_update
from storage.models import Base

# Bookkeeping that moves on its own while the app runs (delivery leases, schema version).
_NOT_DATA = {"leases", "alembic_version"}


def snapshot(container: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every data table, in primary-key order."""
    with container.uow() as uow:
        return {
            table.name: [tuple(row) for row in uow.session.execute(
                select(table).order_by(*table.primary_key.columns))]
            for table in Base.metadata.sorted_tables if table.name not in _NOT_DATA
        }


def changed_tables(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def log_problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Records that are tracebacks or errors, as short strings (empty when the log is clean)."""
    problems = []
    for record in caplog.records:
        if record.exc_info or record.levelno >= logging.ERROR or "Traceback" in record.getMessage():
            problems.append(f"{record.levelname} {record.name}: {record.getMessage()[:200]}")
    return problems


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


async def assert_prospect_answered(
    client: httpx.AsyncClient, fake_telegram: Any, *, secret: str, chat_id: int, update_id: int
) -> None:
    """A normal prospect's /start is accepted and the greeting reaches their chat."""
    response = await client.post("/telegram/webhook", json=text_update(update_id, chat_id, "/start"),
                                 headers={SECRET_HEADER: secret})
    assert response.status_code == 200, response.text
    await fake_telegram.wait_for(lambda: len(fake_telegram.messages(chat_id)) >= 1, timeout=20,
                                 what="the normal prospect's greeting")


def replies_pending(container: Any) -> int:
    with container.uow() as uow:
        return len(uow.outbox.pending(kinds=["telegram"]))


async def settle_replies(container: Any, fake_telegram: Any) -> None:
    """Wait until every queued reply is delivered (so the outbox stops changing)."""
    await fake_telegram.wait_for(lambda: replies_pending(container) == 0, timeout=20,
                                 what="every queued reply to be delivered")
