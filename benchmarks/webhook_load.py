"""Load benchmark: simulated prospects POSTing Telegram updates to `leadbot serve`.

Starts the fake Bot API (replies really go out to it), runs `leadbot db upgrade`,
starts N `leadbot serve` processes on one database, and plays prospects the way
Telegram delivers a webhook: at most `--connections` requests in flight (setWebhook's
max_connections, 40 by default), each chat's updates one after the other, spread over
the processes at random as a load balancer would. Reports updates/s, p50 / p99 of
the webhook round trip, the peak RSS of the web processes, and how many replies
were still queued when the load stopped (Telegram's ~30 messages/s per bot paces them).

    python benchmarks/webhook_load.py                         # SQLite, one process
    python benchmarks/webhook_load.py --database-url postgresql+psycopg://postgres@127.0.0.1/test \\
        --processes 2
    python benchmarks/webhook_load.py --matrix                # the four configurations

With `--matrix`, PostgreSQL runs use fresh databases created on the server of
`--postgres-admin-url` (default: the local test server) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.rawhttp import RawHttpClient
from benchmarks.telegram_traffic import (
    Pacer,
    TrafficStats,
    make_prospects,
    percentile,
    play,
)

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-secret"
TOKEN = "123:ABC"


@dataclass(frozen=True)
class Result:
    label: str
    updates: int
    seconds: float
    p50_ms: float
    p99_ms: float
    peak_rss_mb: float
    replies_pending: int
    retries: int

    def line(self) -> str:
        return (f"{self.label:<22} {self.updates / self.seconds:>8.0f} updates/s   "
                f"p50 {self.p50_ms:6.1f} ms   p99 {self.p99_ms:6.1f} ms   "
                f"peak RSS {self.peak_rss_mb:5.0f} MB/process   "
                f"replies still queued {self.replies_pending}   retries {self.retries}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


@contextmanager
def fake_telegram(log: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.telegram_api", "--port", str(port), "--token", TOKEN],
        cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/bot"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def web_processes(count: int, env: dict[str, str], logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index in range(count):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"], cwd=ROOT,
                env={**env, "PORT": str(port)}, stdout=(logs / f"serve-{index}.log").open("ab"),
                stderr=subprocess.STDOUT)
            process.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
            processes.append(process)
        for process in processes:
            wait_healthy(process.url, process)  # type: ignore[attr-defined]
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def outbox_pending(database_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            return int(db.execute(text(
                "SELECT count(*) FROM outbox WHERE status = 'pending' AND kind = 'telegram'"
            )).scalar() or 0)
    finally:
        engine.dispose()


async def load(urls: list[str], *, prospects: int, connections: int, warmup: int,
               rate: float | None = None) -> tuple[TrafficStats, float]:
    rng = random.Random(5)
    people = make_prospects(prospects + warmup, first_chat_id=50_000)
    # A lean client: httpx would spend more of the two cores than the server measured.
    async with RawHttpClient(max_connections=connections) as client:
        async def run(batch: list, stats: TrafficStats) -> None:  # type: ignore[type-arg]
            gate = asyncio.Semaphore(connections)
            pace = Pacer(rate) if rate else None

            async def one(prospect: object) -> None:
                async with gate:
                    await play(client, lambda: urls, prospect, secret=SECRET,  # type: ignore[arg-type]
                               stats=stats, rng=rng, pace=pace)

            await asyncio.gather(*(one(p) for p in batch))

        await run(people[:warmup], TrafficStats())  # connections, caches, JIT-free warm-up
        stats = TrafficStats()
        started = time.perf_counter()
        await run(people[warmup:], stats)
        return stats, time.perf_counter() - started


def bench(label: str, database_url: str, processes: int, *, prospects: int, connections: int,
          logs: Path, rate: float | None = None) -> Result:
    with fake_telegram(logs / "fake-telegram.log") as base_url:
        env = {**os.environ, "DATABASE_URL": database_url, "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_API_BASE_URL": base_url, "TELEGRAM_WEBHOOK_SECRET": SECRET,
               "LEADBOT_AUTO_MIGRATE": "false", "LOG_LEVEL": "WARNING",
               "NO_PROXY": "127.0.0.1,localhost"}
        for name in ("TELEGRAM_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
            env.pop(name, None)
        with web_processes(processes, env, logs) as web:
            urls = [p.url + "/telegram/webhook" for p in web]  # type: ignore[attr-defined]
            stats, seconds = asyncio.run(load(urls, prospects=prospects, connections=connections,
                                              warmup=max(10, prospects // 20), rate=rate))
            # Telegram allows ~30 messages/s per bot (AIORateLimiter paces the sends), so
            # at hundreds of updates/s the replies trail behind the intake.
            pending = outbox_pending(database_url)
            rss = max(peak_rss_mb(p.pid) for p in web)
    latencies = stats.latencies
    return Result(label, len(latencies), seconds, percentile(latencies, 0.5) * 1000,
                  percentile(latencies, 0.99) * 1000, rss, pending, stats.retries)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    import psycopg

    libpq = admin_url.replace("postgresql+psycopg://", "postgresql://")
    name = f"leadbot_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prospects", type=int, default=400)
    parser.add_argument("--connections", type=int, default=40,
                        help="requests in flight at once (Telegram's max_connections)")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--rate", type=float, default=None,
                        help="offered updates/s (default: as fast as the processes answer)")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--matrix", action="store_true",
                        help="SQLite ×1, then PostgreSQL ×1, ×2, ×4 (fresh databases)")
    parser.add_argument("--postgres-admin-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    offered = f"{args.rate:.0f} updates/s offered" if args.rate else "closed loop"
    print(f"{os.cpu_count()} CPU(s); {args.prospects} prospects; {args.connections} connections; "
          f"{offered}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        logs = Path(folder)
        runs: list[tuple[str, str | None, int]] = []
        if args.matrix:
            runs = [("sqlite ×1", None, 1), ("postgresql ×1", "pg", 1),
                    ("postgresql ×2", "pg", 2), ("postgresql ×4", "pg", 4)]
        else:
            backend = (args.database_url or "sqlite").split(":", 1)[0].split("+")[0]
            runs = [(f"{backend} ×{args.processes}", args.database_url, args.processes)]
        for label, url, processes in runs:
            if url == "pg":
                with postgres_database(args.postgres_admin_url) as database_url:
                    result = bench(label, database_url, processes, prospects=args.prospects,
                                   connections=args.connections, logs=logs, rate=args.rate)
            else:
                database_url = url or f"sqlite:///{logs / f'bench-{uuid.uuid4().hex[:6]}.db'}"
                result = bench(label, database_url, processes, prospects=args.prospects,
                               connections=args.connections, logs=logs, rate=args.rate)
            print(result.line(), flush=True)


if __name__ == "__main__":
    main()
