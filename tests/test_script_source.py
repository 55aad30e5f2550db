"""Publishing a script without a restart; a broken one never replaces a working one."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.bootstrap import build
from bot.script_source import ScriptSource
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from conversations.exchange import Inbound
from tests.transcripts import DEFAULT_PATH

OLD = "Which sector is your company in?"
NEW = "What does your company do?"


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def publish(path: Path, text: str, *, bump: int) -> None:
    path.write_text(text)
    stat = path.stat()  # a distinct mtime even on coarse file-system clocks
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))


def test_changes_are_picked_up_and_broken_versions_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "script.yaml"
    original = DEFAULT_PATH.read_text()
    path.write_text(original)
    ticks = Ticks()
    source = ScriptSource(path, interval=2.0, monotonic=ticks)
    first = source.current()

    publish(path, original.replace(OLD, NEW), bump=1)
    assert source.current() is first  # not checked again before the interval
    ticks.now = 2.0
    second = source.current()
    assert second.version != first.version
    assert second.script.question("sector").ask.get("en", "en") == NEW

    publish(path, original.replace("type: number", "type: numbr"), bump=2)
    ticks.now = 4.0
    with caplog.at_level(logging.ERROR):
        assert source.current() is second  # the broken file is not used
        ticks.now = 6.0
        assert source.current() is second
    errors = [r for r in caplog.records if "has 1 error(s)" in r.getMessage()]
    assert len(errors) == 1  # logged once per version of the file, not on every check
    assert "unknown question type 'numbr'" in errors[0].getMessage()

    publish(path, original, bump=3)
    ticks.now = 8.0
    assert source.current().version == first.version


def test_a_conversation_goes_on_with_the_published_script(tmp_path: Path) -> None:
    path = tmp_path / "script.yaml"
    original = DEFAULT_PATH.read_text()
    path.write_text(original)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                        leadbot_script_reload_seconds=0)  # check the file on every message
    app = build(settings, script_path=path)
    key, profile = ConversationKey("console", "p"), Profile(first_name="Ada")
    try:
        first = app.service.handle_message(key, Inbound.parse_text("/start"), message_id=None,
                                           profile=profile)
        assert first.replies[-1].text == OLD
        publish(path, original.replace("How many people work at your company?",
                                       "How big is your team?"), bump=1)
        second = app.service.handle_message(key, Inbound.parse_text("software"),
                                            message_id=None, profile=profile)
        assert second.replies[-1].text == "How big is your team?"
        with app.uow() as uow:
            lead = uow.leads.by_chat("console", "p")
            assert lead is not None and [a.option_id for a in uow.answers.current_for(lead.id)] \
                == ["software"]
    finally:
        app.close()
