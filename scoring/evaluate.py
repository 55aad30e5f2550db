"""Scoring: points from answers into fit and intent, temperature, lifecycle stage, and why.

Pure functions over the script's scoring config and the options a lead chose. The
reasons ("why") are written for the sales team: option labels in the script's alert
language, with the prospect's own words quoted beside them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from conversations.conditions import facts_for, holds, stage_rank
from conversations.dsl import ScoringConfig, Script, options_of
from conversations.dsl_base import Points, Stage, Temperature
from conversations.state import EngagementHit


@dataclass(frozen=True, slots=True)
class Contribution:
    """Points one answer (or engagement action) brought, and how to say it."""

    source: str  # question id or action id
    label: str  # what was chosen or said, as a sales rep would read it
    points: Points
    words: str = ""  # the prospect's own words, when they differ from the label


@dataclass(frozen=True, slots=True)
class Score:
    fit: int
    intent: int
    temperature: Temperature
    reasons: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.fit + self.intent


def _cap(value: int, cap: int | None) -> int:
    return value if cap is None else min(value, cap)


def score_contributions(config: ScoringConfig, contributions: Sequence[Contribution]) -> Score:
    fit = _cap(sum(c.points.fit for c in contributions), config.caps.fit)
    intent = _cap(sum(c.points.intent for c in contributions), config.caps.intent)
    return Score(
        fit=fit,
        intent=intent,
        temperature=temperature_for(config, fit + intent),
        reasons=explain(contributions),
    )


def temperature_for(config: ScoringConfig, total: int) -> Temperature:
    if total >= config.temperature.hot:
        return "hot"
    if total >= config.temperature.warm:
        return "warm"
    return "cold"


def explain(contributions: Sequence[Contribution]) -> tuple[str, ...]:
    """Human-readable reasons, biggest effect first: "budget 20–100 k€: +25 intent"."""
    ranked = sorted(contributions, key=lambda c: -abs(c.points.total))
    reasons = []
    for contribution in ranked:
        parts = []
        if contribution.points.fit:
            parts.append(f"{contribution.points.fit:+d} fit")
        if contribution.points.intent:
            parts.append(f"{contribution.points.intent:+d} intent")
        if parts:
            said = f"{contribution.source} {contribution.label}".rstrip()
            if contribution.words:
                said += f" “{contribution.words}”"
            reasons.append(f"{said}: {', '.join(parts)}")
    return tuple(reasons)


def contributions_from_answers(
    script: Script, options: Mapping[str, str | None], *, lang: str,
    words: Mapping[str, str] | None = None,
) -> list[Contribution]:
    """What each answered question's chosen option is worth (labels in `lang`)."""
    found = []
    for question in script.questions:
        option_id = options.get(question.id)
        if option_id is None:
            continue
        for option in options_of(question):
            if option.id == option_id:
                label = option.label.get(lang, script.lang)
                said = quoted_words((words or {}).get(question.id, ""), label)
                found.append(Contribution(question.id, label, option.points, said))
                break
    return found


def quoted_words(words: str, label: str) -> str:
    """The prospect's words worth quoting beside a label: not when they just repeat it."""
    said = " ".join(words.split())
    if not said or said.casefold() == label.casefold():
        return ""
    return said if len(said) <= 80 else said[:79] + "…"


def evaluate_stage(
    script: Script,
    *,
    previous: Stage,
    options: Mapping[str, str | None],
    score: Score,
) -> Stage:
    """The lifecycle stage: new → engaged → mql → sql, or disqualified. Never moves back."""
    if previous == "disqualified":
        return previous
    config = script.scoring
    facts = facts_for(options, stage=previous, score=score)
    if (
        stage_rank(previous) < stage_rank("sql")
        and config.disqualify_when is not None
        and holds(config.disqualify_when, facts)
    ):
        return "disqualified"
    computed: Stage = "new"
    if options:
        computed = "engaged"
    if score.total >= config.thresholds.mql:
        computed = "mql"
    if score.total >= config.thresholds.sql and all(q in options for q in config.sql_requires):
        computed = "sql"
    return computed if stage_rank(computed) > stage_rank(previous) else previous


def contributions_from_engagement(
    script: Script, hits: Sequence[EngagementHit], *, now: datetime | None, lang: str
) -> list[Contribution]:
    """What the lead's engagement is worth now: decayed by the half-life, repeats as configured."""
    config = script.engagement
    counted: set[str] = set()
    found = []
    for hit in hits:
        action = config.action(hit.action)
        if action is None:
            continue  # the action left the script: it no longer scores
        if not action.repeat and action.id in counted:
            continue
        counted.add(action.id)
        factor = 1.0
        if config.half_life is not None and now is not None and now > hit.at:
            factor = 0.5 ** ((now - hit.at) / config.half_life)
        points = Points(fit=round(action.points.fit * factor),
                        intent=round(action.points.intent * factor))
        # Outside signals have no button label: the action id alone says it.
        label = action.label.get(lang, script.lang) if action.label else ""
        found.append(Contribution(action.id, label, points))
    return found


def evaluate(
    script: Script,
    options: Mapping[str, str | None],
    *,
    previous_stage: Stage,
    lang: str,
    engagement: Sequence[EngagementHit] = (),
    now: datetime | None = None,
    words: Mapping[str, str] | None = None,
) -> tuple[Score, Stage]:
    """Score the answers and engagement (as of `now`) and derive the stage in one call.

    `lang` is the language the reasons are written in; `words` the prospect's answers
    as typed, quoted in the reasons.
    """
    score = evaluate_score(script, options, lang=lang, engagement=engagement, now=now,
                           words=words)
    return score, evaluate_stage(script, previous=previous_stage, options=options, score=score)


def evaluate_score(
    script: Script,
    options: Mapping[str, str | None],
    *,
    lang: str,
    engagement: Sequence[EngagementHit] = (),
    now: datetime | None = None,
    words: Mapping[str, str] | None = None,
) -> Score:
    """The score of the answers and engagement (as of `now`): `evaluate` without the stage."""
    contributions = contributions_from_answers(script, options, lang=lang, words=words)
    if engagement:
        contributions += contributions_from_engagement(script, engagement, now=now, lang=lang)
    return score_contributions(script.scoring, contributions)
