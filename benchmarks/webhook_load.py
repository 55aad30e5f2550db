"""Load benchmark: simulated prospects POSTing Telegram updates to `leadbot serve`.

Starts the fake Bot API (replies really go out to it), runs `leadbot db upgrade`,
starts N `leadbot serve` processes on one database, and plays prospects the way
Telegram delivers a webhook: at most `--connections` requests in flight (setWebhook's
max_connections, 40 by default), each chat's updates one after the other, spread over
the processes at random as a load balancer would. Reports updates/s, p50 / p99 of
the webhook round trip, the peak RSS of the web processes, and how many replies
were still queued when the load stopped (Telegram's ~30 messages/s per bot paces them).

It also reports the CPU time (user + system) spent per update during the measured run
(warm-up and start-up excluded), split by who spent it: `web`, the `leadbot serve`
processes (with SQLite this includes the database work, which runs inside them); `db`,
the PostgreSQL backends connected to the benchmark's database, read from /proc when the
server runs on this machine (`-` for SQLite, a remote server or an unreadable /proc;
backends that disconnect during the run are missed); `client`, the load generator
itself. Replies still queued when the run ends are sent, and paid for, after it.

    python benchmarks/webhook_load.py                         # SQLite, one process
    python benchmarks/webhook_load.py --database-url postgresql+psycopg://postgres@127.0.0.1/test \\
        --processes 2
    python benchmarks/webhook_load.py --matrix                # the four configurations
    python benchmarks/webhook_load.py --matrix --only 'sqlite ×1,postgresql ×2' --rounds 5

With `--matrix`, PostgreSQL runs use fresh databases created on the server of
`--postgres-admin-url` (default: the local test server) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
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
class CpuTimes:
    """CPU seconds (user + system) spent during the measured run; None: not measurable."""

    web: float | None
    db: float | None
    client: float


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
    cpu: CpuTimes

    def line(self) -> str:
        def per_update(seconds: float | None) -> str:
            return "-" if seconds is None else f"{seconds / self.updates * 1000:.2f} ms"

        return (f"{self.label:<22} {self.updates / self.seconds:>8.0f} updates/s   "
                f"p50 {self.p50_ms:6.1f} ms   p99 {self.p99_ms:6.1f} ms   "
                f"peak RSS {self.peak_rss_mb:5.0f} MB/process   "
                f"replies still queued {self.replies_pending}   retries {self.retries}   "
                f"CPU/update web {per_update(self.cpu.web)}  db {per_update(self.cpu.db)}  "
                f"client {per_update(self.cpu.client)}")


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


def process_cpu_ticks(pid: int, *, command: str | None = None) -> int | None:
    """utime + stime of a process in clock ticks, from /proc/<pid>/stat (Linux).

    None when the process can't be read, or isn't named `command` (a pid from another
    pid namespace, e.g. a server in a container, may be an unrelated local process).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
    if command is not None and name != command:
        return None
    return int(fields[11]) + int(fields[12])  # fields 14 and 15; `fields` starts at field 3


def cpu_ticks(pids: list[int], *, command: str | None = None) -> dict[int, int] | None:
    """pid -> CPU ticks of the readable ones; None if there are pids and none is readable."""
    ticks = {pid: t for pid in pids if (t := process_cpu_ticks(pid, command=command)) is not None}
    return ticks if ticks or not pids else None


def ticks_spent(before: dict[int, int] | None, after: dict[int, int] | None) -> float | None:
    """CPU seconds spent between two samples; a pid new in `after` counts in full."""
    if before is None or after is None:
        return None
    ticks = sum(t - before.get(pid, 0) for pid, t in after.items())
    return ticks / os.sysconf("SC_CLK_TCK")


