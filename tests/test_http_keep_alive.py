"""An idle HTTP connection stays open well past uvicorn's 5 s default.

Telegram (or the proxy in front of Leadbot) reuses its connections; an update sent on
a connection just as the server closes it for idleness fails and is delivered again
later, so a chat whose prospect paused for a few seconds waited for the retry.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from bot.bootstrap import build
from bot.runtime import KEEP_ALIVE_SECONDS
from bot.settings import Settings

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: leadbot\r\n\r\n"


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    writer.write(REQUEST)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    await reader.readexactly(length)
    return head.split(b"\r\n")[0]


async def test_a_connection_idle_for_seven_seconds_is_still_open(
    sqlite_url: str, serve_app: Any
) -> None:
    assert KEEP_ALIVE_SECONDS >= 60
    container = build(Settings(database_url=sqlite_url))
    try:
        async with serve_app(container) as url:
            parts = urlsplit(url)
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            try:
                assert await _get(reader, writer) == b"HTTP/1.1 200 OK"
                await asyncio.sleep(7)  # uvicorn's default would have closed it after 5
                assert await _get(reader, writer) == b"HTTP/1.1 200 OK"
            finally:
                writer.close()
    finally:
        container.close()
