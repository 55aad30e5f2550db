"""A lean fake Bot API for the reply-path benchmark: answers every method, notes when each reply arrives.

Runs inside the load generator's event loop, so the generator can see a reply the
moment it reaches "Telegram". It speaks just enough HTTP/1.1 (keep-alive,
Content-Length bodies, form or JSON parameters) for python-telegram-bot's httpx
client, and answers `sendMessage` / `editMessageText` with a Message PTB can build.
Its CPU is the generator's, never counted as the bots'. For bots that poll, it holds
the updates the generator offers and long-polls getUpdates as Telegram does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

Arrival = Callable[[int, str, float], None]  # chat_id, method, perf_counter time

BOT_USER = {"id": 123, "is_bot": True, "first_name": "Bench", "username": "bench_bot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False}
_REPLY_METHODS = frozenset({"sendmessage", "editmessagetext"})


def _param(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def api_result(method: str, params: dict[str, Any], message_ids: itertools.count[int]) -> Any:
    """What the Bot API answers to `method` (True for anything without a richer answer)."""
    name = method.lower()
    if name == "getme":
        return BOT_USER
    if name in _REPLY_METHODS:
        chat_id = int(params.get("chat_id", 0))
        return {"message_id": params.get("message_id") or next(message_ids),
                "date": int(time.time()), "from": BOT_USER,
                "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
                "text": str(params.get("text", ""))}
    if name == "getwebhookinfo":
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
    return True


class FakeBotApi:
    """`async with FakeBotApi(on_reply) as api:` then point the bot at `api.base_url`."""

    def __init__(self, on_reply: Arrival) -> None:
        self._on_reply = on_reply
        self._server: asyncio.Server | None = None
        self._ids = itertools.count(1)
        self.calls: dict[str, int] = {}
        self.port = 0
        # Long polling: updates offered by the generator, handed out by getUpdates until
        # an offset confirms them (update_ids numbered here, in arrival order, as
        # Telegram numbers them).
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self._connections: set[asyncio.Task[None]] = set()

    def offer(self, update: dict[str, Any]) -> None:
        """An update for the bot's next getUpdates (its update_id is replaced)."""
        self._updates.append({**update, "update_id": next(self._update_ids)})
        self._arrived.set()

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        wait = min(float(params.get("timeout") or 0), 30.0)
        deadline = time.perf_counter() + wait
        while not self._updates:
            left = deadline - time.perf_counter()
            if left <= 0:
                return []
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout=left)
            except TimeoutError:
                return []
        return self._updates[:int(params.get("limit") or 100)]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def __aenter__(self) -> FakeBotApi:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0, backlog=512)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
        # Long polls still waiting: end them here, not in asyncio.run's clean-up.
        for task in self._connections:
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)

    def handle(self, method: str, params: dict[str, Any], at: float) -> Any:
        """Record a call (from HTTP, or from a webhook answer the generator executes)."""
        self.calls[method] = self.calls.get(method, 0) + 1
        if method.lower() in _REPLY_METHODS:
            self._on_reply(int(params.get("chat_id", 0)), method, at)
        return api_result(method, params, self._ids)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                at = time.perf_counter()
                method = path.rsplit("/", 1)[-1].split("?", 1)[0]
                params: dict[str, Any] = {}
                if headers.get("content-type", "").startswith("application/json") and body:
                    params = json.loads(body)
                elif body:
                    params = {k: _param(v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)}
                if method.lower() == "getupdates":
                    self.calls[method] = self.calls.get(method, 0) + 1
                    result = await self._get_updates(params)
                else:
                    result = self.handle(method, params, at)
                answer = json.dumps({"ok": True, "result": result}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            pass
        except asyncio.CancelledError:
            # Closed by __aexit__. Ending normally: on Python 3.11, asyncio's stream
            # callback logs a traceback for a connection task that ends cancelled.
            pass
        finally:
            writer.close()
