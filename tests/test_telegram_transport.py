"""PTB's Bot over Leadbot's aiohttp backend: what reaches the server, and errors PTB knows.

A small aiohttp server on 127.0.0.1 plays the Bot API; the client is a real
`telegram.Bot` with `AiohttpRequest`, so PTB's own layers (parameters, JSON
answers, status codes to exceptions) run on top of the backend under test.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut

from bot.telegram.transport import AiohttpRequest
from tests.fakes.local_bot_api import serving_bot_api

TOKEN = "123:ABC"
# do_api_request on purpose, as the Telegram sender calls it.
pytestmark = pytest.mark.filterwarnings("ignore:Please use 'Bot")


class BotApi:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, Any]]] = []
        self.answer: tuple[int, dict[str, Any]] | None = None
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        content_type = request.content_type
        if content_type == "multipart/form-data":
            fields: dict[str, Any] = {}
            async for part in await request.multipart():
                fields[part.name or ""] = (part.filename, await part.read())  # type: ignore[union-attr]
        else:
            fields = dict(await request.post())
        self.seen.append((method, content_type, fields))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answer is not None:
            status, body = self.answer
            return web.json_response(body, status=status)
        return web.json_response({"ok": True, "result": {"message_id": 7, "date": 0,
                                                         "chat": {"id": 1, "type": "private"}}})


@pytest.fixture
async def api() -> AsyncIterator[tuple[BotApi, str]]:
    fake = BotApi()
    async with serving_bot_api(TOKEN, fake.handle) as base_url:
        yield fake, base_url


async def _bot(base_url: str, **timeouts: float) -> Bot:
    bot = Bot(TOKEN, base_url=base_url, request=AiohttpRequest(**timeouts))
    await bot.request.initialize()  # type: ignore[attr-defined]
    return bot


async def test_a_call_sends_form_encoded_json_values_and_reads_the_answer(
    api: tuple[BotApi, str],
) -> None:
    fake, base_url = api
    bot = await _bot(base_url)
    try:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes & no", callback_data="a:1")]])
        answer = await bot.do_api_request(
            "sendMessage", api_kwargs={"chat_id": 1, "text": "<b>Hi</b> é", "reply_markup": markup})
        assert answer["message_id"] == 7
        method, content_type, fields = fake.seen[-1]
        assert (method, content_type) == ("sendMessage", "application/x-www-form-urlencoded")
        assert fields["chat_id"] == "1" and fields["text"] == "<b>Hi</b> é"
        assert json.loads(fields["reply_markup"]) == {
            "inline_keyboard": [[{"text": "Yes & no", "callback_data": "a:1"}]]}
    finally:
        await bot.request.shutdown()  # type: ignore[attr-defined]


async def test_a_file_goes_as_multipart(api: tuple[BotApi, str]) -> None:
    fake, base_url = api
    bot = await _bot(base_url)
    try:
        await bot.send_document(1, InputFile(b"a,b\n1,2\n", filename="leads.csv"), caption="x")
        method, content_type, fields = fake.seen[-1]
        assert (method, content_type) == ("sendDocument", "multipart/form-data")
        assert fields["document"] == ("leads.csv", b"a,b\n1,2\n")
        assert fields["caption"] == (None, b"x")
    finally:
        await bot.request.shutdown()  # type: ignore[attr-defined]


async def test_telegram_errors_become_ptb_exceptions(api: tuple[BotApi, str]) -> None:
    fake, base_url = api
    bot = await _bot(base_url)
    try:
        fake.answer = (429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                             "parameters": {"retry_after": 3}})
        with pytest.raises(RetryAfter):
            await bot.do_api_request("sendMessage", api_kwargs={"chat_id": 1, "text": "x"})
        fake.answer = (403, {"ok": False, "error_code": 403,
                             "description": "Forbidden: bot was blocked by the user"})
        with pytest.raises(Forbidden):
            await bot.do_api_request("sendMessage", api_kwargs={"chat_id": 1, "text": "x"})
    finally:
        await bot.request.shutdown()  # type: ignore[attr-defined]


async def test_a_slow_answer_times_out(api: tuple[BotApi, str]) -> None:
    fake, base_url = api
    fake.delay = 2.0
    bot = await _bot(base_url, read_timeout=0.2)
    try:
        with pytest.raises(TimedOut):
            await bot.do_api_request("sendMessage", api_kwargs={"chat_id": 1, "text": "x"})
    finally:
        await bot.request.shutdown()  # type: ignore[attr-defined]


async def test_nobody_listening_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    bot = await _bot(f"http://127.0.0.1:{port}/bot")
    try:
        with pytest.raises(NetworkError) as caught:
            await bot.do_api_request("sendMessage", api_kwargs={"chat_id": 1, "text": "x"})
        assert not isinstance(caught.value, TimedOut)
    finally:
        await bot.request.shutdown()  # type: ignore[attr-defined]


async def test_a_call_before_initialize_says_so() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:9/bot/x", "POST")
