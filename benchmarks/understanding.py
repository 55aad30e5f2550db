"""Benchmark: how long understanding one typed answer takes, per answer set.

Reads every answer of the three answer sets (the shared dev set when present,
tests/data/answers-heldout.jsonl and answers-heldout-2.jsonl) through
`understand`, as the engine does for each message, and prints µs per answer
(median and p99 over rounds) for each question type.

    python benchmarks/understanding.py --rounds 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from conversations.loader import load_script  # noqa: E402
from conversations.understanding import understand  # noqa: E402

SETS = [ROOT.parent / "shared" / "corpus" / "answers-dev.jsonl",
        ROOT / "tests" / "data" / "answers-heldout.jsonl",
        ROOT / "tests" / "data" / "answers-heldout-2.jsonl"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    script = load_script(ROOT / "conversations" / "scripts" / "default.yaml").script
    rows = [json.loads(line) for path in SETS if path.exists()
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    timings: dict[str, list[float]] = defaultdict(list)
    for row in rows:  # warm the indexes
        question = script.question(row["question"])
        understand(question, row["text"], lang=row.get("lang", "en"), now=now)
    for _ in range(args.rounds):
        for row in rows:
            question = script.question(row["question"])
            started = time.perf_counter()
            understand(question, row["text"], lang=row.get("lang", "en"), now=now)
            timings[row["question"]].append(time.perf_counter() - started)
    print(f"{len(rows)} answers x {args.rounds} rounds")
    for question, values in sorted(timings.items()):
        values.sort()
        p99 = values[int(len(values) * 0.99) - 1]
        print(f"  {question:13} median {statistics.median(values) * 1e6:6.0f} µs"
              f"   p99 {p99 * 1e6:6.0f} µs")


if __name__ == "__main__":
    main()
