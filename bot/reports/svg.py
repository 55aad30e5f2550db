"""Inline SVG charts drawn in Python: horizontal bars and a histogram, nothing fetched.

Every label goes through `html.escape`: source names and question ids come from
payloads and scripts, and the page must not be a way to inject markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from bot.reports.stats import human_duration

BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 190
VALUE_WIDTH = 110
WIDTH = 720
COLOURS = ("#2563eb", "#0891b2", "#7c3aed", "#db2777", "#ea580c", "#16a34a")


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    caption: str  # what is printed after the bar ("120 · 40.0%")


def _open(name: str, title: str, width: int, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(name)}" '
        f'role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{escape(title)}</title>'
    )


def bar_chart(name: str, title: str, bars: Sequence[Bar], *, colour_index: int = 0) -> str:
    """Horizontal bars, longest = full width; an empty chart says so instead of vanishing."""
    if not bars:
        return _open(name, title, WIDTH, 40) + (
            '<text x="8" y="25" class="empty">No data in this period.</text></svg>'
        )
    top = max(b.value for b in bars) or 1.0
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    height = len(bars) * (BAR_HEIGHT + GAP) + GAP
    parts = [_open(name, title, WIDTH, height)]
    colour = COLOURS[colour_index % len(COLOURS)]
    for index, bar in enumerate(bars):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = max(0.0, bar.value) / top * span
        label = bar.label if len(bar.label) <= 28 else bar.label[:27] + "…"
        parts.append(
            f'<g class="bar"><text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
            f'rx="3" fill="{colour}"><title>{escape(bar.label)}: {escape(bar.caption)}</title>'
            f"</rect>"
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 15}">{escape(bar.caption)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(name: str, title: str, seconds: Sequence[float], *, bins: int = 10) -> str:
    """Counts of durations in equal-width bins from 0 to the longest; x labels are durations."""
    if not seconds:
        return _open(name, title, WIDTH, 40) + (
            '<text x="8" y="25" class="empty">No lead reached this stage in this period.</text>'
            "</svg>"
        )
    longest = max(seconds)
    step = _nice_step(longest / bins) if longest > 0 else 1.0
    count = max(1, math.ceil(longest / step + 1e-9))
    if longest >= count * step:
        count += 1  # the longest lands in its own bin, never off the end
    counts = [0] * count
    for value in seconds:
        counts[min(int(value // step), count - 1)] += 1
    height, base, left = 220, 180, 40
    column = (WIDTH - left - 10) / count
    top = max(counts)
    parts = [_open(name, title, WIDTH, height)]
    parts.append(f'<line x1="{left}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" class="axis"/>')
    for index, n in enumerate(counts):
        x = left + index * column
        bar = (base - 20) * n / top
        low, high = (human_duration(b * step, compact=True) for b in (index, index + 1))
        caption = f"{low}–{high}: {n} lead(s)"
        parts.append(
            f'<g class="bin"><rect x="{x + 2:.1f}" y="{base - bar:.1f}" width="{column - 4:.1f}" '
            f'height="{bar:.1f}" fill="{COLOURS[0]}"><title>{escape(caption)}</title></rect>'
            + (f'<text x="{x + column / 2:.1f}" y="{base - bar - 4:.1f}" '
               f'text-anchor="middle">{n}</text>' if n else "")
            + f'<text x="{x + column / 2:.1f}" y="{base + 16}" text-anchor="middle" '
            f'class="tick">{escape(low)}</text></g>'
        )
    parts.append(
        f'<text x="{WIDTH - 10}" y="{base + 34}" text-anchor="end" class="tick">'
        f"bins of {escape(human_duration(step, compact=True))}</text></svg>"
    )
    return "".join(parts)


def _nice_step(raw: float) -> float:
    """A bin width a person would pick: 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1, 2, 7 d…"""
    for candidate in (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                      86400, 172800, 604800):
        if raw <= candidate:
            return float(candidate)
    return float(math.ceil(raw / 604800) * 604800)
