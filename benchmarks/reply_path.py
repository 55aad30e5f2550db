"""Side-by-side reply-path benchmark: Leadbot against the bot a developer writes in an afternoon.

Both bots get the same offered load, played the way people talk: `--concurrency`
prospects at once (100), each sending /start and answering the four qualifying
questions, one second after the reply to their previous message arrived, until
`--conversations` conversations (300) are done. The load generator plays Telegram:
it POSTs each update to the bot's webhook, runs the Bot API call a webhook answer
may carry (as Telegram does), and hosts the fake Bot API the bots send to
(`benchmarks/fake_bot_api.py`, no rate limit), so a reply is timed from the POST
to the moment it reaches "Telegram".

Per bot: CPU per message spent by the bot's own processes (user + system, from
/proc; for Leadbot on PostgreSQL the local server's backends are added), reply
p50 / p99, messages with no reply within 15 s, peak RSS, then Leadbot/peer ratios.
Leadbot is `leadbot serve` (one process, SQLite by default) with
TELEGRAM_SEND_RATE=1000; the peer is `benchmarks/peer_bot.py`
(ConversationHandler + PicklePersistence behind PTB's webhook server; needs
`pip install -e ".[bench]"` for tornado).

    python benchmarks/reply_path.py               # 100 at once, 300 conversations
    python benchmarks/reply_path.py --quick       # a smoke run: 20 at once, 40 conversations
    python benchmarks/reply_path.py --rounds 3    # peer, Leadbot, peer, Leadbot…; medians

Figures from a busy machine are noisy; the ratios of one run (both bots measured
minutes apart) are steadier than the absolute values.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fake_bot_api import FakeBotApi
from benchmarks.rawhttp import RawHttpClient, RawHttpError
from benchmarks.telegram_traffic import SCRIPTS, SECRET_HEADER, percentile, text_update
from benchmarks.webhook_load import (
    CpuMeter,
    free_port,
    peak_rss_mb,
    wait_healthy,
    web_processes,
)

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123:ABC"
SECRET = "bench-secret"
NO_REPLY_AFTER = 15.0


@dataclass
class Replies:
    """When each chat's replies reached the fake Bot API."""

    arrivals: dict[int, list[float]] = field(default_factory=dict)
    signals: dict[int, asyncio.Event] = field(default_factory=dict)

    def arrived(self, chat_id: int, _method: str, at: float) -> None:
        self.arrivals.setdefault(chat_id, []).append(at)
        signal = self.signals.get(chat_id)
        if signal is not None:
            signal.set()

    async def first_after(self, chat_id: int, seen: int, timeout: float) -> float | None:
        """The arrival time of the chat's reply number `seen` (0-based), or None after `timeout`."""
        signal = self.signals.setdefault(chat_id, asyncio.Event())
        deadline = time.perf_counter() + timeout
        while len(self.arrivals.get(chat_id, ())) <= seen:
            signal.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(signal.wait(), timeout=left)
            except TimeoutError:
                return None
        return self.arrivals[chat_id][seen]


@dataclass
class Traffic:
    latencies: list[float] = field(default_factory=list)
    unanswered: int = 0
    messages: int = 0


@dataclass(frozen=True)
class Figures:
    bot: str
    messages: int
    seconds: float
    cpu_ms: float  # per message
    p50_ms: float
    p99_ms: float
    unanswered: int
    rss_mb: float

    def line(self) -> str:
        return (f"{self.bot:<8} {self.messages:>6} msgs in {self.seconds:5.1f} s   "
                f"CPU/msg {self.cpu_ms:6.2f} ms   p50 {self.p50_ms:7.1f} ms   "
                f"p99 {self.p99_ms:7.1f} ms   unanswered {self.unanswered:>4}   "
                f"peak RSS {self.rss_mb:6.1f} MB")


def conversation(index: int) -> list[str]:
    """/start and the four qualifying answers (the bundled test answer sets, in turn)."""
    return SCRIPTS[index % len(SCRIPTS)][:5]


