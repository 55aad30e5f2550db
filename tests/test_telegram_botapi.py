"""The outbox's lean Bot API client against a Bot API played on 127.0.0.1.

What reaches the server (a JSON body), what comes back (the answer's `result`), and
Telegram's refusals raised as the very exceptions python-telegram-bot raises for the
same answer: each error case is also sent through PTB's own request layer
(`BaseRequest.post` over Leadbot's aiohttp backend) and the two must agree.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from telegram.error import (
    ChatMigrated,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.outbox.worker import Delivered, Failed, RetryLater
from bot.telegram.botapi import BotApiClient, endpoint_url
from bot.telegram.delivery import TelegramJob, TelegramSender, retry_after
from bot.telegram.pacing import ChatPacer, PacingPolicy
from bot.telegram.render import SendText
from bot.telegram.transport import AiohttpRequest
from tests.fakes.local_bot_api import serving_bot_api

TOKEN = "123:ABC"
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class BotApi:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bytes]] = []
        self.answer: tuple[int, bytes] | None = None
        self.delay = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.match_info["method"], request.content_type, await request.read()))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.answer is not None:
            status, body = self.answer
            return web.Response(status=status, body=body, content_type="application/json")
        return web.json_response({"ok": True, "result": {"message_id": 7, "date": 0,
                                                         "chat": {"id": 1, "type": "private"}}})

    def json_sent(self) -> dict[str, Any]:
        return json.loads(self.seen[-1][2])  # type: ignore[no-any-return]


@pytest.fixture
async def api() -> AsyncIterator[tuple[BotApi, str]]:
    fake = BotApi()
    async with serving_bot_api(TOKEN, fake.handle) as base_url:
        yield fake, base_url


@pytest.fixture
async def client(api: tuple[BotApi, str]) -> AsyncIterator[BotApiClient]:
    lean = BotApiClient(token=TOKEN, base_url=api[1], overall_per_second=1000)
    await lean.start()
    yield lean
    await lean.close()


async def test_a_call_sends_one_json_body_and_returns_the_result(
    api: tuple[BotApi, str], client: BotApiClient,
) -> None:
    fake, _ = api
    markup = {"inline_keyboard": [[{"text": "Yes & no", "callback_data": "a:1"}]]}
    answer = await client.call("sendMessage", {"chat_id": 1, "text": "<b>Hi</b> é — ok",
                                               "parse_mode": "HTML", "reply_markup": markup})
    assert answer == {"message_id": 7, "date": 0, "chat": {"id": 1, "type": "private"}}
    method, content_type, _ = fake.seen[-1]
    assert (method, content_type) == ("sendMessage", "application/json")
    assert fake.json_sent() == {"chat_id": 1, "text": "<b>Hi</b> é — ok", "parse_mode": "HTML",
                                "reply_markup": markup}


async def test_the_first_call_opens_the_session_in_a_process_that_only_sends(
    api: tuple[BotApi, str],
) -> None:
    lean = BotApiClient(token=TOKEN, base_url=api[1])
    try:
        assert (await lean.call("sendMessage", {"chat_id": 1, "text": "x"}))["message_id"] == 7
    finally:
        await lean.close()


def test_the_endpoint_is_built_as_ptb_builds_it() -> None:
    assert endpoint_url("https://api.telegram.org/bot", TOKEN) == f"https://api.telegram.org/bot{TOKEN}"
    assert endpoint_url("http://proxy/{token}/test", TOKEN) == f"http://proxy/{TOKEN}/test"


ANSWERS: list[tuple[int, Any]] = [
    (429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
           "parameters": {"retry_after": 3}}),
    (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded",
           "parameters": {"migrate_to_chat_id": -1001234}}),
    (400, {"ok": False, "error_code": 400, "description": "Bad Request: odd",
           "parameters": {"something_new": 1}}),
    (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
    (404, {"ok": False, "error_code": 404, "description": "Not Found"}),
    (409, {"ok": False, "error_code": 409, "description": "Conflict: terminated by other request"}),
    (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
    (502, b"<html>Bad Gateway</html>"),
    (599, b""),
    (200, b"not json"),
]


@pytest.mark.parametrize(("status", "body"), ANSWERS,
                         ids=[f"{s}-{i}" for i, (s, _) in enumerate(ANSWERS)])
async def test_each_refusal_is_the_exception_ptb_raises_for_it(
    api: tuple[BotApi, str], client: BotApiClient, status: int, body: Any,
) -> None:
    fake, base_url = api
    fake.answer = (status, body if isinstance(body, bytes) else json.dumps(body).encode())
    params = {"chat_id": 1, "text": "x"}
    with pytest.raises(TelegramError) as ours:
        await client.call("sendMessage", params)
    ptb_request = AiohttpRequest()
    await ptb_request.initialize()
    try:
        with pytest.raises(TelegramError) as theirs:
            await ptb_request.post(f"{base_url}{TOKEN}/sendMessage", request_data=RequestData(
                [RequestParameter.from_input(k, v) for k, v in params.items()]))
    finally:
        await ptb_request.shutdown()
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)
    assert (ours.value.__cause__ is None) == (theirs.value.__cause__ is None)
    if isinstance(ours.value, RetryAfter):
        assert retry_after(ours.value) == timedelta(seconds=3)
    if isinstance(ours.value, ChatMigrated):
        assert ours.value.new_chat_id == -1001234


async def test_a_slow_answer_times_out(api: tuple[BotApi, str]) -> None:
    fake, base_url = api
    fake.delay = 2.0
    lean = BotApiClient(token=TOKEN, base_url=base_url, timeout=0.2)
    try:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await lean.call("sendMessage", {"chat_id": 1, "text": "x"})
        assert time.monotonic() - started < 1.5
    finally:
        await lean.close()


async def test_nobody_listening_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    lean = BotApiClient(token=TOKEN, base_url=f"http://127.0.0.1:{port}/bot")
    try:
        with pytest.raises(NetworkError) as caught:
            await lean.call("sendMessage", {"chat_id": 1, "text": "x"})
        assert not isinstance(caught.value, TimedOut)
    finally:
        await lean.close()


async def test_calls_keep_the_overall_pace(api: tuple[BotApi, str]) -> None:
    fake, base_url = api
    lean = BotApiClient(token=TOKEN, base_url=base_url, overall_per_second=10)
    try:
        started = time.monotonic()
        # Ten at once (the bucket is full), then one every 0.1 s.
        await asyncio.gather(*(lean.call("sendMessage", {"chat_id": n, "text": "x"})
                               for n in range(20)))
        assert time.monotonic() - started >= 0.8
        assert len(fake.seen) == 20
    finally:
        await lean.close()


async def test_a_group_chat_gets_twenty_messages_a_minute(
    api: tuple[BotApi, str], client: BotApiClient,
) -> None:
    fake, _ = api
    calls = [asyncio.ensure_future(client.call("sendMessage", {"chat_id": -100, "text": "x"}))
             for _ in range(22)]
    await client.call("sendMessage", {"chat_id": 5, "text": "a private chat is not held up"})
    await asyncio.sleep(0.5)
    assert sum(1 for method, _, body in fake.seen if json.loads(body)["chat_id"] == -100) == 20
    assert sum(call.done() for call in calls) == 20
    for call in calls:
        call.cancel()
    await asyncio.gather(*calls, return_exceptions=True)


async def test_the_sender_turns_answers_into_outcomes(
    api: tuple[BotApi, str], client: BotApiClient,
) -> None:
    fake, _ = api
    sender = TelegramSender(api=client, pacer=ChatPacer(PacingPolicy(per_second=1000, burst=10)))
    job = TelegramJob(row_id=1, chat_id=42, operations=(SendText("<b>Hi</b>", "Hi"),))

    assert await sender.send(job) == Delivered({"message_id": 7, "text": "Hi"})
    assert fake.json_sent() == {"chat_id": 42, "text": "<b>Hi</b>", "parse_mode": "HTML",
                                "link_preview_options": {"is_disabled": True}}

    def answer(status: int, description: str, **parameters: int) -> None:
        body = {"ok": False, "error_code": status, "description": description,
                **({"parameters": parameters} if parameters else {})}
        fake.answer = (status, json.dumps(body).encode())

    answer(429, "Too Many Requests: retry after 4", retry_after=4)
    outcome = await sender.send(job)
    assert isinstance(outcome, RetryLater) and outcome.delay == 4.0
    answer(403, "Forbidden: bot was blocked by the user")
    assert await sender.send(job) == Failed("Forbidden: Forbidden: bot was blocked by the user")
    answer(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-1009)
    outcome = await sender.send(job)
    assert isinstance(outcome, Failed) and outcome.error.startswith("ChatMigrated")
    answer(400, "Bad Request: message text is empty")
    assert await sender.send(job) == Failed("BadRequest: Message text is empty")
    answer(502, "Bad Gateway")
    assert await sender.send(job) == RetryLater("NetworkError: Bad Gateway")
