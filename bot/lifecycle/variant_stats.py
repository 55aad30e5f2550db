"""Per-variant results of an experiment: counts, conversion to SQL, its interval and test.

Counted per conversation (each conversation keeps the variant it was assigned):
started, completed, reached MQL (MQL or SQL), reached SQL, and the time from its
start to SQL. Read-only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.lifecycle.experiments import two_proportion_p_value, wilson_interval
from bot.lifecycle.models import Variant, VariantCounts
from bot.reports.stats import percentile
from storage.models import Conversation

SIGNIFICANCE = 0.05


def variant_counts(session: Session, experiment: str,
                   variants: tuple[Variant, ...]) -> tuple[VariantCounts, ...]:
    tallies: dict[str, list[int]] = {v.name: [0, 0, 0, 0] for v in variants}
    to_sql: dict[str, list[float]] = {v.name: [] for v in variants}
    query = select(Conversation.variant, Conversation.status, Conversation.state).where(
        Conversation.experiment == experiment)
    for variant, status, state in session.execute(query):
        if variant not in tallies or not isinstance(state, dict):
            continue
        stage = state.get("stage")
        counts = tallies[variant]
        counts[0] += 1
        counts[1] += status == "completed" or bool(state.get("completed_at"))
        counts[2] += stage in ("mql", "sql")
        counts[3] += stage == "sql"
        seconds = _seconds(state.get("started_at"), state.get("qualified_at"))
        if stage == "sql" and seconds is not None:
            to_sql[variant].append(seconds)
    first = tallies[variants[0].name]
    result = []
    for index, variant in enumerate(variants):
        started, completed, mql, sql = tallies[variant.name]
        interval = wilson_interval(sql, started)
        p_value = None if index == 0 else two_proportion_p_value(first[3], first[0], sql, started)
        result.append(VariantCounts(
            variant=variant.name, version=variant.version, weight=variant.weight,
            started=started, completed=completed, mql=mql, sql=sql,
            conversion=sql / started if started else None,
            ci_low=interval[0] if interval else None, ci_high=interval[1] if interval else None,
            p_value=p_value, significant=None if p_value is None else p_value < SIGNIFICANCE,
            median_seconds_to_sql=percentile(to_sql[variant.name], 0.5),
        ))
    return tuple(result)


def _seconds(start: object, end: object) -> float | None:
    if not isinstance(start, str) or not isinstance(end, str):
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None