async def talk(client: RawHttpClient, url: str, api: FakeBotApi, replies: Replies,
               chat_id: int, texts: Sequence[str], first_update: int, traffic: Traffic,
               think: float) -> None:
    """One prospect: each message one second after the reply to the previous one."""
    for offset, text in enumerate(texts):
        seen = len(replies.arrivals.get(chat_id, ()))
        sent = time.perf_counter()
        update = text_update(first_update + offset, chat_id, text)
        if url:
            await post(client, url, api, update)
        else:  # the bot long-polls: the update waits in the fake for its getUpdates
            api.offer(update)
        traffic.messages += 1
        arrived = await replies.first_after(chat_id, seen, NO_REPLY_AFTER)
        if arrived is None:
            traffic.unanswered += 1
        else:
            traffic.latencies.append(arrived - sent)
        await asyncio.sleep(think)


async def post(client: RawHttpClient, url: str, api: FakeBotApi, update: dict[str, Any]) -> None:
    """Deliver an update to the bot's webhook as Telegram does, retrying until it is taken."""
    for _attempt in range(20):  # Telegram retries a failed webhook delivery
        try:
            response = await client.post(url, json=update, headers={SECRET_HEADER: SECRET})
        except RawHttpError:
            await asyncio.sleep(0.5)
            continue
        if response.status_code == 200:
            break
        await asyncio.sleep(0.5)
    else:
        raise RuntimeError(f"update {update['update_id']} was never accepted")
    if response.body.startswith(b"{"):
        # A Bot API call in the webhook answer: Telegram runs it as it reads it.
        call: dict[str, Any] = json.loads(response.body)
        api.handle(str(call.pop("method")), call, time.perf_counter())


async def play(url: str, api: FakeBotApi, replies: Replies, *, conversations: int,
               concurrency: int, first_chat: int, think: float) -> Traffic:
    traffic = Traffic()
    gate = asyncio.Semaphore(concurrency)
    client = RawHttpClient(max_connections=concurrency)

    async def one(index: int) -> None:
        async with gate:
            await talk(client, url, api, replies, first_chat + index, conversation(index),
                       (first_chat + index) * 10, traffic, think)

    async with client:
        await asyncio.gather(*(one(i) for i in range(conversations)))
    return traffic


def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the peer bot exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the peer bot did not start listening")


@asynccontextmanager
async def peer_bot(api: FakeBotApi, folder: Path, polling: bool
                   ) -> AsyncIterator[tuple[str, list[int], str]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "peer_bot.py"), "--port", str(port),
         "--base-url", api.base_url, "--token", TOKEN, "--secret", SECRET,
         "--state", str(folder / f"peer-{uuid.uuid4().hex[:6]}.pickle"),
         *(["--polling"] if polling else [])],
        cwd=ROOT, stdout=(folder / "peer.log").open("ab"), stderr=subprocess.STDOUT)
    try:
        if polling:
            await wait_polling(api, process)
            yield "", [process.pid], "sqlite://"
            return
        await asyncio.to_thread(wait_listening, port, process)
        yield f"http://127.0.0.1:{port}/telegram/webhook", [process.pid], "sqlite://"
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 30)


