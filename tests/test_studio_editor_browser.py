"""The script editor in Chromium, as a marketer uses it: edit, check, preview, replay, publish.

Publishing is checked end to end: a real `leadbot run` process, on the same database,
talks to the fake Telegram Bot API, and a prospect who starts a chat after the publish
gets the new wording within the reload interval; after a rollback, the old one again.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import Container
from bot.service import ConversationKey, Profile
from conversations.exchange import Inbound
from tests.fakes.telegram_api import FakeTelegram
from tests.studio_browser import (  # noqa: F401  (pytest fixtures)
    StudioServer,
    browser,
    requires_chromium,
    screenshot,
    studio_page,
    studio_server,
)

pytestmark = [requires_chromium, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
OLD_FR = "Dans quel secteur est votre entreprise ?"
NEW_FR = "Quel est votre secteur d'activité ?"


def seed_conversations(container: Container, answers: dict[str, list[str]]) -> None:
    """Prospects who started a chat and typed these answers (through the real service)."""
    for chat, texts in answers.items():
        key = ConversationKey("telegram", chat)
        profile = Profile(first_name="Pat")
        container.service.handle_message(
            key, Inbound(kind="command", command="start", language_code="en"),
            message_id=None, profile=profile)
        for text in texts:
            container.service.handle_message(key, Inbound.parse_text(text), message_id=None,
                                             profile=profile)


def test_fix_a_french_wording_and_add_a_synonym_in_the_form(
        studio_page: Any, studio_server: StudioServer) -> None:
    page = studio_page("marketer")
    page.goto(studio_server.url + "/studio/script")
    french = page.get_by_label("fr", exact=True).first
    assert french.input_value() == OLD_FR
    french.fill(NEW_FR)
    french.press("Enter")
    page.locator("#form-view[data-revision='2']").wait_for()
    chip = page.get_by_label("Add a synonym to software (fr)")
    chip.fill("éditeur de progiciels")
    chip.press("Enter")
    page.get_by_role("status").filter(has_text="“éditeur de progiciels” added").wait_for()
    assert page.get_by_role("list", name="Synonyms of software in fr").get_by_text(
        "éditeur de progiciels").is_visible()
    screenshot(page, "script-form")
    page.reload()  # the draft is in the database, not in the page
    assert page.get_by_label("fr", exact=True).first.input_value() == NEW_FR
    # Remove the chip again: one click.
    page.get_by_role("button", name="Remove synonym éditeur de progiciels").click()
    page.wait_for_function(
        "() => !document.body.innerText.includes('éditeur de progiciels')")


def test_a_broken_yaml_line_shows_a_problem_until_it_is_repaired(
        studio_page: Any, studio_server: StudioServer) -> None:
    page = studio_page("marketer")
    page.goto(studio_server.url + "/studio/script?view=yaml")
    page.locator(".CodeMirror").wait_for()
    problems = page.locator("#problem-list")
    assert "No problems" in problems.inner_text()
    line = page.evaluate("""() => {
        const cm = window.studioEditor;
        for (let i = 0; i < cm.lineCount(); i++) {
            if (cm.getLine(i) === '    type: choice') return i;
        }
        return -1;
    }""")
    assert line > 0
    # Type the mistake as a person would: put the cursor at the end of the line, erase, retype.
    page.evaluate(f"() => {{ const cm = window.studioEditor; cm.focus(); "
                  f"cm.setCursor({{line: {line}, ch: 16}}); }}")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.type("se")
    page.get_by_text("unknown question type 'choise'").wait_for()
    assert f"line {line + 1}" in problems.inner_text()
    page.locator(".CodeMirror-lint-marker-error").first.wait_for()
    screenshot(page, "script-yaml")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.type("ce")
    page.get_by_text("No problems: the draft can be published.").wait_for()
    assert "choise" not in problems.inner_text()


def test_chat_with_the_draft_until_sql_markup_stays_text(
        studio_page: Any, studio_server: StudioServer) -> None:
    page = studio_page("marketer")
    page.goto(studio_server.url + "/studio/preview")
    page.get_by_role("button", name="Software & SaaS").click()
    page.locator("#chat-standing").get_by_text("ENGAGED").wait_for()
    box = page.get_by_label("Message as the prospect")
    for text in ("about 120 people", "50k", "asap", "<b>Ada</b> <script>alert(1)</script>",
                 "Analytical Engines", "ada@example.com"):
        box.fill(text)
        box.press("Enter")
        page.locator(".msg.me").filter(has_text=text).wait_for()
    page.get_by_role("button", name="Skip").click()
    card = page.get_by_label("The Slack alert sales would get")
    card.wait_for()
    assert "Qualified lead: <b>Ada</b> <script>alert(1)</script> — Analytical Engines" in (
        card.inner_text())
    assert page.locator(".msg.me script, .slack-card script, .msg.me b").count() == 0
    assert "SQL" in page.locator("#chat-standing").inner_text()
    screenshot(page, "preview")
    phone = studio_page("marketer", phone=True)
    phone.goto(studio_server.url + "/studio/preview")
    screenshot(phone, "preview-phone")
    # The language switch: /lang fr, then the next question comes in French.
    page.get_by_role("button", name="Restart (en)").click()
    page.locator("#chat-standing").get_by_text("No answer yet.").wait_for()
    box = page.get_by_label("Message as the prospect")
    box.fill("/lang fr")
    box.press("Enter")
    page.locator(".msg.bot").filter(has_text=OLD_FR).wait_for()


def test_replay_then_map_an_unmatched_answer_in_the_inbox(
        studio_page: Any, studio_server: StudioServer) -> None:
    seed_conversations(studio_server.container, {
        "1": ["quantum widgets"], "2": ["quantum widgets"], "3": ["software", "<img src=x>"]})
    page = studio_page("marketer")
    page.goto(studio_server.url + "/studio/inbox")
    row = page.get_by_role("row").filter(has_text="quantum widgets")
    assert row.get_by_role("cell").nth(1).inner_text() == "2"
    assert page.get_by_text("<img src=x>").count() >= 1  # shown as text, not an image
    assert page.locator("main img").count() == 0
    screenshot(page, "inbox")
    row.get_by_label("Option for “quantum widgets”").select_option("manufacturing")
    row.get_by_role("button", name="Map").click()
    page.get_by_text("it covers 2 past unmatched answers").wait_for()
    page.goto(studio_server.url + "/studio/versions")
    page.get_by_role("button", name="What would change?").click()
    totals = page.locator(".replay-totals")
    totals.wait_for()
    page.get_by_text("Replayed 3 stored conversations").wait_for()
    assert "+2 / −0" in totals.inner_text()  # the two "quantum widgets" answers now understood
    screenshot(page, "versions-replay")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LeadbotRun:
    """`leadbot run` as a child process on the workspace's database, polling the fake."""

    def __init__(self, fake: FakeTelegram, database_url: str, log: Path) -> None:
        self.log = log
        self.env = {**os.environ, "TELEGRAM_API_BASE_URL": fake.base_url,
                    "TELEGRAM_BOT_TOKEN": fake.token, "DATABASE_URL": database_url,
                    "LEADBOT_SCRIPT_RELOAD_SECONDS": "1", "NO_PROXY": "127.0.0.1,localhost",
                    "PORT": str(_free_port())}
        for name in ("SLACK_BOT_TOKEN", "LEADBOT_SCRIPT"):
            self.env.pop(name, None)
        with log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT,
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def leadbot_run(fake_telegram: FakeTelegram, studio_server: StudioServer,
                tmp_path: Path) -> Iterator[LeadbotRun]:
    url = studio_server.container.settings.database_url
    runner = LeadbotRun(fake_telegram, url, tmp_path / "leadbot-run.log")
    yield runner
    runner.stop()
    print(runner.log.read_text())  # shown by pytest when the test failed


