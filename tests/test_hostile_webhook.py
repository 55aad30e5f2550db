"""Hostile bodies at `POST /telegram/webhook`, on SQLite and PostgreSQL.

Every body below carries the right secret (the attacker has it, or a proxy mangled
a genuine update). Each is refused with a 4xx — never 500, never a 503 Telegram
would retry for ever — writes nothing, logs no traceback, and the bot still
answers a normal prospect afterwards.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from benchmarks.telegram_traffic import SECRET_HEADER, text_update
from bot.bootstrap import Container, build
from bot.settings import Settings
from tests.hostile import (
    assert_prospect_answered,
    changed_tables,
    deep_json,
    dumps,
    log_problems,
    settle_replies,
    snapshot,
)

SECRET = "hostile-webhook-secret"
WEBHOOK = "/telegram/webhook"


@pytest.fixture
def container(database_url: str, fake_telegram: Any) -> Iterator[Container]:
    built = build(Settings(database_url=database_url, telegram_bot_token=fake_telegram.token,
                           telegram_api_base_url=fake_telegram.base_url,
                           telegram_webhook_secret=SECRET))
    yield built
    built.close()


def _with(update: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `update` with the field at dotted `path` set (or removed, for `...`)."""
    result = copy.deepcopy(update)
    *parents, last = path.split(".")
    node = result
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return result


def _callback(update_id: int, chat_id: int, data: str, *, from_id: int | None = None) -> dict[str, Any]:
    message = text_update(update_id, chat_id, "Which sector?")["message"]
    message["from"] = {"id": 1234, "is_bot": True, "first_name": "Leadbot"}
    query: dict[str, Any] = {"id": f"q{update_id}", "chat_instance": "ci", "data": data,
                             "message": message,
                             "from": {"id": from_id or chat_id, "is_bot": False, "first_name": "Ada"}}
    return {"update_id": update_id, "callback_query": query}


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


BASE = text_update(7001, 7001, "hello")
REFUSED: list[tuple[str, bytes, int]] = [
    ("chat id is a string", dumps(_with(BASE, "message.chat.id", "abc")), 400),
    ("chat id is a float", dumps(_with(BASE, "message.chat.id", 7001.5)), 400),
    ("chat id is a boolean", dumps(_with(BASE, "message.chat.id", True)), 400),
    ("chat id too long for any column", dumps(_with(BASE, "message.chat.id", 10**30)), 400),
    ("sender id beyond 52 bits", dumps(_with(BASE, "message.from.id", 2**60)), 400),
    ("update id too long", dumps(_with(BASE, "update_id", 10**30)), 400),
    ("update id negative", dumps(_with(BASE, "update_id", -5)), 400),
    ("update id a string", dumps(_with(BASE, "update_id", "7")), 400),
    ("message without chat", dumps(_with(BASE, "message.chat", ...)), 400),
    ("chat is a number", dumps(_with(BASE, "message.chat", 5)), 400),
    ("text is a number", dumps(_with(BASE, "message.text", 12)), 400),
    ("text is a list", dumps(_with(BASE, "message.text", ["a"])), 400),
    ("text is an object", dumps(_with(BASE, "message.text", {"a": 1})), 400),
    ("text of a megabyte minus", dumps(_with(BASE, "message.text", "x" * 100_000)), 400),
    ("first name is a number", dumps(_with(BASE, "message.from.first_name", 5)), 400),
    ("is_bot is a string", dumps(_with(BASE, "message.from.is_bot", "no")), 400),
    ("callback without from", dumps(_with(_callback(7002, 7002, "a:sector:software"),
                                          "callback_query.from", ...)), 400),
    ("callback data is a number", dumps(_with(_callback(7003, 7003, "x"),
                                              "callback_query.data", 5)), 400),
    ("contact user id is a string", dumps(_with(BASE, "message.contact",
                                                {"phone_number": "+33", "user_id": "me"})), 400),
    ("entities is not a list", dumps(_with(BASE, "message.entities", "bot_command")), 400),
    ("100,000-deep JSON", deep_json(100_000), 400),
    ("deep object inside a real update",
     dumps(_with(BASE, "message.reply_markup", _nested(60))), 400),
    ("not JSON", b"{nope", 400),
    ("not UTF-8", b'{"update_id": 1, "x": "\xff"}', 400),
    ("a JSON array", b"[1, 2]", 400),
    ("JSON null", b"null", 400),
    ("empty body", b"", 400),
    ("update_id only as a boolean", dumps({"update_id": True}), 400),
]