async def wait_polling(api: FakeBotApi, process: subprocess.Popen[bytes],
                       timeout: float = 60) -> None:
    """Until the bot has asked for updates (it is polling)."""
    deadline = time.monotonic() + timeout
    while not api.calls.get("getUpdates"):
        if process.poll() is not None:
            raise RuntimeError(f"the bot exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("the bot never asked for updates")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def leadbot(api: FakeBotApi, folder: Path, database_url: str | None, polling: bool
                  ) -> AsyncIterator[tuple[str, list[int], str]]:
    url = database_url or f"sqlite:///{folder / f'leadbot-{uuid.uuid4().hex[:6]}.db'}"
    env = {**os.environ, "DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": api.base_url, "TELEGRAM_WEBHOOK_SECRET": SECRET,
           "TELEGRAM_SEND_RATE": "1000", "LEADBOT_AUTO_MIGRATE": "false",
           "LOG_LEVEL": "WARNING", "NO_PROXY": "127.0.0.1,localhost"}
    for name in ("TELEGRAM_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        env.pop(name, None)
    if polling:  # `leadbot run`: long polling, no webhook
        env.pop("TELEGRAM_WEBHOOK_SECRET")
    # web_processes waits for health synchronously: off the loop the fake API runs on.
    manager = web_processes(1, env, folder, command=("run",) if polling else
                            ("serve", "--host", "127.0.0.1"))
    processes = await asyncio.to_thread(manager.__enter__)
    try:
        process = processes[0]
        await asyncio.to_thread(wait_healthy, process.url, process)  # type: ignore[attr-defined]
        if polling:
            await wait_polling(api, process)
            yield "", [process.pid], url
        else:
            yield process.url + "/telegram/webhook", [process.pid], url  # type: ignore[attr-defined]
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


async def measure(bot: str, args: argparse.Namespace, folder: Path, first_chat: int) -> Figures:
    replies = Replies()
    async with FakeBotApi(replies.arrived) as api:
        polling = args.transport == "polling"
        starter = (peer_bot(api, folder, polling) if bot == "peer"
                   else leadbot(api, folder, args.database_url, polling))
        async with starter as (url, pids, database_url):
            warmup = max(4, args.conversations // 30)
            await play(url, api, replies, conversations=warmup, concurrency=warmup,
                       first_chat=first_chat, think=args.think)
            meter = CpuMeter(pids, database_url)
            with meter.window():
                started = time.perf_counter()
                traffic = await play(url, api, replies, conversations=args.conversations,
                                     concurrency=args.concurrency, first_chat=first_chat + warmup,
                                     think=args.think)
                seconds = time.perf_counter() - started
            rss = max(peak_rss_mb(pid) for pid in pids)
    assert meter.spent is not None and meter.spent.web is not None
    cpu = meter.spent.web + (meter.spent.db or 0.0)
    latencies = traffic.latencies
    return Figures(bot, traffic.messages, seconds, cpu / traffic.messages * 1000,
                   percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000,
                   traffic.unanswered, rss)


def ratio(mine: float, peer: float) -> str:
    return f"×{mine / peer:.2f}" if peer > 0 else "-"


def summary(label: str, leadbot_runs: list[Figures], peer_runs: list[Figures]) -> list[str]:
    def median(runs: list[Figures], name: str) -> float:
        return float(statistics.median(getattr(r, name) for r in runs))

    lines = [label]
    for runs in (peer_runs, leadbot_runs):
        lines.append(Figures(runs[0].bot, int(median(runs, "messages")), median(runs, "seconds"),
                             median(runs, "cpu_ms"), median(runs, "p50_ms"),
                             median(runs, "p99_ms"), int(median(runs, "unanswered")),
                             median(runs, "rss_mb")).line())
    lines.append("Leadbot / peer: " + "   ".join(
        f"{name} {ratio(median(leadbot_runs, attr), median(peer_runs, attr))}"
        for name, attr in (("CPU/msg", "cpu_ms"), ("p50", "p50_ms"), ("p99", "p99_ms"),
                           ("peak RSS", "rss_mb"))))
    return lines


async def main_async(args: argparse.Namespace) -> None:
    print(f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f}; "
          f"updates by {args.transport}; "
          f"{args.concurrency} prospects at once, {args.conversations} conversations of 5 "
          f"messages, {args.think:g} s between a reply and the next message", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        runs: dict[str, list[Figures]] = {"peer": [], "leadbot": []}
        chat = 100_000
        for _round in range(args.rounds):
            for bot in args.bots:
                figures = await measure(bot, args, folder, chat)
                chat += 10_000
                runs[bot].append(figures)
                print(figures.line(), flush=True)
        if runs["peer"] and runs["leadbot"]:
            label = f"median of {args.rounds} interleaved rounds:" if args.rounds > 1 else "summary:"
            print("\n".join(summary(label, runs["leadbot"], runs["peer"])), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=None,
                        help="prospects talking at once (100; --quick: 20)")
    parser.add_argument("--conversations", type=int, default=None, help="(300; --quick: 40)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds between a reply and the prospect's next message")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--bots", default="peer,leadbot", help="which bots, in order")
    parser.add_argument("--database-url", default=None,
                        help="Leadbot's database (default: a temporary SQLite file)")
    parser.add_argument("--transport", choices=("webhook", "polling"), default="webhook",
                        help="how updates reach the bots: webhook POSTs (`leadbot serve`, "
                             "PTB's webhook server) or long polling (`leadbot run`, PTB's "
                             "run_polling)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 20 prospects at once, 40 conversations")
    args = parser.parse_args()
    args.bots = [b.strip() for b in args.bots.split(",") if b.strip()]
    concurrency, conversations = (20, 40) if args.quick else (100, 300)
    args.concurrency = args.concurrency or concurrency
    args.conversations = args.conversations or conversations
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
