"""Lead scoring: pure functions from answers to fit, intent, temperature and stage."""

from scoring.evaluate import (
    Contribution,
    Score,
    contributions_from_answers,
    evaluate,
    evaluate_score,
    evaluate_stage,
    explain,
    score_contributions,
    temperature_for,
)

__all__ = [
    "Contribution",
    "Score",
    "contributions_from_answers",
    "evaluate",
    "evaluate_score",
    "evaluate_stage",
    "explain",
    "score_contributions",
    "temperature_for",
]
