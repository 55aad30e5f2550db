"""Just enough of the Prometheus text exposition format (version 0.0.4) for Leadbot.

Counters and a histogram that live in this process, plus gauges sampled at scrape
time. Written by hand rather than with prometheus-client: a dozen metrics do not
need its registry, multiprocess mode or import-time globals, and every process
type (`serve`, `run`) builds its own instance in the composition root.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _header(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


class Counter:
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str) -> None:
        self.name, self.help = name, help_text
        self._values: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> list[str]:
        lines = _header(self.name, "counter", self.help)
        with self._lock:
            items = sorted(self._values.items())
        lines += [f"{self.name}{_labels(k)} {_number(v)}" for k, v in items]
        return lines


class Histogram:
    """Observations counted into cumulative buckets (no labels: one series)."""

    def __init__(self, name: str, help_text: str, buckets: Sequence[float]) -> None:
        self.name, self.help = name, help_text
        self._bounds = tuple(sorted(buckets))
        self._counts = [0] * len(self._bounds)
        self._count = 0
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self._count += 1
            self._sum += value
            for index, bound in enumerate(self._bounds):
                if value <= bound:
                    self._counts[index] += 1
                    break

    def render(self) -> list[str]:
        lines = _header(self.name, "histogram", self.help)
        with self._lock:
            running = 0
            for bound, count in zip(self._bounds, self._counts, strict=True):
                running += count
                lines.append(f'{self.name}_bucket{{le="{_number(bound)}"}} {running}')
            lines.append(f'{self.name}_bucket{{le="+Inf"}} {self._count}')
            lines.append(f"{self.name}_sum {_number(self._sum)}")
            lines.append(f"{self.name}_count {self._count}")
        return lines


@dataclass(frozen=True, slots=True)
class GaugeFamily:
    """Gauge samples read at scrape time (e.g. from the database)."""

    name: str
    help: str
    samples: Mapping[Labels, float]

    def render(self) -> list[str]:
        lines = _header(self.name, "gauge", self.help)
        lines += [f"{self.name}{_labels(k)} {_number(v)}" for k, v in sorted(self.samples.items())]
        return lines


def exposition(families: Iterable[Counter | Histogram | GaugeFamily]) -> str:
    lines: list[str] = []
    for family in families:
        lines += family.render()
    return "\n".join(lines) + "\n"
