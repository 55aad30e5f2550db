"""Scale-out on PostgreSQL: three `leadbot serve` and two `leadbot worker` processes, with kills.

200 prospects talk through webhooks the way Telegram delivers them: a chat's updates
one at a time (the next after a 2xx), spread over the web processes at random, with
duplicate deliveries — some racing the original on another process, some arriving
after the chat's next update. Midway, one web process and one worker are killed
with SIGKILL; Telegram's retries (played here) go to the survivors. In the end:

* every answer is stored exactly once and in the order given (compared with the
  same conversations run through one in-process service);
* every prospect got the bot's last message;
* every SQL lead was alerted in Slack exactly once.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from benchmarks.telegram_traffic import Prospect, TrafficStats, make_prospects, play
from bot.bootstrap import build
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from conversations.exchange import Inbound
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.telegram_api import FakeTelegram

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
SECRET = "scale-out-secret"
PROSPECTS = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Cluster:
    """Child processes of `python -m bot.cli …` sharing one database and the fakes."""

    def __init__(self, database_url: str, telegram: FakeTelegram, slack: FakeSlackApi,
                 logs: Path) -> None:
        self.logs = logs
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url, "LEADBOT_AUTO_MIGRATE": "false",
            "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_API_BASE_URL": telegram.base_url,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            # One process sends for the bot; the fake does not enforce Telegram's 30/s,
            # and this test is about exactly-once and order, not pacing.
            "TELEGRAM_SEND_RATE": "300",
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.com/telegram/webhook",
            "SLACK_BOT_TOKEN": "xoxb-fake-token", "SLACK_API_BASE_URL": slack.base_url,
            "SLACK_CHANNEL": "#sales", "LOG_FORMAT": "json", "LOG_LEVEL": "INFO",
            "NO_PROXY": "127.0.0.1,localhost",
        }
        self.env.pop("SLACK_SIGNING_SECRET", None)
        self.web: dict[str, subprocess.Popen[bytes]] = {}
        self.workers: list[subprocess.Popen[bytes]] = []

    def command(self, *args: str, port: int | None = None) -> subprocess.Popen[bytes]:
        env = dict(self.env, PORT=str(port or 8080))
        name = "-".join(args) + (f"-{port}" if port else f"-{len(self.workers)}")
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)

    def upgrade(self) -> None:
        result = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT,
                                env=self.env, capture_output=True, text=True, timeout=60,
                                check=False)
        assert result.returncode == 0, result.stderr

    def start(self, *, web: int, workers: int) -> None:
        for _ in range(web):
            port = free_port()
            self.web[f"http://127.0.0.1:{port}"] = self.command("serve", "--host", "127.0.0.1",
                                                                port=port)
        for _ in range(workers):
            self.workers.append(self.command("worker"))
        deadline = time.monotonic() + 60
        for url, process in self.web.items():
            while True:
                assert process.poll() is None, self.log_tail()
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "serve did not become healthy"
                time.sleep(0.1)

    def live_webhooks(self) -> list[str]:
        return [url + "/telegram/webhook" for url, p in self.web.items() if p.poll() is None]

    def kill_one_web_and_one_worker(self) -> None:
        victim = next(iter(self.web.values()))
        victim.send_signal(signal.SIGKILL)
        self.workers[0].send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        self.workers[0].wait(timeout=10)

    def stop(self) -> list[int]:
        """SIGTERM everything still alive; the exit codes of those."""
        alive = [p for p in [*self.web.values(), *self.workers] if p.poll() is None]
        for process in alive:
            process.send_signal(signal.SIGTERM)
        codes = []
        for process in alive:
            try:
                codes.append(process.wait(timeout=30))
            except subprocess.TimeoutExpired:
                process.kill()
                codes.append(-9)
        return codes

    def log_tail(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}" for p in self.logs.glob("*.log"))


def expected_answers(prospects: list[Prospect], tmp_path: Path) -> dict[int, list[tuple[str, str]]]:
    """The same conversations through one in-process service: (question, text) per chat."""
    container = build(Settings(database_url=f"sqlite:///{tmp_path / 'reference.db'}"))
    try:
        for prospect in prospects:
            for number, text_ in enumerate(prospect.texts):
                container.service.handle_message(
                    ConversationKey("telegram", str(prospect.chat_id)),
                    Inbound.parse_text(text_, first_name="Ada"),
                    message_id=str(prospect.first_update_id + number),
                    profile=Profile(first_name="Ada"), outbound="telegram")
        return answers_by_chat(container.engine)
    finally:
        container.close()


def answers_by_chat(engine: Any) -> dict[int, list[tuple[str, str]]]:
    with engine.connect() as db:
        rows = db.execute(text(
            "SELECT l.chat_id, a.question_id, a.raw_text FROM answers a "
            "JOIN leads l ON l.id = a.lead_id ORDER BY a.id")).all()
    result: dict[int, list[tuple[str, str]]] = {}
    for chat_id, question_id, raw_text in rows:
        result.setdefault(int(chat_id), []).append((question_id, raw_text))
    return result


async def test_three_web_two_workers_with_kills(postgres_url: str, tmp_path: Path) -> None:
    prospects = make_prospects(PROSPECTS)
    expected = expected_answers(prospects, tmp_path)
    with FakeTelegram() as telegram, FakeSlackApi() as slack:
        cluster = Cluster(postgres_url, telegram, slack, tmp_path)
        cluster.upgrade()
        cluster.start(web=3, workers=2)
        try:
            await drive(cluster, prospects)
            engine = create_engine(postgres_url)
            try:
                await wait_until_delivered(engine, timeout=75, cluster=cluster)
                stored = answers_by_chat(engine)
                with engine.connect() as db:
                    sql_leads = {int(r[0]): int(r[1]) for r in db.execute(text(
                        "SELECT id, chat_id FROM leads WHERE stage = 'sql'"))}
                    processed = db.execute(text("SELECT count(*) FROM processed_messages")).scalar()
            finally:
                engine.dispose()
        finally:
            codes = cluster.stop()
        # Every answer exactly once, in order, for every chat.
        assert stored == expected, cluster.log_tail()
        assert processed == sum(len(p.texts) for p in prospects)
        # Every prospect saw the bot's last message (replies of killed processes included).
        for prospect in prospects:
            assert telegram.messages(prospect.chat_id), f"chat {prospect.chat_id} got nothing"
        # Every SQL lead alerted exactly once.
        alerts = Counter(
            m["metadata"]["event_payload"]["lead_id"] for m in slack.all_messages()
            if (m.get("metadata") or {}).get("event_type") == "leadbot_outbox"
            and not m.get("thread_ts"))
        assert sql_leads, "some prospects must reach SQL"
        assert set(alerts) == set(sql_leads)
        assert set(alerts.values()) == {1}, alerts
    assert codes == [0] * len(codes), cluster.log_tail()  # SIGTERM: clean exits


async def drive(cluster: Cluster, prospects: list[Prospect]) -> None:
    rng = random.Random(11)
    stats = TrafficStats()
    limits = httpx.Limits(max_connections=120, max_keepalive_connections=60)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        chats = [asyncio.create_task(play(
            client, cluster.live_webhooks, prospect, secret=SECRET, stats=stats, rng=rng,
            duplicate_rate=0.15, racing_rate=0.1, think=(0.0, 0.05)))
            for prospect in prospects]
        total = sum(len(p.texts) for p in prospects)
        while len(stats.latencies) < total * 0.4:
            await asyncio.sleep(0.05)
        cluster.kill_one_web_and_one_worker()
        await asyncio.gather(*chats)
    assert stats.duplicates_sent > 50


async def wait_until_delivered(engine: Any, *, timeout: float, cluster: Cluster) -> None:
    """Until no outbox row is pending (a dead worker's lease runs out within 60 s)."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as db:
            pending = db.execute(text(
                "SELECT kind, count(*) FROM outbox WHERE status <> 'delivered' GROUP BY kind"
            )).all()
        if not pending:
            return
        assert time.monotonic() < deadline, f"still pending: {pending}\n{cluster.log_tail()}"
        await asyncio.sleep(0.5)