def libpq_url(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://")


def local_postgres(database_url: str) -> str | None:
    """The libpq URL of `database_url` if it's a PostgreSQL server on this machine."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "postgresql" or url.host not in (None, "", "127.0.0.1",
                                                                  "localhost", "::1"):
        return None
    return libpq_url(database_url)


def postgres_backends(libpq: str) -> list[int]:
    """Pids of the server backends connected to the database, this query's own excepted."""
    import psycopg

    with psycopg.connect(libpq, autocommit=True) as connection:
        rows = connection.execute("SELECT pid FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return [int(pid) for pid, in rows]


class CpuMeter:
    """CPU spent in a window by the web processes, local PostgreSQL backends and this process."""

    def __init__(self, web_pids: list[int], database_url: str) -> None:
        self._web_pids = web_pids
        self._postgres = local_postgres(database_url)
        self.spent: CpuTimes | None = None

    def _backends(self) -> list[int]:
        return postgres_backends(self._postgres) if self._postgres else []

    @contextmanager
    def window(self) -> Iterator[None]:
        """Samples before and after the body; `spent` holds the difference."""
        backends = self._backends()  # queried before the window opens
        db_before = cpu_ticks(backends, command="postgres")
        web_before = cpu_ticks(self._web_pids)
        client_before = time.process_time()
        yield
        client = time.process_time() - client_before
        web_after = cpu_ticks(self._web_pids)
        # Read the known backends as the window closes (the outbox keeps them busy), then
        # look for connections opened during the run: their whole CPU time counts.
        db_after = cpu_ticks(backends, command="postgres")
        joined = cpu_ticks([pid for pid in self._backends() if pid not in backends],
                           command="postgres")
        db_end = None if db_after is None or joined is None else db_after | joined
        self.spent = CpuTimes(web=ticks_spent(web_before, web_after),
                              db=ticks_spent(db_before, db_end) if self._postgres else None,
                              client=client)


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
def web_processes(count: int, env: dict[str, str], logs: Path, *,
                  command: tuple[str, ...] = ("serve", "--host", "127.0.0.1"),
                  ) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` Leadbot processes (`leadbot serve` by default), each on its own port."""
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index in range(count):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", *command], cwd=ROOT,
                env={**env, "PORT": str(port)}, stdout=(logs / f"{command[0]}-{index}.log").open("ab"),
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
               rate: float | None = None,
               measured: Callable[[], AbstractContextManager[object]] = nullcontext,
               ) -> tuple[TrafficStats, float]:
    """Plays `warmup` prospects, then `prospects` more inside `measured()` (timed)."""
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
        with measured():
            started = time.perf_counter()
            await run(people[warmup:], stats)
            seconds = time.perf_counter() - started
        return stats, seconds


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
            meter = CpuMeter([p.pid for p in web], database_url)
            stats, seconds = asyncio.run(load(urls, prospects=prospects, connections=connections,
                                              warmup=max(10, prospects // 20), rate=rate,
                                              measured=meter.window))
            # Telegram allows ~30 messages/s per bot (AIORateLimiter paces the sends), so
            # at hundreds of updates/s the replies trail behind the intake.
            pending = outbox_pending(database_url)
            rss = max(peak_rss_mb(p.pid) for p in web)
    latencies = stats.latencies
    assert meter.spent is not None
    return Result(label, len(latencies), seconds, percentile(latencies, 0.5) * 1000,
                  percentile(latencies, 0.99) * 1000, rss, pending, stats.retries, meter.spent)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    import psycopg

    libpq = libpq_url(admin_url)
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
    parser.add_argument("--only", default=None,
                        help="with --matrix: the labels to run, e.g. 'sqlite ×1,postgresql ×2'")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the configurations this many times, interleaved, and print "
                             "each one's median (figures on a shared machine drift over minutes)")
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
        if args.only:
            wanted = {label.strip() for label in args.only.split(",")}
            runs = [run for run in runs if run[0] in wanted]
        results: dict[str, list[Result]] = {label: [] for label, _, _ in runs}
        for _round in range(args.rounds):
            for label, url, processes in runs:
                if url == "pg":
                    with postgres_database(args.postgres_admin_url) as database_url:
                        result = bench(label, database_url, processes, prospects=args.prospects,
                                       connections=args.connections, logs=logs, rate=args.rate)
                else:
                    database_url = url or f"sqlite:///{logs / f'bench-{uuid.uuid4().hex[:6]}.db'}"
                    result = bench(label, database_url, processes, prospects=args.prospects,
                                   connections=args.connections, logs=logs, rate=args.rate)
                results[label].append(result)
                print(result.line(), flush=True)
        if args.rounds > 1:
            print(f"median of {args.rounds} interleaved rounds:")
            for label, rounds in results.items():
                print(median_line(label, rounds), flush=True)


def median_line(label: str, rounds: list[Result]) -> str:
    """Median updates/s (with the range), p50, p99 and CPU per update over the rounds."""
    rates = sorted(r.updates / r.seconds for r in rounds)
    web = [r.cpu.web / r.updates * 1000 for r in rounds if r.cpu.web is not None]
    db = [r.cpu.db / r.updates * 1000 for r in rounds if r.cpu.db is not None]
    web_text = f"   CPU/update web {statistics.median(web):.2f} ms" if web else ""
    web_text += f"  db {statistics.median(db):.2f} ms" if db else ""
    return (f"{label:<22} {statistics.median(rates):>8.0f} updates/s "
            f"({rates[0]:.0f}–{rates[-1]:.0f})   "
            f"p50 {statistics.median(r.p50_ms for r in rounds):6.1f} ms   "
            f"p99 {statistics.median(r.p99_ms for r in rounds):6.1f} ms{web_text}")


if __name__ == "__main__":
    main()
