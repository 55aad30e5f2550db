"""Shared set-up for speed-to-lead tests: a script with an SLA, a prospect who qualifies."""

from __future__ import annotations

from itertools import count
from pathlib import Path
from typing import Any

import yaml

from bot.bootstrap import Container, build
from bot.service import ConversationKey, Profile
from bot.settings import DEFAULT_SCRIPT, Settings
from conversations.exchange import Inbound

QUALIFYING = ["/start", "we sell accounting software", "about 120", "50k", "asap",
              "Ada Lovelace", "Analytical Engines", "ada@example.com", "skip"]
_ids = count(1)


def script_with_sla(tmp_path: Path, sla: dict[str, Any] | None, *, default: dict[str, Any] | None = None,
                    reps: list[str] | None = None) -> Path:
    """The bundled script with a catch-all `#sales` rule carrying `sla` (and `scoring.sla`)."""
    data = yaml.safe_load(DEFAULT_SCRIPT.read_text(encoding="utf-8"))
    rule: dict[str, Any] = {"channel": "#sales"}
    if sla is not None:
        rule["sla"] = sla
    if reps:
        rule["reps"] = reps
    data["routing"] = [rule]
    if default is not None:
        data["scoring"]["sla"] = default
    path = tmp_path / "sla-script.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def open_container(url: str, script: Path | None, clock: Any) -> Container:
    return build(Settings(database_url=url), script_path=script, clock=clock)


def qualify(container: Container, chat_id: str, answers: list[str] = QUALIFYING) -> int:
    """Play a prospect to SQL; returns the lead id."""
    key = ConversationKey("telegram", chat_id)
    handled = None
    for line in answers:
        handled = container.service.handle_message(
            key, Inbound.parse_text(line, first_name="Ada", language_code="en"),
            message_id=f"{chat_id}-{next(_ids)}", profile=Profile(first_name="Ada"),
            outbound="telegram",
        )
    assert handled is not None and handled.stage == "sql", handled
    assert handled.lead_id is not None
    return handled.lead_id
