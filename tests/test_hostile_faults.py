"""Faults log once, not thousands of times; failure logs never carry SQL parameter values.

The red team cut PostgreSQL off for 12 s and got 2,594 tracebacks. Now: one line
with the cause, a summary at most every ten seconds, "recovered" at the end — and
a webhook answer of 503 only while the database is really unreachable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from benchmarks.telegram_traffic import SECRET_HEADER, text_update
from bot.bootstrap import build
from bot.logging_faults import FaultLog
from bot.settings import Settings
from storage.database import create_database_engine
from storage.errors import database_unavailable
from tests.db_proxy import CuttableProxy
from tests.hostile import assert_prospect_answered

SECRET = "hostile-faults-secret"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def unreachable() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_a_run_of_failures_logs_first_summary_and_recovery(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    faults = FaultLog("Telegram updates", logging.getLogger("test.faults"), clock=clock)
    faults.succeeded()  # nothing to say while all is well
    for _ in range(500):
        faults.failed(unreachable())
        clock.now += 0.01  # 500 failures in 5 s: no summary yet
    for _ in range(700):
        faults.failed(unreachable())
        clock.now += 0.01  # the 1,001st failure lands on the 10 s mark: one summary
    faults.succeeded()
    faults.succeeded()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(lines) == 3, lines
    assert lines[0][0] == "ERROR" and lines[0][1].startswith("Telegram updates failing: OperationalError")
    assert lines[1][0] == "WARNING" and "still failing: 1001 requests in the last 10 s" in lines[1][1]
    assert lines[2] == ("WARNING", "Telegram updates recovered after 1200 failed requests in 12 s")
    assert all(r.exc_info is None for r in caplog.records)  # an outage is not a bug: no traceback


def test_a_bug_is_logged_with_its_traceback_once(caplog: pytest.LogCaptureFixture) -> None:
    faults = FaultLog("events API", logging.getLogger("test.faults"), clock=Clock())
    for _ in range(3):
        try:
            raise KeyError("surprise")
        except KeyError as exc:
            faults.failed(exc)
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is not None


def test_database_unavailable_means_a_retry_can_work() -> None:
    assert database_unavailable(unreachable())
    assert not database_unavailable(ProgrammingError("SELECT", {}, Exception("syntax")))
    assert not database_unavailable(ValueError("bad input"))


def test_failure_messages_name_the_sql_but_not_its_parameter_values(database_url: str) -> None:
    engine = create_database_engine(database_url)
    try:
        with pytest.raises(Exception) as raised, engine.connect() as connection:
            connection.execute(text("SELECT :email FROM no_such_table"),
                               {"email": "ada.secret@example.com"})
    finally:
        engine.dispose()
    assert "no_such_table" in str(raised.value)
    assert "ada.secret@example.com" not in str(raised.value)


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[CuttableProxy]:
    with CuttableProxy(postgres_url) as running:
        yield running


async def test_a_database_cut_off_is_503_one_error_line_and_recovered(
    proxy: CuttableProxy, fake_telegram: Any, serve_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    container = build(Settings(database_url=proxy.url, telegram_bot_token=fake_telegram.token,
                               telegram_api_base_url=fake_telegram.base_url,
                               telegram_webhook_secret=SECRET))
    headers = {SECRET_HEADER: SECRET}
    try:
        async with serve_app(container) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
            await assert_prospect_answered(client, fake_telegram, secret=SECRET, chat_id=9500,
                                           update_id=9500)
            proxy.cut()
            during = [await client.post("/telegram/webhook", headers=headers,
                                        json=text_update(9600 + n, 9600 + n, "/start"))
                      for n in range(20)]
            proxy.restore()
            # Telegram redelivers: the same updates now go through.
            after = [await client.post("/telegram/webhook", headers=headers,
                                       json=text_update(9600 + n, 9600 + n, "/start"))
                     for n in range(3)]
    finally:
        container.close()
    assert [r.status_code for r in during] == [503] * 20
    assert [r.status_code for r in after] == [200] * 3
    update_lines = [r for r in caplog.records if r.getMessage().startswith("Telegram updates")]
    assert [r.levelname for r in update_lines] == ["ERROR", "WARNING"], \
        [r.getMessage() for r in update_lines]
    assert "recovered after 20 failed requests" in update_lines[-1].getMessage()
    # The request path logs no traceback. (The reply deliverer's own retries are the
    # outbox worker's logging, which the shared worker skeleton owns.)
    request_path = [r for r in caplog.records if not r.name.endswith(".delivery")]
    assert [r for r in request_path if r.exc_info or "Traceback" in r.getMessage()] == []


def test_outside_text_cannot_forge_a_text_log_line() -> None:
    import io

    from bot.logging import TextFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("test.forgery")
    logger.addHandler(handler)
    try:
        logger.warning("refused key %s", "k\n2026-11-28 00:00:00,000 INFO bot: admin logged in\x1b[2J")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("with a traceback\r\nforged")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert lines[0].endswith("refused key k\\n2026-11-28 00:00:00,000 INFO bot: admin logged in\\x1b[2J")
    assert lines[1].endswith("with a traceback\\r\\nforged")
    assert lines[2] == "Traceback (most recent call last):"  # tracebacks keep their lines
