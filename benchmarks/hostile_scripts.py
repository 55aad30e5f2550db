"""Benchmark: how long the script loader takes to refuse hostile files (and to load the default).

Each case is parsed in process (no CLI start-up), best of `--repeat` runs, with the
process's peak memory at the end. The hostile cases must be refused in well under
a second and without growing memory: an alias bomb used to take 26 s and 3.2 GB.

    python benchmarks/hostile_scripts.py
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conversations.loader import ScriptError, parse_script  # noqa: E402
from tests.test_hostile_scripts import HOSTILE_SCRIPTS  # noqa: E402
from tests.test_cli import DEFAULT  # noqa: E402


def best_of(text: str, repeat: int) -> tuple[float, str]:
    best, outcome = float("inf"), "loaded"
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            parse_script(text, filename="bench.yaml")
        except ScriptError as exc:
            outcome = str(exc.problems[0]).split("  ", 1)[1][:60]
        best = min(best, time.perf_counter() - started)
    return best, outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = [("default script (valid)", DEFAULT.read_text(), "")]
    cases += [(name, text, "") for name, text, _ in HOSTILE_SCRIPTS]
    for name, text, _ in cases:
        seconds, outcome = best_of(text, args.repeat)
        print(f"{name:28} {len(text.encode()):>9,} bytes  {seconds * 1000:8.1f} ms  {outcome}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
