"""`POST /telegram/webhook` of `leadbot serve`, against the fake Bot API.

The secret header gates everything: without it (or with a wrong one) the answer is
403 and the database stays empty. With it, the 200 comes only after the update is
committed, a redelivered update is recorded once, and hostile bodies are refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from benchmarks.telegram_traffic import SECRET_HEADER, text_update
from bot.bootstrap import Container, build
from bot.settings import Settings
from storage.models import Answer, Lead, LeadEvent, OutboxMessage, ProcessedMessage

SECRET = "s3cret-Token_for-tests"
WEBHOOK = "/telegram/webhook"


@pytest.fixture
def container(sqlite_url: str, fake_telegram: Any) -> Iterator[Container]:
    built = build(Settings(
        database_url=sqlite_url, telegram_bot_token=fake_telegram.token,
        telegram_api_base_url=fake_telegram.base_url, telegram_webhook_secret=SECRET,
        telegram_webhook_url="https://bot.example.com/telegram/webhook",
    ))
    yield built
    built.close()


def row_counts(container: Container) -> dict[str, int]:
    with container.uow() as uow:
        return {model.__tablename__: uow.session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Lead, Answer, LeadEvent, OutboxMessage, ProcessedMessage)}


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"},
                                     {SECRET_HEADER: ""}])
async def test_missing_or_wrong_secret_is_403_and_writes_nothing(
    container: Container, serve_app: Any, fake_telegram: Any, headers: dict[str, str]
) -> None:
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.post(WEBHOOK, json=text_update(1, 501, "/start"), headers=headers)
        assert response.status_code == 403
    assert row_counts(container) == {"leads": 0, "answers": 0, "events": 0, "outbox": 0,
                                     "processed_messages": 0}
    assert fake_telegram.messages(501) == []


async def test_the_webhook_answers_only_posts_and_leaves_the_other_routes_alone(
    container: Container, serve_app: Any
) -> None:
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        got = await client.get(WEBHOOK, headers={SECRET_HEADER: SECRET})
        assert got.status_code == 405 and got.headers["allow"] == "POST"
        assert (await client.get("/healthz")).status_code == 200
        elsewhere = await client.post(WEBHOOK + "/x", json=text_update(2, 502, "/start"),
                                      headers={SECRET_HEADER: SECRET})
        assert elsewhere.status_code == 404
        answered = await client.post(WEBHOOK, json=text_update(3, 503, "/start"),
                                     headers={SECRET_HEADER: SECRET})
        assert (answered.status_code, answered.content) == (200, b"")
        assert answered.headers["content-length"] == "0"
    assert row_counts(container)["processed_messages"] == 1


async def test_registers_the_webhook_with_secret_updates_and_connections(
    container: Container, serve_app: Any, fake_telegram: Any
) -> None:
    async with serve_app(container):
        pass
    (call,) = fake_telegram.calls_of("setWebhook")
    assert call.params["url"] == "https://bot.example.com/telegram/webhook"
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert call.params["max_connections"] == 40


async def test_an_update_is_committed_before_the_200_and_a_redelivery_counts_once(
    container: Container, serve_app: Any, fake_telegram: Any
) -> None:
    headers = {SECRET_HEADER: SECRET}
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        for update_id, text in ((1, "/start"), (2, "we sell accounting software")):
            response = await client.post(WEBHOOK, json=text_update(update_id, 502, text),
                                         headers=headers)
            assert response.status_code == 200
        # Committed by the time of the 200: the answer is there already.
        with container.uow() as uow:
            lead = uow.leads.by_chat("telegram", "502")
            assert lead is not None
            assert [a.option_id for a in uow.answers.all_for(lead.id)] == ["software"]
        again = await client.post(WEBHOOK, json=text_update(2, 502, "we sell accounting software"),
                                  headers=headers)
        assert again.status_code == 200
        # One message per turn: the opening (greeting + question), then the next question.
        await fake_telegram.wait_for(lambda: len(fake_telegram.messages(502)) >= 2,
                                     what="the replies to be delivered")
    with container.uow() as uow:
        lead = uow.leads.by_chat("telegram", "502")
        assert lead is not None
        assert len(uow.answers.all_for(lead.id)) == 1
    assert "How many people work at your company?" in fake_telegram.texts(502)[-1]


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b"x" * (1024 * 1024 + 1), "application/json", 413),
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (json.dumps({"update_id": "7"}).encode(), "application/json", 400),
    (json.dumps({"update_id": 7, "message": {"chat": 5}}).encode(), "application/json", 400),
])
async def test_hostile_bodies_are_refused(
    container: Container, serve_app: Any, body: bytes, content_type: str, status: int
) -> None:
    headers = {SECRET_HEADER: SECRET, "Content-Type": content_type}
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.post(WEBHOOK, content=body, headers=headers)
        assert response.status_code == status
    assert row_counts(container)["processed_messages"] == 0


async def test_a_chunked_body_over_the_limit_is_refused(container: Container, serve_app: Any) -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b" " * 65536  # no Content-Length: the limit must hold while streaming

    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.post(WEBHOOK, content=chunks(), headers={SECRET_HEADER: SECRET})
        assert response.status_code == 413


async def test_an_update_that_cannot_be_committed_gets_a_5xx_so_telegram_retries(
    container: Container, serve_app: Any
) -> None:
    def rename(old: str, new: str) -> None:  # a real database fault: the table is missing
        with container.engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")

    headers = {SECRET_HEADER: SECRET}
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        rename("processed_messages", "processed_messages_away")
        response = await client.post(WEBHOOK, json=text_update(9, 503, "/start"), headers=headers)
        assert response.status_code == 503
        rename("processed_messages_away", "processed_messages")
        retried = await client.post(WEBHOOK, json=text_update(9, 503, "/start"), headers=headers)
        assert retried.status_code == 200
    assert row_counts(container)["processed_messages"] == 1
    assert row_counts(container)["leads"] == 1


def test_serve_refuses_to_start_without_a_webhook_secret(sqlite_url: str, fake_telegram: Any) -> None:
    from bot.runtime import ServeOptions, StartupError, build_web_parts

    container = build(Settings(database_url=sqlite_url, telegram_bot_token=fake_telegram.token,
                               telegram_api_base_url=fake_telegram.base_url))
    try:
        with pytest.raises(StartupError, match="TELEGRAM_WEBHOOK_SECRET"):
            build_web_parts(container, ServeOptions())
    finally:
        container.close()
