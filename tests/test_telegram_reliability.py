"""Faults and load on the Telegram channel: duplicates, 429, 5xx, hangs, many chats at once,
and parity with the terminal chat (`leadbot chat`)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.settings import DEFAULT_SCRIPT
from conversations.loader import load_script
from conversations.simulation import simulate

PROFILES: list[dict[str, str]] = [
    {"sector": "software", "company_size": "about 300 people", "budget": "150k", "urgency": "asap"},
    {"sector": "bank", "company_size": "80", "budget": "30k", "urgency": "in 2 months"},
    {"sector": "school", "company_size": "5", "budget": "2000", "urgency": "just looking"},
    {"sector": "hospital", "company_size": "40 people", "budget": "no idea", "urgency": "next year"},
    {"sector": "factory", "company_size": "1500", "budget": "10k", "urgency": "in 6 months"},
]


async def test_a_duplicate_update_is_recorded_once(telegram_bot: Any) -> None:
    fake = telegram_bot.fake
    ana = telegram_bot.prospect(201)
    await ana.say("/start")
    await ana.tap("Software & SaaS")
    tap = ana.last_update_id
    await ana.say("about 300 people")
    typed = ana.last_update_id
    sent = fake.texts(201)

    for update_id in (tap, typed):
        fake.redeliver(update_id)
        await telegram_bot.settle()

    assert fake.texts(201) == sent  # nothing answered twice
    assert telegram_bot.answers(201) == [("sector", "software"), ("company_size", "large")]
    with telegram_bot.container.uow() as uow:
        assert len(uow.answers.all_for(telegram_bot.lead(201).id)) == 2


async def test_a_429_is_honoured_and_the_message_delivered_after_the_wait(telegram_bot: Any) -> None:
    fake = telegram_bot.fake
    fake.fail_next("sendMessage", kind="429", retry_after=1)
    [opening] = await telegram_bot.prospect(202).say("/start")  # greeting and question: one message
    assert opening.startswith("Hi Ada!") and opening.endswith("\n\nWhich sector is your company in?")
    limited, first_ok = fake.calls_of("sendMessage", outcome=None)[:2]
    assert (limited.outcome, first_ok.outcome) == ("429", "ok")
    assert first_ok.at - limited.at >= 1.0  # waited as told, then delivered
    assert first_ok.params["text"] == limited.params["text"]  # the same message, not skipped


async def test_5xx_answers_are_retried_in_order(telegram_bot: Any) -> None:
    fake = telegram_bot.fake
    fake.fail_next("sendMessage", times=2, kind="5xx", status=502)
    [opening] = await telegram_bot.prospect(203).say("/start")
    assert opening.startswith("Hi Ada!") and opening.endswith("\n\nWhich sector is your company in?")
    outcomes = [c.outcome for c in fake.calls_of("sendMessage", outcome=None)]
    assert outcomes[:3] == ["5xx", "5xx", "ok"]


async def test_get_updates_errors_do_not_lose_messages(telegram_bot: Any) -> None:
    fake = telegram_bot.fake
    fake.fail_next("getUpdates", times=2, kind="5xx", status=500)
    [opening] = await telegram_bot.prospect(204).say("/start")
    assert opening.endswith("\n\nWhich sector is your company in?")


async def test_a_get_updates_answer_that_is_not_a_list_is_retried(telegram_bot: Any) -> None:
    fake = telegram_bot.fake
    fake.fail_next("getUpdates", times=2, kind="garbled")
    [opening] = await telegram_bot.prospect(205).say("/start")
    assert opening.endswith("\n\nWhich sector is your company in?")
    assert [c.outcome for c in fake.calls_of("getUpdates", outcome=None)][:2] == [
        "garbled", "garbled"]


async def test_a_polled_update_of_the_wrong_shape_is_skipped_and_confirmed(
    telegram_bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    fake = telegram_bot.fake
    forged = fake.push_update({"message": {
        "message_id": 1, "date": 0, "chat": {"id": "206", "type": "private"},
        "from": {"id": 206, "is_bot": False, "first_name": "Eve"}, "text": "/start"}})
    with caplog.at_level(logging.WARNING, logger="bot.telegram.update_model"):
        [opening] = await telegram_bot.prospect(207).say("/start")
        assert opening.endswith("\n\nWhich sector is your company in?")
        await asyncio.to_thread(fake.wait_for_sync, lambda: fake.pending_updates() == 0,
                                what="the forged update to be confirmed")
    assert f"update {forged} skipped: message.chat.id" in caplog.text
    assert fake.texts(206) == []


class TestHangingApi:
    @pytest.fixture
    def telegram_options(self) -> Any:
        from bot.telegram.application import TelegramOptions
        from bot.telegram.delivery import DeliveryPolicy
        from bot.telegram.pacing import PacingPolicy

        return TelegramOptions(poll_timeout=5, pacing=PacingPolicy(200.0, 50),
                               delivery=DeliveryPolicy(first_backoff=0.1), request_timeout=0.5)

    async def test_a_send_that_hangs_past_the_timeout_is_retried(self, telegram_bot: Any) -> None:
        fake = telegram_bot.fake
        fake.fail_next("sendMessage", kind="hang", hang_seconds=5)
        opening = await telegram_bot.prospect(205).say("/start")
        assert opening[0].startswith("Hi Ada!") and len(opening) == 1  # greeting + question
        assert [c.outcome for c in fake.calls_of("sendMessage", outcome=None)][:2] == ["hang", "ok"]


async def test_fifty_prospects_interleaved_each_in_order(telegram_bot: Any) -> None:
    fake = telegram_bot.fake
    script = load_script(DEFAULT_SCRIPT).script
    chats = {3000 + i: PROFILES[i % len(PROFILES)] for i in range(50)}
    # Every prospect fires all its messages at once; 250 updates from 50 chats arrive
    # interleaved, so one chat's answers only land in order if the bot keeps it so.
    for step in ["/start", "sector", "company_size", "budget", "urgency"]:
        for chat_id, profile in chats.items():
            fake.send_text(chat_id, step if step.startswith("/") else profile[step],
                           first_name=f"P{chat_id}")
    await telegram_bot.settle(timeout=60)

    for chat_id, profile in chats.items():
        expected = simulate(script, profile)
        answers = telegram_bot.answers(chat_id)
        assert answers[:4] == [(q, expected.state.answers[q].option_id)
                               for q in ("sector", "company_size", "budget", "urgency")], chat_id
        assert telegram_bot.lead(chat_id).stage == expected.stage, (chat_id, fake.transcript(chat_id))


async def test_telegram_and_leadbot_chat_reach_the_same_result(
    telegram_bot: Any, tmp_path: Path
) -> None:
    answers = ["/start", "we sell accounting software", "about 120", "50k", "asap",
               "Grace Hopper", "Cobol Inc", "grace@cobol.example", "skip"]
    prospect = telegram_bot.prospect(206, first_name="Grace")
    for line in answers:
        await prospect.say(line)
    lead = telegram_bot.lead(206)
    telegram = _outcome(telegram_bot.container.settings.database_url, "telegram")

    console_db = f"sqlite:///{tmp_path / 'console.db'}"
    env = {**os.environ, "DATABASE_URL": console_db}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("SLACK_BOT_TOKEN", None)
    # In a thread: the bot under test shares this event loop.
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.cli", "chat", "--chat-id", "grace"],
        input="\n".join(answers[1:]) + "\n", capture_output=True, text=True, env=env, timeout=60,
        cwd=Path(__file__).resolve().parent.parent, check=False,
    )
    assert result.returncode == 0, result.stderr
    console = _outcome(console_db, "console")

    assert telegram == console
    assert telegram["lead"][0] == lead.stage == "sql"


def _outcome(url: str, channel: str) -> dict[str, Any]:
    """Answers, score and stage of the channel's single lead, straight from the tables."""
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            lead = db.execute(text(
                "SELECT stage, temperature, score, fit, intent, name, company, email, phone, id "
                "FROM leads WHERE channel = :c"), {"c": channel}).one()
            answers = db.execute(text(
                "SELECT question_id, option_id, raw_text, value_number, value_text FROM answers "
                "WHERE lead_id = :l AND superseded = :f ORDER BY id"), {"l": lead[-1], "f": False}).all()
    finally:
        engine.dispose()
    return {"lead": tuple(lead[:-1]), "answers": [tuple(a) for a in answers]}


def test_profiles_cover_several_stages() -> None:
    script = load_script(DEFAULT_SCRIPT).script
    stages = {simulate(script, profile).stage for profile in PROFILES}
    assert len(stages) >= 3, stages
    assert json.dumps(PROFILES)  # plain data, reusable by other channels' tests
