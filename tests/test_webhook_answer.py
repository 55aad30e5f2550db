"""The Bot API call carried in the webhook's 200 answer, played the way Telegram plays it.

Telegram runs the method given as the JSON body of a webhook answer and reports
nothing back. Leadbot puts there only what needs no answer: acknowledging a tap
(answerCallbackQuery) and removing the keyboard of the question a typed answer just
answered (editMessageReplyMarkup). New messages still go through the outbox, so
their ids are known and their delivery recorded. The test plays Telegram: it posts
each update, then makes the call in the answer against the fake Bot API.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from benchmarks.telegram_traffic import SECRET_HEADER, text_update
from bot.bootstrap import Container, build
from bot.settings import Settings
from storage.models import OutboxMessage

SECRET = "s3cret-Token_for-tests"
WEBHOOK = "/telegram/webhook"
HEADERS = {SECRET_HEADER: SECRET}


@pytest.fixture
def container(sqlite_url: str, fake_telegram: Any) -> Iterator[Container]:
    built = build(Settings(
        database_url=sqlite_url, telegram_bot_token=fake_telegram.token,
        telegram_api_base_url=fake_telegram.base_url, telegram_webhook_secret=SECRET,
        telegram_webhook_url="https://bot.example.com/telegram/webhook",
    ))
    yield built
    built.close()


async def as_telegram(client: httpx.AsyncClient, fake: Any, update: dict[str, Any]) -> dict[str, Any] | None:
    """POST the update; run the call in the answer, if any, as Telegram would. Returns that call."""
    response = await client.post(WEBHOOK, json=update, headers=HEADERS)
    assert response.status_code == 200, response.text
    if not response.content:
        return None
    call: dict[str, Any] = response.json()
    params = {key: value for key, value in call.items() if key != "method"}
    async with httpx.AsyncClient() as telegram:
        made = await telegram.post(f"{fake.base_url}{fake.token}/{call['method']}", json=params)
    assert made.json()["ok"], made.text
    return call


async def start(client: httpx.AsyncClient, fake: Any, chat: int) -> Any:
    """/start in `chat` (nothing to carry in that answer); the first question, once it is shown."""
    assert await as_telegram(client, fake, text_update(1, chat, "/start")) is None
    await fake.wait_for(lambda: any(m.buttons() for m in fake.messages(chat)),
                        what="the first question with its buttons")
    return next(m for m in fake.messages(chat) if m.buttons())


def tap_update(update_id: int, chat_id: int, question: Any, data: str, query_id: str) -> dict[str, Any]:
    message = {"message_id": question.message_id, "date": int(time.time()),
               "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
               "from": {"id": 1, "is_bot": True, "first_name": "Leadbot"}, "text": question.text}
    return {"update_id": update_id, "callback_query": {
        "id": query_id, "chat_instance": f"ci{chat_id}", "data": data, "message": message,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Ada", "language_code": "en"}}}


def telegram_rows(container: Container, chat_id: int) -> list[tuple[str, dict[str, Any] | None]]:
    """(status, result) of the chat's outbox rows, oldest first."""
    with container.uow() as uow:
        rows = uow.session.execute(
            select(OutboxMessage.status, OutboxMessage.result)
            .where(OutboxMessage.destination == f"telegram:{chat_id}").order_by(OutboxMessage.id))
        return [(status, result) for status, result in rows]


async def test_a_typed_answer_strips_the_question_keyboard_in_the_webhook_answer(
    container: Container, serve_app: Any, fake_telegram: Any
) -> None:
    chat = 601
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        question = await start(client, fake_telegram, chat)
        call = await as_telegram(client, fake_telegram,
                                 text_update(2, chat, "we sell accounting software"))
        assert call == {"method": "editMessageReplyMarkup", "chat_id": chat,
                        "message_id": question.message_id}
        await fake_telegram.wait_for(
            lambda: "How many people" in (fake_telegram.texts(chat) or [""])[-1],
            what="the next question, sent through the outbox")
        await fake_telegram.wait_for(lambda: all(status == "delivered"
                                                 for status, _ in telegram_rows(container, chat)),
                                     what="the replies recorded as delivered")
    answered_question = next(m for m in fake_telegram.messages(chat)
                             if m.message_id == question.message_id)
    assert answered_question.buttons() == []
    # The keyboard went once, in the answer: the bot did not also remove it itself.
    assert len(fake_telegram.calls_of("editMessageReplyMarkup")) == 1
    size_question = fake_telegram.messages(chat)[-1]
    assert size_question.buttons(), "the new question keeps its buttons"
    _, answered = telegram_rows(container, chat)[-1]
    assert answered is not None
    assert answered["stripped"] == question.message_id
    assert answered["message_id"] == size_question.message_id


async def test_a_tap_is_acknowledged_in_the_webhook_answer(
    container: Container, serve_app: Any, fake_telegram: Any
) -> None:
    chat = 602
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        question = await start(client, fake_telegram, chat)
        button = question.buttons()[0]
        call = await as_telegram(client, fake_telegram,
                                 tap_update(2, chat, question, button["callback_data"], "q-77"))
        assert call == {"method": "answerCallbackQuery", "callback_query_id": "q-77"}
        await fake_telegram.wait_for(lambda: len(fake_telegram.calls_of("editMessageText")) == 1,
                                     what="the tapped question edited to show the answer")
    (acknowledged,) = fake_telegram.calls_of("answerCallbackQuery")
    assert acknowledged.params["callback_query_id"] == "q-77"  # made once: from the answer


async def test_a_tap_that_could_not_be_committed_is_still_acknowledged_through_the_api(
    container: Container, serve_app: Any, fake_telegram: Any
) -> None:
    chat = 603
    async with serve_app(container) as url, httpx.AsyncClient(base_url=url) as client:
        question = await start(client, fake_telegram, chat)
        with container.engine.begin() as connection:  # a real fault: the table is missing
            connection.exec_driver_sql("ALTER TABLE answers RENAME TO answers_gone")
        response = await client.post(WEBHOOK, headers=HEADERS, json=tap_update(
            2, chat, question, question.buttons()[0]["callback_data"], "q-78"))
        assert response.status_code in (422, 503)
        assert not response.content.startswith(b'{"method"')
        await fake_telegram.wait_for(lambda: len(fake_telegram.calls_of("answerCallbackQuery")) == 1,
                                     what="the tap acknowledged through the Bot API")
        with container.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE answers_gone RENAME TO answers")
