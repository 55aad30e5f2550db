"""`leadbot run` killed with SIGKILL mid-conversation, then restarted against the same fake.

The conversation must continue where it was: no answer lost or recorded twice, no
question asked twice — including when the kill lands between the commit of an
answer and the send of the next question, and when messages arrive while the bot
is down. Then SIGTERM stops it cleanly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
CHAT = 4242
QUESTIONS = [
    "Which sector is your company in?",
    "How many people work at your company?",
    "What budget do you have in mind for this project?",
    "When would you like to get started?",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LeadbotRun:
    """`python -m bot.cli run` as a child process, pointed at the fake."""

    def __init__(self, fake: FakeTelegram, tmp_path: Path) -> None:
        self.fake = fake
        self.db_url = f"sqlite:///{tmp_path / 'run.db'}"
        self.log = tmp_path / "leadbot-run.log"
        self.env = {
            **os.environ,
            "TELEGRAM_API_BASE_URL": fake.base_url,
            "TELEGRAM_BOT_TOKEN": fake.token,
            "DATABASE_URL": self.db_url,
            "NO_PROXY": "127.0.0.1,localhost",
            "PORT": str(free_port()),  # `leadbot run` always serves the workspace on PORT
        }
        self.env.pop("SLACK_BOT_TOKEN", None)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        polls_before = len(self.fake.calls_of("getUpdates", outcome=None))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT,
            )
        # Ready once it long-polls (or has finished a poll: a pending update answers at once).
        self.fake.wait_for_sync(
            lambda: self.fake.polls_waiting > 0
            or len(self.fake.calls_of("getUpdates", outcome=None)) > polls_before
            or self.process is None or self.process.poll() is not None,
            what="leadbot run to start polling")
        assert self.process.poll() is None, self.log.read_text()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)

    def pending_replies(self) -> int:
        """Queued replies not yet recorded as delivered."""
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as db:
                return int(db.execute(text(
                    "SELECT count(*) FROM outbox WHERE kind = 'telegram' AND status = 'pending'"
                )).scalar() or 0)
        finally:
            engine.dispose()

    def answers(self) -> list[tuple[str, str | None]]:
        engine = create_engine(self.db_url)
        try:
            with engine.connect() as db:
                rows = db.execute(text(
                    "SELECT question_id, option_id FROM answers ORDER BY id")).all()
        finally:
            engine.dispose()
        return [(q, o) for q, o in rows]


@pytest.fixture
def leadbot_run(fake_telegram: FakeTelegram, tmp_path: Path) -> Iterator[LeadbotRun]:
    runner = LeadbotRun(fake_telegram, tmp_path)
    yield runner
    if runner.process is not None and runner.process.poll() is None:
        runner.process.kill()
        runner.process.wait(timeout=10)


def asked(fake: FakeTelegram, question: str) -> int:
    """How many bot messages ask `question` as one of their paragraphs (the first message reads
    'greeting\\n\\nprivacy\\n\\nquestion'; an answered one '…question\\n\\n✓ …')."""
    return sum(1 for t in fake.texts(CHAT) if question in t.split("\n\n"))


@pytest.mark.slow
def test_kill_dash_nine_mid_conversation_then_restart(
    fake_telegram: FakeTelegram, leadbot_run: LeadbotRun
) -> None:
    fake = fake_telegram
    leadbot_run.start()
    fake.send_text(CHAT, "/start")
    fake.wait_for_sync(lambda: asked(fake, QUESTIONS[0]) == 1, what="the first question")
    fake.tap(CHAT, "Software & SaaS")
    fake.wait_for_sync(lambda: asked(fake, QUESTIONS[1]) == 1, what="the second question")

    # 1. Killed while idle (every send recorded); the prospect answers while it is down.
    #    A kill between a send and its record would send that message again: Telegram
    #    has no idempotency key, so that window can be narrowed, not closed.
    fake.wait_for_sync(lambda: leadbot_run.pending_replies() == 0, what="the sends recorded")
    leadbot_run.kill()
    fake.tap(CHAT, "201–1000")
    leadbot_run.start()
    fake.wait_for_sync(lambda: asked(fake, QUESTIONS[2]) == 1, what="the third question")

    # 2. Killed after the answer committed but before the next question went out: the
    #    send hangs, the process dies, the queued reply is sent by the next process.
    fake.fail_next("sendMessage", kind="hang", hang_seconds=120)
    fake.tap(CHAT, "100 k€ or more")
    fake.wait_for_sync(lambda: fake.calls_of("sendMessage", outcome="hang") != [],
                       what="the send of the fourth question to start")
    leadbot_run.kill()
    assert asked(fake, QUESTIONS[3]) == 0
    leadbot_run.start()
    fake.wait_for_sync(lambda: asked(fake, QUESTIONS[3]) == 1, timeout=30,
                       what="the fourth question after the restart")
    fake.tap(CHAT, "Within a month")
    fake.wait_for_sync(lambda: any(t.startswith("Great fit!") for t in fake.texts(CHAT)),
                       what="the contact questions")

    assert leadbot_run.answers() == [
        ("sector", "software"), ("company_size", "large"), ("budget", "gt_100k"), ("urgency", "now"),
    ]
    assert [asked(fake, q) for q in QUESTIONS] == [1, 1, 1, 1], fake.transcript(CHAT)
    assert fake.dropped_pending == 0

    # 3. SIGTERM: finishes what it was doing and exits cleanly.
    assert leadbot_run.terminate() == 0, leadbot_run.log.read_text()
    assert fake.pending_updates() == 0
