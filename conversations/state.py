"""A conversation's state: everything the engine needs between two messages.

It is a frozen pydantic model so it round-trips through JSON into the database
(`conversations.state` column) and any process can pick the chat up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict

from conversations.dsl_base import Stage

Status = Literal["new", "active", "completed", "stopped"]


class AnswerState(BaseModel):
    """The current answer to one question (the latest, when corrected)."""

    model_config = ConfigDict(frozen=True)

    raw_text: str
    option_id: str | None = None
    value: float | str | None = None
    confidence: float = 1.0
    via: Literal["text", "button", "contact"] = "text"


class EngagementHit(BaseModel):
    """An engagement action the lead took (a button, a webinar…), and when."""

    model_config = ConfigDict(frozen=True)

    action: str
    at: datetime


class ConversationState(BaseModel):
    model_config = ConfigDict(frozen=True)

    script_id: str
    lang: str
    status: Status = "new"
    current: str | None = None  # id of the question awaiting an answer
    answers: dict[str, AnswerState] = {}
    history: tuple[str, ...] = ()  # question ids in the order they were answered
    retries: int = 0
    # Option ids offered in a "did you mean…?" for the current question.
    suggestions: tuple[str, ...] = ()
    pending_raw: str | None = None
    stage: Stage = "new"
    source: str | None = None
    first_name: str = ""
    started_at: datetime | None = None
    qualified_at: datetime | None = None
    confirm_forget: bool = False
    engagement: tuple[EngagementHit, ...] = ()
    last_activity: datetime | None = None  # the prospect's last message
    completed_at: datetime | None = None
    reminders_sent: int = 0  # since the prospect's last message
    nudges_sent: int = 0  # reminders and follow-ups, in all
    follow_ups_sent: tuple[str, ...] = ()

    @classmethod
    def fresh(cls, *, script_id: str, lang: str) -> ConversationState:
        return cls(script_id=script_id, lang=lang)


class StateChanges(TypedDict, total=False):
    """The fields of :class:`ConversationState` a step may change, with their types.

    `Turn.update(**changes)` takes these keywords only, so a misspelt field or a
    wrong type is a mypy error instead of a silent no-op (a test keeps this list
    equal to the model's fields).
    """

    script_id: str
    lang: str
    status: Status
    current: str | None
    answers: dict[str, AnswerState]
    history: tuple[str, ...]
    retries: int
    suggestions: tuple[str, ...]
    pending_raw: str | None
    stage: Stage
    source: str | None
    first_name: str
    started_at: datetime | None
    qualified_at: datetime | None
    confirm_forget: bool
    engagement: tuple[EngagementHit, ...]
    last_activity: datetime | None
    completed_at: datetime | None
    reminders_sent: int
    nudges_sent: int
    follow_ups_sent: tuple[str, ...]
