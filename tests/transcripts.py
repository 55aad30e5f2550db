"""Play a conversation against the pure engine, the way transcript tests read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conversations.dsl import Script
from conversations.engine import step
from conversations.exchange import Event, Inbound, Reply
from conversations.loader import load_script
from conversations.state import ConversationState

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "conversations" / "scripts" / "default.yaml"
DEFAULT = load_script(DEFAULT_PATH).script


@dataclass
class Transcript:
    script: Script = DEFAULT
    lang: str = "en"
    state: ConversationState = field(init=False)
    now: datetime = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    replies: list[Reply] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = ConversationState.fresh(script_id=self.script.id, lang=self.script.lang)

    def _send(self, inbound: Inbound) -> list[Reply]:
        self.now += timedelta(seconds=5)
        result = step(self.script, self.state, inbound, self.now)
        self.state = result.state
        self.replies = list(result.replies)
        self.events.extend(result.events)
        return self.replies

    def say(self, text: str) -> list[Reply]:
        return self._send(Inbound.parse_text(text, first_name="Ada", language_code=self.lang))

    def tap(self, label: str) -> list[Reply]:
        """Tap the button labelled `label` among the last replies."""
        for reply in reversed(self.replies):
            for choice in reply.choices:
                if choice.label == label:
                    return self._send(Inbound(kind="choice", choice=choice.token))
        raise AssertionError(f"no button {label!r} in {[c.label for r in self.replies for c in r.choices]}")

    def tap_token(self, token: str) -> list[Reply]:
        return self._send(Inbound(kind="choice", choice=token))

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.replies)

    @property
    def asked(self) -> str | None:
        questions = [r.question_id for r in self.replies if r.question_id]
        return questions[-1] if questions else None

    def events_of(self, kind: type) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]
