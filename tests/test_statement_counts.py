"""The statements each kind of message runs, pinned on SQLite and PostgreSQL.

Each statement of the reply path costs ~10 µs of Python besides the database's own
work, so one more is a regression even when the behaviour stays right: these lists
name each statement (verb and table) so a failure shows which one came or went.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event

from bot.bootstrap import Container, build
from bot.service import ConversationKey, Handled, Profile
from bot.settings import Settings
from conversations.exchange import Inbound
from tests.lifecycle_helpers import Clock

# What a message runs, by kind. SQLite: the whole transaction, BEGIN to COMMIT (the
# trace sees them); PostgreSQL: the statements sent on a cursor (psycopg begins and
# commits without one), the message id and the chat read in one ("WITH fresh"), the
# conversation's state saved with the lead ("WITH saved_state").
EXPECTED: dict[str, dict[str, list[str]]] = {
    "sqlite": {
        "/start of a new chat": [
            "BEGIN IMMEDIATE", "INSERT processed_messages", "SELECT leads", "INSERT leads",
            "INSERT conversations", "INSERT events", "INSERT outbox", "UPDATE leads", "COMMIT",
        ],
        "a typed answer": [
            "BEGIN IMMEDIATE", "INSERT processed_messages", "SELECT leads", "INSERT answers",
            "INSERT outbox", "UPDATE conversations", "UPDATE leads", "COMMIT",
        ],
        "a tap": [  # two replies: the tapped question confirmed, the next one asked
            "BEGIN IMMEDIATE", "INSERT processed_messages", "SELECT leads", "INSERT answers",
            "INSERT outbox", "INSERT outbox", "UPDATE conversations", "UPDATE leads", "COMMIT",
        ],
        "/restart": [
            "BEGIN IMMEDIATE", "INSERT processed_messages", "SELECT leads",
            "UPDATE conversations", "INSERT conversations", "INSERT events", "INSERT outbox",
            "UPDATE leads", "COMMIT",
        ],
        "a duplicate delivery": ["BEGIN IMMEDIATE", "INSERT processed_messages", "ROLLBACK"],
    },
    "postgresql": {
        "/start of a new chat": [
            "WITH fresh", "SELECT leads", "INSERT leads", "INSERT conversations",
            "INSERT events", "INSERT outbox", "UPDATE leads",
        ],
        "a typed answer": ["WITH fresh", "INSERT answers", "INSERT outbox", "WITH saved_state"],
        "a tap": [
            "WITH fresh", "INSERT answers", "INSERT outbox", "INSERT outbox", "WITH saved_state",
        ],
        "/restart": [
            "WITH fresh", "UPDATE conversations", "INSERT conversations", "INSERT events",
            "INSERT outbox", "UPDATE leads",
        ],
        "a duplicate delivery": ["WITH fresh"],
    },
}


@pytest.fixture
def app(database_url: str) -> Iterator[Container]:
    # No check for a newer script during the test: it would add its own transaction.
    settings = Settings(database_url=database_url, leadbot_script_reload_seconds=3600)
    container = build(settings, clock=Clock())
    yield container
    container.close()


def traced(engine: Engine) -> list[str]:
    """The SQL of every statement run from now on by the engine's connections."""
    statements: list[str] = []
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def trace_sqlite(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.set_trace_callback(statements.append)
    else:
        class TracedCursor(psycopg.Cursor[Any]):
            def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
                statements.append(str(query))
                return super().execute(query, params, **options)

        @event.listens_for(engine, "connect")
        def trace_postgres(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.cursor_factory = TracedCursor
    engine.dispose()  # the pooled connections were made untraced
    return statements


def head(sql: str) -> str:
    """A statement as its verb and table ("INSERT outbox"), or its CTE's name."""
    words = sql.replace("(", " ").split()
    verb = words[0].upper()
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    if verb == "UPDATE":
        return f"UPDATE {words[1]}"
    if verb == "SELECT":
        return f"SELECT {words[words.index('FROM') + 1]}"
    if verb == "WITH":
        return f"WITH {words[1]}"
    return " ".join(words)


def test_head_names_verb_and_table() -> None:
    assert head("INSERT INTO outbox (kind) VALUES (?)") == "INSERT outbox"
    assert head("UPDATE leads SET x=1 WHERE id = 2") == "UPDATE leads"
    assert head("SELECT leads.id FROM leads LEFT OUTER JOIN conversations ON 1") == "SELECT leads"
    assert head("WITH fresh AS (INSERT INTO processed_messages …) SELECT 1") == "WITH fresh"
    assert head("BEGIN IMMEDIATE") == "BEGIN IMMEDIATE"


def test_each_kind_of_message_runs_the_statements_it_needs_and_no_more(
    app: Container,
) -> None:
    statements = traced(app.engine)
    ran: dict[str, list[str]] = {}

    def message(kind: str, inbound: Inbound, message_id: str, chat: str = "42") -> Handled:
        statements.clear()
        handled = app.service.handle_message(
            ConversationKey("telegram", chat), inbound, message_id=message_id,
            profile=Profile(first_name="Ada", language_code="en"), outbound="telegram")
        ran[kind] = [head(sql) for sql in statements]
        return handled

    message("(another chat first: the process's first message checks for a new script)",
            Inbound.parse_text("/start"), "warm-up", chat="41")
    message("/start of a new chat", Inbound.parse_text("/start"), "1")
    message("(first answer, which also changes the stage)", Inbound.parse_text("school"), "2")
    typed = message("a typed answer", Inbound.parse_text("just me"), "3")
    assert [event.type for event in typed.events] == ["answer_recorded"]
    assert typed.replies[0].question_id == "budget"
    tapped = message("a tap", Inbound(kind="choice", choice="a:budget:lt_5k"), "4")
    assert [event.type for event in tapped.events] == ["answer_recorded"]
    message("/restart", Inbound.parse_text("/restart"), "5")
    assert message("a duplicate delivery", Inbound.parse_text("/restart"), "5").duplicate

    expected = EXPECTED[app.engine.dialect.name]
    assert {kind: ran[kind] for kind in expected} == expected
