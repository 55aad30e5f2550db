"""Replay shares work between conversations; the report must be what running each alone gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bot.bootstrap import build
from bot.lifecycle.replay import Replayer, replay_all
from bot.lifecycle.replay_inputs import load_conversations
from bot.settings import Settings
from conversations.loader import parse_script
from tests.lifecycle_helpers import DEFAULT_TEXT, variant_of
from tests.lifecycle_seed import GIBBERISH, seed

CANDIDATES = {
    "same": DEFAULT_TEXT,
    "sql raised": variant_of(DEFAULT_TEXT, "thresholds: {mql: 40, sql: 70}",
                             "thresholds: {mql: 40, sql: 80}"),
}


@pytest.mark.parametrize("candidate", sorted(CANDIDATES))
def test_shared_replay_gives_exactly_the_report_of_replaying_each_alone(
        tmp_path: Path, candidate: str) -> None:
    container = build(Settings(database_url=f"sqlite:///{tmp_path / 'leadbot.db'}",
                               leadbot_script_reload_seconds=60))
    try:
        seed(container.service, 120)
        added = container.lifecycle.add_synonym(DEFAULT_TEXT, "sector", "retail", GIBBERISH)
        with Session(container.engine) as session:
            stored = load_conversations(session)
    finally:
        container.close()
    old = parse_script(DEFAULT_TEXT, filename="default.yaml")
    texts = {**CANDIDATES, "synonym": added.yaml_text}
    for text in (texts[candidate], texts["synonym"]):
        new = parse_script(text, filename="candidate.yaml")
        alone = replay_all(stored, Replayer(old, shared=False), Replayer(new, shared=False))
        shared = replay_all(stored, Replayer(old), Replayer(new))
        assert alone[1].conversations == len(stored) > 100
        assert shared == alone
        # The served version's stored states score as replaying it does.
        assert replay_all(stored, Replayer(old), Replayer(new), old_version=1) == alone
