"""Benchmark: synthetic prospects through the full service path on SQLite.

Each message runs engine + matching + scoring + storage in one transaction,
exactly as a Telegram update does (replies queued to the outbox). Prints
messages/s, p50 / p99 latency, CPU per message (process time) and peak memory;
with `--repeats`, each on a fresh database, the medians of the repeats.

    python benchmarks/service_throughput.py --prospects 300
    python benchmarks/service_throughput.py --repeats 5
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.bootstrap import build, freeze_startup_heap  # noqa: E402
from bot.service import ConversationKey, Profile  # noqa: E402
from bot.settings import Settings  # noqa: E402
from conversations.exchange import Inbound  # noqa: E402

OUTBOUND: str | None = "telegram"
ANSWER_SETS = [
    ["we sell accounting software", "about 120", "50k", "asap", "Ada Lovelace", "Engines Ltd",
     "ada@example.com", "skip"],
    ["banque", "environ 300 salariés", "150 k€", "dans 2 mois", "Marie Curie", "Radium",
     "marie@example.fr", "+33 6 12 34 56 78"],
    ["school", "just me", "2000 euros", "just looking"],
    ["hospital", "45", "15k", "in 6 months", "Bob", "Clinic", "bob@clinic.org", "no"],
    ["online store", "une vingtaine", "no idea yet", "next week"],
    ["qwerty", "retail", "1,200", "between 20 and 30k", "urgent", "Eve", "Shop", "eve@shop.io",
     "skip"],
]


def run_once(url: str, prospects: int) -> tuple[list[float], float, float]:
    """Latencies of every message, wall time and CPU time of the whole run."""
    container = build(Settings(database_url=url))
    freeze_startup_heap()  # as the leadbot commands do after start-up
    rng = random.Random(7)
    conversations = [
        (str(1000 + i), ["/start bench", *rng.choice(ANSWER_SETS)])
        for i in range(prospects)
    ]
    # Interleave prospects as live traffic does: one message of each chat in turn.
    schedule = []
    for turn in range(max(len(c[1]) for c in conversations)):
        for chat_id, texts in conversations:
            if turn < len(texts):
                schedule.append((chat_id, texts[turn]))
    latencies = []
    started, cpu_started = time.perf_counter(), time.process_time()
    for number, (chat_id, text) in enumerate(schedule):
        t0 = time.perf_counter()
        container.service.handle_message(
            ConversationKey("telegram", chat_id),
            Inbound.parse_text(text, first_name="Bench"),
            message_id=str(number),
            profile=Profile(first_name="Bench", language_code="en"),
            outbound=OUTBOUND,
        )
        latencies.append(time.perf_counter() - t0)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    container.close()
    return latencies, elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prospects", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=1, help="runs, each on a fresh database")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()

    runs = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as folder:
            url = args.database_url or f"sqlite:///{folder}/bench.db"
            runs.append(run_once(url, args.prospects))

    messages = len(runs[0][0])
    p50 = statistics.median(statistics.median(latencies) for latencies, _, _ in runs) * 1000
    p99 = statistics.median(sorted(latencies)[int(len(latencies) * 0.99) - 1]
                            for latencies, _, _ in runs) * 1000
    throughput = statistics.median(messages / elapsed for _, elapsed, _ in runs)
    cpu_per_message = [cpu / messages * 1e6 for _, _, cpu in runs]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backend       {url.split(':', 1)[0]}")
    print(f"prospects     {args.prospects}")
    print(f"messages      {messages}" + (f" × {args.repeats} runs (medians)" if args.repeats > 1 else ""))
    print(f"throughput    {throughput:,.0f} messages/s")
    print(f"latency p50   {p50:.2f} ms")
    print(f"latency p99   {p99:.2f} ms")
    print(f"CPU/message   {statistics.median(cpu_per_message):.0f} µs"
          + (f" (runs: {', '.join(f'{c:.0f}' for c in sorted(cpu_per_message))})"
             if args.repeats > 1 else ""))
    print(f"peak memory   {peak_mb:.0f} MB (max RSS)")


if __name__ == "__main__":
    main()