_CHATS = iter(range(1000, 2000))


def first_question(fake: FakeTelegram) -> str:
    """A new prospect (French phone) starts a chat: the sector question they are asked."""
    chat = next(_CHATS)
    fake.send_text(chat, "/start", language_code="fr")
    fake.wait_for_sync(lambda: any("secteur" in t for t in fake.texts(chat)), timeout=60,
                       what=f"the sector question in chat {chat}")
    # One message per turn: the greeting and privacy notice come first, the question last.
    return next(t for t in fake.texts(chat) if "secteur" in t).split("\n\n")[-1]


def wording_reaches_telegram(fake: FakeTelegram, wording: str) -> None:
    """New prospects keep arriving until one is asked `wording` (the reload takes ~1 s)."""
    fake.wait_for_sync(lambda: first_question(fake) == wording, timeout=60,
                       what=f"{wording!r} asked on Telegram")


def test_publish_reaches_a_running_bot_then_roll_back(
        studio_page: Any, studio_server: StudioServer, fake_telegram: FakeTelegram,
        leadbot_run: LeadbotRun) -> None:
    assert first_question(fake_telegram) == OLD_FR
    page = studio_page("marketer")
    page.goto(studio_server.url + "/studio/script")
    french = page.get_by_label("fr", exact=True).first
    french.fill(NEW_FR)
    french.press("Enter")
    page.locator("#form-view[data-revision='2']").wait_for()
    page.goto(studio_server.url + "/studio/versions")
    assert page.get_by_text(NEW_FR).count() >= 1  # the change is listed before publishing
    page.get_by_label("Note (what changed and why)").fill("plainer French")
    page.get_by_role("button", name="Publish the draft").click()
    page.get_by_text("Published version 2.").wait_for()
    screenshot(page, "versions")
    wording_reaches_telegram(fake_telegram, NEW_FR)
    page.get_by_role("button", name="Roll back to 1").click()
    page.get_by_text("version 1 is served again").wait_for()
    wording_reaches_telegram(fake_telegram, OLD_FR)
    assert leadbot_run.process.poll() is None, leadbot_run.log.read_text()
