"""A sender that died on this host is taken over at once; across hosts its lease runs out.

`leadbot run` killed with SIGKILL and restarted straight away answers the next
message within 2 s, instead of waiting for the dead process's sender lease (15 s).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.bootstrap import build
from bot.outbox.holders import holder_is_dead_here
from bot.settings import Settings
from bot.telegram.application import TelegramRuntime
from bot.telegram.delivery import SENDER_LEASE
from tests.fakes.telegram_api import FakeTelegram
from tests.test_telegram_restart import QUESTIONS, LeadbotRun, asked


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_holder_is_dead_only_when_it_ran_here_and_its_pid_is_gone() -> None:
    here = socket.gethostname()
    assert holder_is_dead_here(f"{here}:{dead_pid()}:abcd")
    assert not holder_is_dead_here(f"{here}:{os.getppid()}:abcd")  # alive
    assert not holder_is_dead_here(f"{here}:{os.getpid()}:abcd")  # ourselves
    assert not holder_is_dead_here(f"elsewhere-{here}:{dead_pid()}:abcd")  # another host
    for garbage in ("", "nohost", f"{here}:x1:abcd", f"{here}:٤٢:abcd"):
        assert not holder_is_dead_here(garbage)


def _hold_for(container: Any, holder: str) -> None:
    with container.uow() as uow:
        assert uow.leases.hold(SENDER_LEASE, holder, now=datetime.now(UTC),
                               ttl=timedelta(seconds=60))
        uow.commit()


@pytest.mark.parametrize("host_differs", [False, True], ids=["same host", "other host"])
async def test_a_dead_holder_on_this_host_is_taken_over_at_once(
    sqlite_url: str, telegram_options: Any, host_differs: bool
) -> None:
    container = build(Settings(database_url=sqlite_url))
    host = socket.gethostname() + ("-elsewhere" if host_differs else "")
    _hold_for(container, f"{host}:{dead_pid()}:deadbeef")
    with FakeTelegram() as fake:
        runtime = TelegramRuntime(token=fake.token, base_url=fake.base_url,
                                  service=container.service, uow_factory=container.uow,
                                  clock=container.clock,
                                  options=replace(telegram_options, register_commands=False))
        await runtime.start()
        try:
            deadline = asyncio.get_running_loop().time() + 10
            while not runtime.delivery.sending and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
                if host_differs and asyncio.get_running_loop().time() > deadline - 8:
                    break  # two seconds of lease checks are enough to see it wait
            # Across hosts nothing tells the holder is dead: its 60 s lease stands.
            assert runtime.delivery.sending is not host_differs
        finally:
            await runtime.stop()
    container.close()


def sender(run: LeadbotRun) -> str:
    """Who holds the Telegram sender lease ("" when nobody)."""
    engine = create_engine(run.db_url)
    try:
        with engine.connect() as db:
            holder = db.execute(text("SELECT holder FROM leases WHERE name = :name"),
                                {"name": SENDER_LEASE}).scalar()
    finally:
        engine.dispose()
    return str(holder or "")


@pytest.mark.slow
def test_after_kill_dash_nine_and_a_restart_the_next_reply_goes_out_within_2_s(
    fake_telegram: FakeTelegram, tmp_path: Any
) -> None:
    run = LeadbotRun(fake_telegram, tmp_path)
    fake = fake_telegram
    try:
        run.start()
        fake.send_text(4242, "/start")
        fake.wait_for_sync(lambda: asked(fake, QUESTIONS[0]) == 1, what="the first question")
        fake.wait_for_sync(lambda: run.pending_replies() == 0, what="the sends recorded")
        run.kill()  # holds the sender lease for 15 more seconds
        run.start()
        assert run.process is not None
        # Its start-up (imports, getMe) is not what is timed: from its first lease check on.
        fake.wait_for_sync(lambda: f":{run.process.pid}:" in sender(run), timeout=90,  # type: ignore[union-attr]
                           what="the new process to hold the sender lease")
        started = time.monotonic()
        fake.tap(4242, "Software & SaaS")
        fake.wait_for_sync(lambda: asked(fake, QUESTIONS[1]) == 1, timeout=15,
                           what="the second question after the restart")
        took = time.monotonic() - started
        assert took < 2.0, f"the reply took {took:.1f} s: the dead sender was waited for"
        assert run.terminate() == 0
    finally:
        if run.process is not None and run.process.poll() is None:
            run.process.kill()
            run.process.wait(timeout=10)
