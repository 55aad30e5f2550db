"""Small statistics for reports: percentiles and durations."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` quantile with linear interpolation between ranks (numpy's default).

    `percentile(v, 0.5)` is the median as `statistics.median` computes it.
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is nothing to divide by (never a fake 0 %)."""
    return part / whole if whole else None


def human_duration(seconds: float | None, *, compact: bool = False) -> str:
    """`3d 4h`, `2h 05m`, `4m 10s`: what a terminal reader wants, not the exact figure.

    `compact` drops a zero second unit (`5m`, `2h`) for chart axes.
    """
    if seconds is None:
        return "—"
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d" if compact and not hours else f"{days}d {hours}h"
    if hours:
        return f"{hours}h" if compact and not minutes else f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m" if compact and not secs else f"{minutes}m {secs:02d}s"
    return f"{secs}s"
