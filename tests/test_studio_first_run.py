"""`leadbot run` without a Telegram token: it serves the workspace, prints its URL, creates the
first admin once with a one-time password, and says how to connect Telegram."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.studio_support import csrf_from
from tests.test_telegram_restart import ROOT, free_port


def _start(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "LEADBOT_SECRET_KEY")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'first.db'}", PORT=str(port),
               NO_PROXY="127.0.0.1,localhost")
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _lines_until_url(process: subprocess.Popen[str], timeout: float = 60) -> list[str]:
    """stdout lines up to and including the workspace's URL."""
    assert process.stdout is not None
    lines: list[str] = []
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if "/studio/" in line:
                return lines
    process.kill()
    raise AssertionError(f"no workspace URL printed; stdout {lines}, "
                         f"stderr {process.stderr.read() if process.stderr else ''}")


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


def test_first_run_without_a_token_opens_the_workspace(tmp_path: Path) -> None:
    port = free_port()
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False)
    process = _start(tmp_path, port)
    try:
        lines = _lines_until_url(process)
        assert lines[-1] == f"leadbot: workspace at http://localhost:{port}/studio/ (Ctrl+C to stop)"
        assert any("TELEGRAM_BOT_TOKEN" in line and "@BotFather" in line for line in lines)
        [admin] = [line for line in lines if "one-time password" in line]
        password = re.search(r"one-time password (\S+)", admin)
        assert password and "admin@localhost" in admin
        assert http.get("/").headers["location"] == "/studio/"
        opened = http.get("/studio/")
        assert opened.status_code == 302 and opened.headers["location"].startswith(
            "/studio/login")
        form = http.get("/studio/login")
        signed = http.post("/studio/login", data={
            "email": "admin@localhost", "password": password.group(1),
            "csrf_token": csrf_from(form.text), "next": "/studio/"})
        assert signed.status_code == 303
        # The one-time password must be replaced before anything else.
        assert http.get("/studio/funnel").headers["location"] == "/studio/account/password"
        assert http.get("/metrics").status_code == 200  # unaffected by the workspace
    finally:
        assert _stop(process) == 0

    again = _start(tmp_path, port)
    try:
        lines = _lines_until_url(again)
        assert not any("one-time password" in line for line in lines)  # printed once only
        # The signing key was stored on the first start: the session survives a restart.
        assert http.get("/studio/account/password").status_code == 200
    finally:
        http.close()
        assert _stop(again) == 0
