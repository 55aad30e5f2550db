"""The service: one message, one transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from bot.bootstrap import Container, build
from bot.console import ConsoleChat
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from conversations.exchange import Event, Inbound
from storage.models import Answer, Conversation, Lead, LeadEvent, OutboxMessage
from storage.unit_of_work import UnitOfWork

HOT = ["software", "about 120", "50k", "asap", "Ada Lovelace", "Analytical Engines",
       "ada@example.com", "skip"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def app(database_url: str) -> Iterator[Container]:
    container = build(Settings(database_url=database_url), clock=Clock())
    yield container
    container.close()


def send(app: Container, chat: str, text: str, message_id: str | None = None,
         outbound: str | None = None):  # type: ignore[no-untyped-def]
    return app.service.handle_message(
        ConversationKey("telegram", chat),
        Inbound.parse_text(text, first_name="Ada"),
        message_id=message_id,
        profile=Profile(first_name="Ada", username="ada_l", language_code="en"),
        outbound=outbound,
    )


def count(app: Container, model: type) -> int:
    with app.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_hot_lead_is_stored_scored_and_alerted_once(app: Container) -> None:
    send(app, "1", "/start newsletter")
    for text in HOT:
        send(app, "1", text)
    send(app, "1", "/restart")  # a second pass cannot alert twice
    for text in HOT:
        send(app, "1", text)
    with app.uow() as uow:
        lead = uow.leads.by_chat("telegram", "1")
        assert lead is not None
        assert (lead.stage, lead.temperature, lead.source) == ("sql", "hot", "newsletter")
        assert (lead.name, lead.company, lead.email) == ("Ada Lovelace", "Analytical Engines",
                                                        "ada@example.com")
        assert lead.score == 95 and lead.qualified_at is not None
        assert lead.username == "ada_l"
        current = uow.answers.current_for(lead.id)
        assert [a.question_id for a in current] == [
            "sector", "company_size", "budget", "urgency", "name", "company", "email", "phone"]
        assert current[0].raw_text == "software" and current[2].value_number == 50000
        alerts = uow.outbox.for_lead(lead.id, kind="slack_alert")
        assert len(alerts) == 1 and alerts[0].destination == "slack:default"
        assert alerts[0].dedupe_key == f"alert:{lead.id}:sql"
    assert count(app, Conversation) == 2


def test_cold_lead_gets_no_alert(app: Container) -> None:
    for text in ("/start", "school", "just me", "2000 euros", "just looking"):
        send(app, "2", text)
    with app.uow() as uow:
        lead = uow.leads.by_chat("telegram", "2")
        assert lead is not None and lead.stage == "disqualified"
        assert uow.outbox.for_lead(lead.id, kind="slack_alert") == []


def test_duplicate_message_id_is_ignored(app: Container) -> None:
    send(app, "3", "/start", message_id="100")
    first = send(app, "3", "software", message_id="101")
    again = send(app, "3", "software", message_id="101")
    assert not first.duplicate and again.duplicate and again.replies == ()
    assert count(app, Answer) == 1


def test_replies_go_to_the_outbox_in_the_same_transaction(app: Container) -> None:
    handled = send(app, "4", "/start", message_id="1", outbound="telegram")
    with app.uow() as uow:
        queued = [(m.destination, m.payload) for m in uow.outbox.pending(kinds=["telegram"])]
    assert [payload["text"] for _, payload in queued] == [r.text for r in handled.replies]
    assert {destination for destination, _ in queued} == {"telegram:4"}
    assert queued[-1][1]["choices"][0]["token"] == "a:sector:software"


def test_each_turn_is_one_queued_message_and_the_terminal_shows_the_same(app: Container) -> None:
    """/start and every typed answer of a hot lead: one reply queued per turn (the engine says
    greeting + question, and thanks + booking link, in two pieces each: sent as one)."""
    queued: list[int] = []
    for text in ["/start", *HOT]:
        before = len(telegram_rows(app))
        handled = send(app, "8", text, outbound="telegram")
        queued.append(len(telegram_rows(app)) - before)
        assert len(handled.replies) == queued[-1]
    assert queued == [1] * 9
    rows = telegram_rows(app)
    assert rows[0]["text"].startswith("Hi Ada!") and rows[0]["question_id"] == "sector"
    assert rows[0]["text"].endswith("\n\nWhich sector is your company in?")
    assert len(rows[0]["choices"]) == 8
    assert "sales team" in rows[-1]["text"] and "https://cal.com/" in rows[-1]["text"]

    shown: list[str] = []
    chat = ConsoleChat(service=app.service, uow_factory=app.uow,
                       key=ConversationKey("console", "8"),
                       profile=Profile(first_name="Ada", language_code="en"), write=shown.append)
    chat.start()
    chat.run(HOT)
    said = [line for line in shown if line.startswith("bot: ")]
    # The terminal's /start carries no first name: its greeting says "there".
    expected = [f"bot: {row['text']}".replace("Hi Ada!", "Hi there!") for row in rows]
    assert [line.split("\n   ")[0] for line in said] == expected  # one block per turn, as queued


def telegram_rows(app: Container) -> list[dict[str, Any]]:
    with app.uow() as uow:
        return [dict(m.payload) for m in uow.outbox.pending(kinds=["telegram"])]


def test_forget_erases_personal_data(app: Container) -> None:
    send(app, "5", "/start")
    for text in HOT:
        send(app, "5", text)
    send(app, "5", "/forget")
    handled = app.service.handle_message(
        ConversationKey("telegram", "5"), Inbound(kind="choice", choice="f:yes"),
        message_id=None, profile=Profile(), outbound="telegram",
    )
    assert handled.lead_id is None and "erased" in handled.replies[0].text
    assert count(app, Lead) == 0 and count(app, Answer) == 0
    assert count(app, Conversation) == 0
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(LeadEvent)
                                  .where(LeadEvent.lead_id.is_not(None))) == 0
        # the confirmation itself still goes out, and the erasure to the integrations
        # (webhooks, CRM) with no personal data; the erased alert does not
        left = [(m.kind, m.payload) for m in uow.session.scalars(select(OutboxMessage))]
    assert sorted(kind for kind, _ in left) == ["lead_event", "telegram"]
    [erased] = [payload for kind, payload in left if kind == "lead_event"]
    assert erased["type"] == "lead.erased" and erased["data"] == {}


def test_a_failure_mid_message_writes_nothing(database_url: str) -> None:
    def explode(uow: UnitOfWork, lead: Lead, events: Sequence[Event], now: datetime) -> None:
        if any(getattr(e, "question_id", None) == "budget" for e in events):
            raise RuntimeError("crash in the middle of the transaction")

    app = build(Settings(database_url=database_url), clock=Clock(), hooks=[explode])
    try:
        for text in ("/start", "software", "120"):
            send(app, "6", text, message_id=text)
        with pytest.raises(RuntimeError):
            send(app, "6", "50k", message_id="50k")
        assert count(app, Answer) == 2
        # the message id was not remembered either: a redelivery is processed
        with app.uow() as uow:
            assert not uow.processed.seen("telegram", "50k")
            state = uow.conversations.active_for(uow.leads.by_chat("telegram", "6").id).state  # type: ignore[union-attr]
        assert state["current"] == "budget"
    finally:
        app.close()


def test_chats_processed_concurrently_keep_each_chats_order(app: Container) -> None:
    errors: list[BaseException] = []

    def prospect(chat: str) -> None:
        try:
            for text in ["/start", *HOT]:
                send(app, chat, text, message_id=f"{chat}:{text}")
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=prospect, args=(str(100 + i),)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with app.uow() as uow:
        leads = uow.session.scalars(select(Lead)).all()
        assert len(leads) == 6 and all(lead.stage == "sql" for lead in leads)
        for lead in leads:
            assert [a.raw_text for a in uow.answers.current_for(lead.id)] == HOT


def test_same_chat_from_two_threads_loses_nothing(app: Container) -> None:
    """Two workers receiving the same chat's messages at once: serialised, none lost."""
    send(app, "7", "/start", message_id="s")
    texts = [f"not an answer {i}" for i in range(20)]
    barrier = threading.Barrier(2)

    def worker(part: list[str]) -> None:
        barrier.wait()
        for text in part:
            send(app, "7", text, message_id=text)

    threads = [threading.Thread(target=worker, args=(texts[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.uow() as uow:
        lead = uow.leads.by_chat("telegram", "7")
        assert lead is not None
        unmatched = uow.events.for_lead(lead.id, types=["answer_not_understood"])
        assert sorted(e.payload["text"] for e in unmatched) == sorted(texts)
        state = uow.conversations.active_for(lead.id).state  # type: ignore[union-attr]
    assert state["retries"] == 20


def test_default_script_path_is_bundled() -> None:
    assert Path(Settings().leadbot_script).name == "default.yaml"


@pytest.mark.postgres
def test_two_first_messages_of_a_new_chat_at_once_make_one_lead(postgres_url: str) -> None:
    """The second message's INSERT of the lead waits for the first's transaction, then
    finds the lead created (no row returned) and carries on with it, locked, and with
    the conversation the first one started."""
    first_inserted, waited = threading.Event(), threading.Event()

    def hold_the_first(uow: UnitOfWork, lead: Any, events: Sequence[Event], now: Any) -> None:
        if first_inserted.is_set():
            return
        first_inserted.set()
        # Commit only once the other message waits on this transaction's lead. (Autocommit:
        # in one transaction, pg_stat_activity would show the same snapshot every time.)
        with psycopg.connect(postgres_url.replace("+psycopg", ""), autocommit=True) as watcher:
            for _ in range(200):
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'").fetchone()
                if waiting is not None and waiting[0]:
                    waited.set()
                    return
                time.sleep(0.05)

    settings = Settings(database_url=postgres_url, database_concurrency=2)
    app = build(settings, clock=Clock(), hooks=(hold_the_first,))
    handled: dict[str, Any] = {}

    def first() -> None:
        handled["first"] = send(app, "9", "/start", message_id="a")

    thread = threading.Thread(target=first)
    try:
        thread.start()
        assert first_inserted.wait(10)
        handled["second"] = send(app, "9", "software", message_id="b")
        thread.join()
        assert waited.is_set()  # the second did wait in the lead's INSERT
        assert handled["first"].lead_id == handled["second"].lead_id is not None
        with app.uow() as uow:
            assert uow.session.scalar(select(func.count()).select_from(Lead)) == 1
            conversations = uow.session.scalars(select(Conversation)).all()
            assert len(conversations) == 1 and conversations[0].active
            answers = uow.answers.current_for(handled["first"].lead_id)
            assert [a.raw_text for a in answers] == ["software"]
    finally:
        thread.join()
        app.close()
