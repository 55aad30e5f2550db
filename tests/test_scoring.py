"""Scoring: points, caps, negative points, temperature, stages that only move forward."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conversations.dsl import Points, ScoringConfig
from conversations.loader import load_script
from scoring import Contribution, evaluate, evaluate_stage, explain, score_contributions

SCRIPT = load_script(Path(__file__).resolve().parents[1] / "conversations/scripts/default.yaml").script
STAGES = ["new", "engaged", "mql", "sql", "disqualified"]


def test_hot_answers_reach_sql_only_with_contact() -> None:
    options = {"sector": "software", "company_size": "medium", "budget": "20k_100k",
               "urgency": "now"}
    score, stage = evaluate(SCRIPT, options, previous_stage="new", lang="en")
    assert (score.fit, score.intent, score.total) == (40, 55, 95)
    assert score.temperature == "hot"
    assert stage == "mql"  # sql_requires: [email]
    score, stage = evaluate(SCRIPT, {**options, "email": None}, previous_stage="mql", lang="en")
    assert stage == "sql"


def test_reasons_explain_biggest_first() -> None:
    options = {"sector": "software", "budget": "20k_100k", "urgency": "now"}
    score, _ = evaluate(SCRIPT, options, previous_stage="new", lang="en")
    assert score.reasons == (
        "urgency Within a month: +30 intent",
        "budget 20–100 k€: +25 intent",
        "sector Software & SaaS: +20 fit",
    )


def test_negative_points_and_disqualification() -> None:
    options = {"sector": "education", "company_size": "micro", "budget": "lt_5k",
               "urgency": "exploring"}
    score, stage = evaluate(SCRIPT, options, previous_stage="engaged", lang="en")
    assert score.intent == -20 and score.temperature == "cold"
    assert stage == "disqualified"


def test_caps_limit_each_sub_score() -> None:
    config = ScoringConfig.model_validate({"caps": {"fit": 30, "intent": 10}})
    contributions = [Contribution("a", "x", Points(fit=25, intent=8)),
                     Contribution("b", "y", Points(fit=25, intent=8))]
    score = score_contributions(config, contributions)
    assert (score.fit, score.intent) == (30, 10)


def test_explanation_skips_zero_points() -> None:
    assert explain([Contribution("sector", "Other", Points())]) == ()


@given(
    previous=st.sampled_from(STAGES),
    options=st.dictionaries(
        st.sampled_from(["sector", "company_size", "budget", "urgency", "email"]),
        st.sampled_from(["software", "micro", "enterprise", "gt_100k", "lt_5k", "now",
                         "exploring", None]),
    ),
)
def test_stages_never_move_backwards(previous: str, options: dict[str, str | None]) -> None:
    score, stage = evaluate(SCRIPT, options, previous_stage=previous, lang="en")
    order = ["new", "engaged", "mql", "sql"]
    if previous == "disqualified":
        assert stage == "disqualified"
    elif stage != "disqualified":
        assert order.index(stage) >= order.index(previous)
    else:
        assert previous != "sql"  # an SQL lead is only disqualified by a rep


@pytest.mark.parametrize("total,expected", [(-5, "cold"), (29, "cold"), (30, "warm"),
                                            (59, "warm"), (60, "hot")])
def test_temperature_bands(total: int, expected: str) -> None:
    points = Points(fit=total // 2, intent=total - total // 2)  # both under the script's caps
    score = score_contributions(SCRIPT.scoring, [Contribution("x", "y", points)])
    assert score.total == total
    assert score.temperature == expected


def test_thresholds_decide_mql_without_answers_being_needed() -> None:
    score = score_contributions(SCRIPT.scoring, [Contribution("x", "y", Points(fit=40))])
    assert evaluate_stage(SCRIPT, previous="new", options={}, score=score) == "mql"
    low = score_contributions(SCRIPT.scoring, [Contribution("x", "y", Points(fit=39))])
    assert evaluate_stage(SCRIPT, previous="new", options={"sector": "other"}, score=low) == "engaged"
