"""The script served comes from the database; LEADBOT_SCRIPT is imported when it changes.

A broken file never replaces a working script, and a version published from the CLI
survives a restart: the file wins only when it changes again.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.bootstrap import build
from bot.lifecycle.api import ScriptLifecycle
from bot.lifecycle.source import DatabaseScriptSource
from bot.service import ConversationKey, Profile
from bot.settings import DEFAULT_SCRIPT, Settings
from conversations.exchange import Inbound
from storage import migrate
from storage.database import create_database_engine, create_session_factory
from storage.unit_of_work import UnitOfWork
from tests.transcripts import DEFAULT_PATH

OLD = "Which sector is your company in?"
NEW = "What does your company do?"


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def save(path: Path, text: str, *, bump: int) -> None:
    path.write_text(text)
    stat = path.stat()  # a distinct mtime even on coarse file-system clocks
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))


def sector_question(source: DatabaseScriptSource) -> str:
    return source.current().script.question("sector").ask.get("en", "en")


def test_file_changes_are_published_and_broken_versions_ignored(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "script.yaml"
    original = DEFAULT_PATH.read_text()
    path.write_text(original)
    engine = create_database_engine(database_url)
    migrate.upgrade(engine)
    factory = create_session_factory(engine)
    lifecycle = ScriptLifecycle(factory)
    ticks = Ticks()

    def source() -> DatabaseScriptSource:
        made = DatabaseScriptSource(lifecycle, lambda: UnitOfWork(factory), file=path,
                                    bundled=DEFAULT_SCRIPT, interval=2.0, monotonic=ticks)
        made.start()
        return made

    try:
        served = source()
        first = served.current()
        assert [v.author for v in lifecycle.list_versions()] == [f"file:{path.resolve()}"]

        save(path, original.replace(OLD, NEW), bump=1)
        assert served.current() is first  # not checked again before the interval
        ticks.now = 2.0
        assert sector_question(served) == NEW
        assert len(lifecycle.list_versions()) == 2

        save(path, original.replace("type: number", "type: numbr"), bump=2)
        ticks.now = 4.0
        with caplog.at_level(logging.ERROR):
            assert sector_question(served) == NEW  # the broken file is not used
            ticks.now = 6.0
            assert sector_question(served) == NEW
        errors = [r for r in caplog.records if "has 1 error(s)" in r.getMessage()]
        assert len(errors) == 1  # logged once per version of the file, not on every check
        assert "unknown question type 'numbr'" in errors[0].getMessage()
        assert len(lifecycle.list_versions()) == 2

        # Published from the CLI: a restart with the unchanged file does not undo it.
        save(path, original.replace(OLD, NEW), bump=3)
        ticks.now = 8.0
        sector_question(served)
        lifecycle.publish(original.replace(OLD, "Your sector?"), author="ada", note="shorter")
        ticks.now = 10.0
        assert sector_question(served) == "Your sector?"
        assert sector_question(source()) == "Your sector?"  # a restart
        assert len(lifecycle.list_versions()) == 3

        # The file wins when it changes again.
        save(path, original, bump=4)
        assert sector_question(source()) == OLD
        assert lifecycle.list_versions()[0].author == f"file:{path.resolve()}"
    finally:
        engine.dispose()


def test_a_new_database_starts_with_the_bundled_script_once(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    for _ in range(2):
        app = build(settings)
        try:
            versions = app.lifecycle.list_versions()
            assert [(v.number, v.author, v.active) for v in versions] == [(1, "bundled", True)]
        finally:
            app.close()


def test_a_conversation_goes_on_with_the_published_script(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                        leadbot_script_reload_seconds=0)  # check on every message
    app = build(settings)
    key, profile = ConversationKey("console", "p"), Profile(first_name="Ada")
    original = DEFAULT_PATH.read_text()
    try:
        first = app.service.handle_message(key, Inbound.parse_text("/start"), message_id=None,
                                           profile=profile)
        [opening] = first.replies  # greeting, privacy notice and question: one message
        assert opening.question_id == "sector" and opening.text.endswith(f"\n\n{OLD}")
        app.lifecycle.publish(original.replace("How many people work at your company?",
                                               "How big is your team?"), author="ada")
        second = app.service.handle_message(key, Inbound.parse_text("software"),
                                            message_id=None, profile=profile)
        assert second.replies[-1].text == "How big is your team?"
        with app.uow() as uow:
            lead = uow.leads.by_chat("console", "p")
            assert lead is not None and [a.option_id for a in uow.answers.current_for(lead.id)] \
                == ["software"]
            conversation = uow.conversations.active_for(lead.id)
            assert conversation is not None and conversation.version_number == 1
    finally:
        app.close()
