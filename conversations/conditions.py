"""Evaluate the DSL's declarative conditions against what is known about a lead.

:func:`facts_for` is the one constructor of the facts a condition sees: routing,
branching (`ask_when`, `next`), disqualification, follow-ups, simulation and
scoring all build them through it, so a condition means the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conversations.dsl_base import STAGE_ORDER, Condition, Stage, Temperature

if TYPE_CHECKING:  # scoring imports this module: the type alone, to avoid a cycle
    from scoring.evaluate import Score


@dataclass(frozen=True, slots=True)
class Facts:
    """What a condition can look at."""

    options: Mapping[str, str | None]  # question id -> matched option id (None: free text)
    stage: Stage
    fit: int
    intent: int
    temperature: Temperature

    @property
    def total(self) -> int:
        return self.fit + self.intent


def facts_for(options: Mapping[str, str | None], *, stage: Stage, score: Score) -> Facts:
    """The facts about a lead with these answers, at this stage, with this score."""
    return Facts(options=options, stage=stage, fit=score.fit, intent=score.intent,
                 temperature=score.temperature)


def stage_rank(stage: str) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else -1


def holds(condition: Condition, facts: Facts) -> bool:
    """True when every part of `condition` holds."""
    if condition.answer is not None:
        for question_id, option_ids in condition.answer.items():
            if facts.options.get(question_id) not in option_ids:
                return False
    if condition.answered is not None:
        if any(question_id not in facts.options for question_id in condition.answered):
            return False
    if condition.not_answered is not None:
        if any(question_id in facts.options for question_id in condition.not_answered):
            return False
    if condition.stage_at_least is not None:
        if stage_rank(facts.stage) < stage_rank(condition.stage_at_least):
            return False
    if condition.stage is not None and facts.stage not in condition.stage:
        return False
    if condition.temperature is not None and facts.temperature not in condition.temperature:
        return False
    if condition.score_at_least is not None:
        scores = {"fit": facts.fit, "intent": facts.intent, "total": facts.total}
        if any(scores[name] < minimum for name, minimum in condition.score_at_least.items()):
            return False
    if condition.any is not None and not any(holds(c, facts) for c in condition.any):
        return False
    if condition.all is not None and not all(holds(c, facts) for c in condition.all):
        return False
    if condition.not_ is not None and holds(condition.not_, facts):
        return False
    return True