async def test_hostile_updates_are_refused_with_4xx_and_change_nothing(
    container: Container, serve_app: Any, fake_telegram: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        before = snapshot(container)
        outcomes = []
        for name, body, status in REFUSED:
            response = await client.post(WEBHOOK, content=body, headers={
                SECRET_HEADER: SECRET, "Content-Type": "application/json"})
            outcomes.append((name, response.status_code, status))
        assert [o for o in outcomes if o[1] != o[2]] == []
        assert changed_tables(before, snapshot(container)) == []
        assert log_problems(caplog) == []
        await assert_prospect_answered(client, fake_telegram, secret=SECRET, chat_id=7100,
                                       update_id=7100)
    assert log_problems(caplog) == []


async def test_the_abc_update_cannot_stall_the_replies_of_others(
    container: Container, serve_app: Any, fake_telegram: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The red team's `"chat": {"id": "abc"}`: refused at the door, so no reply row is queued."""
    bad = _with(text_update(7200, 7200, "/start"), "message.chat.id", "abc")
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        refused = await client.post(WEBHOOK, json=bad, headers={SECRET_HEADER: SECRET})
        assert refused.status_code == 400
        assert "message.chat.id" in refused.json()["detail"]
        for chat_id in (7201, 7202, 7203):
            await assert_prospect_answered(client, fake_telegram, secret=SECRET,
                                           chat_id=chat_id, update_id=chat_id)
        metrics = (await client.get("/metrics")).text
    assert 'leadbot_updates_handled_total{outcome="rejected"} 1.0' in metrics
    with container.uow() as uow:
        assert uow.leads.by_chat("telegram", "abc") is None
    assert log_problems(caplog) == []


@pytest.mark.parametrize(("text", "stored"), [
    ("we sell\x00 software", "we sell\ufffd software"),
    ("accounting \ud800 software", "accounting \ufffd software"),
])
async def test_unstorable_characters_are_replaced_not_refused_or_retried(
    container: Container, serve_app: Any, fake_telegram: Any, caplog: pytest.LogCaptureFixture,
    text: str, stored: str,
) -> None:
    """PostgreSQL refuses NUL in text: the prospect's answer is kept with U+FFFD instead."""
    import json

    async with serve_app(container) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        for update_id, line in ((7301, "/start"), (7302, text)):
            body = json.dumps(text_update(update_id, 7300, line)).encode()
            response = await client.post(WEBHOOK, content=body, headers={
                SECRET_HEADER: SECRET, "Content-Type": "application/json"})
            assert response.status_code == 200
    with container.uow() as uow:
        lead = uow.leads.by_chat("telegram", "7300")
        assert lead is not None
        assert [a.raw_text for a in uow.answers.all_for(lead.id)] == [stored]
    assert log_problems(caplog) == []


async def test_a_callback_from_someone_else_than_the_chats_prospect_is_ignored(
    container: Container, serve_app: Any, fake_telegram: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        await assert_prospect_answered(client, fake_telegram, secret=SECRET, chat_id=7400,
                                       update_id=7400)
        await settle_replies(container, fake_telegram)
        before = snapshot(container)
        forged = _callback(7401, 7400, "a:sector:software", from_id=9999)
        response = await client.post(WEBHOOK, json=forged, headers={SECRET_HEADER: SECRET})
        assert response.status_code == 200  # acknowledged: Telegram must not retry it
        assert changed_tables(before, snapshot(container)) == []
    assert log_problems(caplog) == []


async def test_a_body_shorter_than_its_content_length_times_out(
    container: Container, serve_app: Any, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.web import telegram_webhook

    monkeypatch.setattr(telegram_webhook, "BODY_READ_TIMEOUT", 0.5)
    async with serve_app(container) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write((f"POST {WEBHOOK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      f"{SECRET_HEADER}: {SECRET}\r\nContent-Length: 1000\r\n\r\n"
                      '{"update_id": 1').encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=20)
        writer.close()
    assert status_line.startswith(b"HTTP/1.1 408")
    assert log_problems(caplog) == []
