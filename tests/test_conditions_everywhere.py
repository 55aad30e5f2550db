"""Every condition kind, in every place a condition can appear, means the same in
`leadbot script simulate` and in the live service.

One small script per (place, kind): the condition under test sits in `ask_when`,
`next`, `scoring.disqualify_when`, `routing` or a follow-up's `when`. A hot answer set
(the condition holds) and a cold one are run through the `script simulate` command
and through `LeadService` on a real SQLite file; both must show the expected effect.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bot.bootstrap import Container, build
from bot.cli import main
from bot.service import ConversationKey, Profile
from bot.settings import Settings
from conversations.exchange import Inbound
from storage import migrate
from storage.database import create_database_engine

HOT = {"sector": "software", "budget": "50k", "detail": "we need it"}  # fit 30 + intent 50
COLD = {"sector": "other", "budget": "1000", "detail": "we need it"}  # 0 points
PLACES = ("ask_when", "next", "disqualify_when", "routing", "follow_up")

# kind -> (condition where the stage is sql, condition for disqualify_when (evaluated
# with the stage before the answer), does it hold for the cold answer set?)
KINDS: dict[str, tuple[dict[str, Any], dict[str, Any], bool]] = {
    "answer": ({"answer": {"sector": ["software"]}},) * 2 + (False,),
    "answered": ({"answered": ["budget"]},) * 2 + (True,),
    "not_answered": ({"not_answered": ["referral"]},) * 2 + (True,),
    "stage_at_least": ({"stage_at_least": "sql"}, {"stage_at_least": "engaged"}, False),
    "stage": ({"stage": ["sql"]}, {"stage": ["engaged"]}, False),
    "temperature": ({"temperature": ["hot"]},) * 2 + (False,),
    "score_at_least": ({"score_at_least": {"fit": 30, "intent": 50, "total": 80}},) * 2
    + (False,),
    "any": ({"any": [{"temperature": ["hot"]}, {"answer": {"sector": ["public"]}}]},) * 2
    + (False,),
    "all": ({"all": [{"temperature": ["hot"]}, {"answered": ["sector"]}]},) * 2 + (False,),
    "not": ({"not": {"temperature": ["cold"]}},) * 2 + (False,),
}
# In disqualify_when the stage kinds hold for the cold set too (its stage is engaged).
COLD_DISQUALIFIED = {"answered", "not_answered", "stage_at_least", "stage"}


def script_for(place: str, condition: dict[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = {"id": "detail", "type": "text", "ask": "Tell us more?"}
    budget: dict[str, Any] = {
        "id": "budget", "type": "money", "ask": "Budget?",
        "bands": [{"id": "small", "label": "Small", "below": 5000},
                  {"id": "big", "label": "Big", "points": {"intent": 50}}],
    }
    script: dict[str, Any] = {
        "id": "conditions",
        "greeting": "Hi {first_name}!",
        "questions": [
            {"id": "sector", "type": "choice", "ask": "Sector?", "options": [
                {"id": "software", "label": "Software", "synonyms": ["saas"],
                 "points": {"fit": 30}},
                {"id": "public", "label": "Public sector"},
                {"id": "other", "label": "Other"},
            ]},
            {"id": "referral", "type": "text", "ask": "Who sent you?",
             "ask_when": {"answer": {"sector": ["public"]}}},
            budget,
            detail,
        ],
        "scoring": {"thresholds": {"mql": 40, "sql": 70}, "temperature": {"warm": 30, "hot": 60}},
        "routing": [{"channel": "#sales"}],
    }
    if place == "ask_when":
        detail["ask_when"] = condition
    elif place == "next":
        budget["next"] = [{"when": condition, "goto": "detail"}, {"goto": "end"}]
    elif place == "disqualify_when":
        script["scoring"]["disqualify_when"] = condition
    elif place == "routing":
        script["routing"] = [{"when": condition, "channel": "#sales-hot"}, {"channel": "#sales"}]
    else:
        script["nurture"] = {"follow_ups": [
            {"id": "hot_fu", "when": condition, "after": "1d", "text": "Following up!"}]}
    return script


def expected(place: str, holds: bool, hot: bool) -> dict[str, Any]:
    """What each place shows when its condition holds or not."""
    stage = "sql" if hot else "engaged"
    if place in ("ask_when", "next"):
        return {"asked_detail": holds, "stage": stage}
    if place == "disqualify_when":
        return {"stage": "disqualified" if holds else stage}
    if place == "routing":
        return {"channel": "#sales-hot" if holds else "#sales", "stage": stage}
    return {"follow_up": "follow_up:hot_fu" if holds else None, "stage": stage}


def simulated(path: Path, answers: dict[str, str]) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["script", "simulate", str(path), "--answers",
                                       json.dumps(answers)])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    return {"stage": out["stage"], "asked_detail": "detail" in out["answers"],
            "channel": out["channel"], "follow_up": out["next_nudge"],
            "score": out["scores"]["total"], "temperature": out["temperature"]}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def live(app: Container, clock: Clock, chat: str, answers: dict[str, str]) -> dict[str, Any]:
    """Play the prospect on the service: answer whatever question the bot asks."""
    key = ConversationKey("telegram", chat)
    profile = Profile(first_name="Ada", language_code="en")

    def send(inbound: Inbound) -> Any:
        return app.service.handle_message(key, inbound, message_id=None, profile=profile)

    handled = send(Inbound(kind="command", command="start"))
    for _ in range(10):
        asked = [r.question_id for r in handled.replies if r.question_id]
        if not asked:
            break
        handled = send(Inbound.parse_text(answers[asked[-1]]))
    with app.uow() as uow:
        lead = uow.leads.by_chat("telegram", chat)
        assert lead is not None
        lead_id = lead.id
        answered = {a.question_id for a in uow.answers.current_for(lead.id)}
        alerts = uow.outbox.for_lead(lead.id, kind="slack_alert")
        next_nudge_at = lead.next_nudge_at
        outcome = {"stage": lead.stage, "asked_detail": "detail" in answered,
                   "score": lead.score, "temperature": lead.temperature,
                   "channel": alerts[0].destination.removeprefix("slack:") if alerts else None}
    follow_up = None
    if next_nudge_at is not None:  # let the worker's clock reach it: what does it send?
        clock.now = next_nudge_at + timedelta(seconds=1)
        app.service.send_due_nudges()
        with app.uow() as uow:
            texts = [row.payload["text"] for row in uow.outbox.for_lead(lead_id, kind="telegram")]
        follow_up = "follow_up:hot_fu" if "Following up!" in texts else "other nudge"
    outcome["follow_up"] = follow_up
    return outcome


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each case (migrating 100 times is slow)."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    engine = create_database_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture
def case_db(template_db: Path, tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "leadbot.db"
    shutil.copy(template_db, path)
    yield f"sqlite:///{path}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("place", PLACES)
def test_a_condition_means_the_same_in_simulate_and_in_the_service(
    place: str, kind: str, case_db: str, tmp_path: Path
) -> None:
    at_sql, at_disqualify, holds_when_cold = KINDS[kind]
    condition = at_disqualify if place == "disqualify_when" else at_sql
    path = tmp_path / "script.yaml"
    path.write_text(yaml.safe_dump(script_for(place, condition), sort_keys=False))
    clock = Clock()
    app = build(Settings(database_url=case_db), script_path=path, clock=clock,
                migrate_database=False)
    try:
        for name, answers, hot in (("hot", HOT, True), ("cold", COLD, False)):
            holds = True if hot else (
                kind in COLD_DISQUALIFIED if place == "disqualify_when" else holds_when_cold)
            want = expected(place, holds, hot)
            sim = simulated(path, answers)
            got = live(app, clock, name, answers)
            assert {k: sim[k] for k in want} == want, f"script simulate, {name} lead"
            if place == "routing" and got["stage"] != "sql":
                got["channel"] = sim["channel"]  # only a qualified lead is routed live
            assert {k: got[k] for k in want} == want, f"live service, {name} lead"
            assert (sim["score"], sim["temperature"]) == (got["score"], got["temperature"])
    finally:
        app.close()
