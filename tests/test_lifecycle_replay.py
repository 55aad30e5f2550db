"""Replay before publishing: stored conversations through a candidate, in memory, nothing written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot.bootstrap import Container, build
from bot.lifecycle.errors import InvalidScript, LifecycleError
from bot.settings import Settings
from tests.databases import fresh_postgres_database, postgres_unavailable_reason
from tests.lifecycle_helpers import DEFAULT_TEXT, TABLES, variant_of
from tests.lifecycle_seed import GIBBERISH, seed

CONVERSATIONS = 240


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    """One seeded database per engine for the whole module: replay never writes to it."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('replay') / 'leadbot.db'}"
        else:
            reason = postgres_unavailable_reason()
            if reason is not None:
                pytest.skip(reason)
            url = stack.enter_context(fresh_postgres_database())
        container = build(Settings(database_url=url, leadbot_script_reload_seconds=60))
        stack.callback(container.close)
        seed(container.service, CONVERSATIONS)
        yield container


def counts(container: Container) -> dict[str, int]:
    with container.engine.connect() as db:
        return {t: int(db.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in TABLES}


def stored_leads(container: Container) -> dict[int, tuple[str, int]]:
    with container.engine.connect() as db:
        return {int(i): (stage, int(score)) for i, stage, score in db.execute(text(
            "SELECT id, stage, score FROM leads"))}


def test_replay_of_the_active_script_reproduces_what_happened(seeded: Container) -> None:
    report = seeded.lifecycle.replay(DEFAULT_TEXT)
    leads = stored_leads(seeded)
    assert report.active_version == 1
    assert report.totals.conversations == CONVERSATIONS == len(leads)
    assert report.totals.changed == 0
    for replayed in report.conversations:
        assert (replayed.old.stage, replayed.old.score) == leads[replayed.lead_id]
    stages = {c.old.stage for c in report.conversations}
    assert {"engaged", "mql", "sql"} <= stages


def test_raising_the_sql_threshold_demotes_exactly_the_leads_between(seeded: Container) -> None:
    before = counts(seeded)
    candidate = variant_of(DEFAULT_TEXT, "thresholds: {mql: 40, sql: 70}",
                           "thresholds: {mql: 40, sql: 85}")
    report = seeded.lifecycle.replay(candidate)
    between = {lead for lead, (stage, score) in stored_leads(seeded).items()
               if stage == "sql" and score < 85}
    assert between, "the seed must have SQL leads scoring 70–84"
    demoted = {c.lead_id for c in report.conversations
               if c.old.stage == "sql" and c.new.stage != "sql"}
    assert demoted == between
    assert all(c.new.stage == "mql" for c in report.conversations if c.lead_id in between)
    totals = report.totals
    assert (totals.moved_down, totals.alerts_lost, totals.moved_up, totals.alerts_gained) == (
        len(between), len(between), 0, 0)
    assert counts(seeded) == before  # replay wrote nothing (and queued nothing to send)


def test_a_synonym_makes_unmatched_answers_understood(seeded: Container) -> None:
    with seeded.engine.connect() as db:
        typed = int(db.execute(text(
            "SELECT count(*) FROM events WHERE type = 'answer_not_understood'")).scalar_one())
    service = seeded.lifecycle
    suggestions = service.suggest_for_unmatched()
    assert suggestions[0].example == GIBBERISH and suggestions[0].option is None
    added = service.add_synonym(DEFAULT_TEXT, "sector", "retail", GIBBERISH)
    assert typed > 0 and added.covered == typed
    # One line changed, comments and layout kept.
    changed = [(old, new) for old, new in zip(DEFAULT_TEXT.splitlines(),
                                              added.yaml_text.splitlines()) if old != new]
    assert len(DEFAULT_TEXT.splitlines()) == len(added.yaml_text.splitlines())
    assert len(changed) == 1 and changed[0][1] == changed[0][0][:-1] + f", {GIBBERISH}]"
    report = service.replay(added.yaml_text)
    assert report.totals.newly_understood == typed
    assert report.totals.newly_unmatched == 0


def test_dropping_a_question_reports_it_skipped(seeded: Container) -> None:
    start = DEFAULT_TEXT.index("  - id: phone")
    end = DEFAULT_TEXT.index("\n\n", start)
    candidate = DEFAULT_TEXT[:start] + DEFAULT_TEXT[end + 2:]
    candidate = re.sub(r"\n +phone: .*", "", candidate)  # the examples' answers to it
    report = seeded.lifecycle.replay(candidate)
    asked_phone = sum("phone" in c.old.asked for c in report.conversations)
    assert asked_phone > 0
    assert report.totals.questions_skipped == {"phone": asked_phone}
    assert report.totals.questions_added == {}


def test_since_and_limit_choose_conversations(seeded: Container) -> None:
    assert seeded.lifecycle.replay(DEFAULT_TEXT, limit=10).totals.conversations == 10
    future = datetime(2999, 1, 1, tzinfo=UTC)
    assert seeded.lifecycle.replay(DEFAULT_TEXT, since=future).totals.conversations == 0
    with pytest.raises(LifecycleError, match="--limit 0"):
        seeded.lifecycle.replay(DEFAULT_TEXT, limit=0)
    with pytest.raises(InvalidScript):
        seeded.lifecycle.replay("id: [")
