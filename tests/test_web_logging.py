"""Structured logs: `LOG_FORMAT=json` gives one JSON object per line, with no secrets and no bodies."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from benchmarks.telegram_traffic import HOT, SECRET_HEADER, text_update
from bot.bootstrap import build
from bot.logging import configure_logging
from bot.settings import Settings

SECRET = "log-test-secret"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Route the root logger to a buffer as `leadbot serve` would, then put pytest's back."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)


def test_json_lines_with_extras_and_scrubbed_secrets(log_stream: io.StringIO) -> None:
    log = logging.getLogger("leadbot.test")
    log.info("calling %s", "https://api.telegram.org/bot123456:AAE-secret_token/sendMessage",
             extra={"chat_count": 3})
    try:
        raise RuntimeError("token xoxb-1234-abcd leaked into an error")
    except RuntimeError:
        log.exception("delivery failed")
    lines = log_stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "info" and first["logger"] == "leadbot.test"
    assert first["message"] == "calling https://api.telegram.org/bot[redacted]/sendMessage"
    assert first["chat_count"] == 3
    assert "xoxb-1234" not in second["exception"] and "[redacted]" in second["exception"]
    assert "AAE-secret_token" not in log_stream.getvalue()


async def test_serving_a_conversation_logs_no_token_and_no_message_text(
    log_stream: io.StringIO, sqlite_url: str, fake_telegram: Any, serve_app: Any
) -> None:
    container = build(Settings(database_url=sqlite_url, telegram_bot_token=fake_telegram.token,
                               telegram_api_base_url=fake_telegram.base_url,
                               telegram_webhook_secret=SECRET))
    try:
        async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
            for update_id, text in enumerate(HOT, 1):
                response = await client.post("/telegram/webhook",
                                             json=text_update(update_id, 701, text),
                                             headers={SECRET_HEADER: SECRET})
                assert response.status_code == 200
            await fake_telegram.wait_for(lambda: len(fake_telegram.messages(701)) >= len(HOT),
                                         what="the replies")
    finally:
        container.close()
    output = log_stream.getvalue()
    assert output, "serve logs at INFO"
    for line in output.splitlines():
        json.loads(line)
    assert fake_telegram.token not in output
    assert SECRET not in output
    for text in ("accounting software", "ada@example.com", "Analytical Engines"):
        assert text not in output
