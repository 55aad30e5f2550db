"""Values that cross the engine's boundary: what comes in, what goes out, what happened.

Channels (Telegram, terminal, webhook) translate their own messages into an
:class:`Inbound`, and render :class:`Reply` values back. Domain events tell the
service what to persist and what to alert on. All are frozen and JSON-friendly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from conversations.dsl_base import Stage, Temperature
from conversations.nurture import Nudge
from conversations.routing import RouteChoice
from conversations.state import ConversationState
from scoring.evaluate import Score

InboundKind = Literal[
    "text", "command", "choice", "contact", "unsupported", "nudge", "engagement"
]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a prospect, channel-neutral.

    * `text`: a typed answer;
    * `command`: `/start`, `/restart`, `/help`, `/stop`, `/back`, `/lang`,
      `/forget` with `args` (e.g. the deep-link payload of `/start`);
    * `choice`: a tapped button; `choice` holds the token the engine put on it;
    * `contact`: a phone number shared by the sender (their own contact);
    * `unsupported`: a sticker, photo, voice note… (`text` names what it was);
    * `nudge`: the scheduler's tick — the engine sends the reminder or follow-up
      that is due, if any (nothing is due: nothing happens);
    * `engagement`: an outside signal (`text` is the engagement action id).
    """

    kind: InboundKind
    text: str = ""
    command: str = ""
    args: tuple[str, ...] = ()
    choice: str = ""
    first_name: str = ""
    language_code: str = ""

    @classmethod
    def parse_text(cls, text: str, *, first_name: str = "", language_code: str = "") -> Inbound:
        """A typed line: `/word args…` is a command, anything else an answer."""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, *rest = stripped.split()
            command = head[1:].split("@", 1)[0].lower()
            if command.isidentifier():
                return cls(
                    kind="command",
                    command=command,
                    args=tuple(rest),
                    first_name=first_name,
                    language_code=language_code,
                )
        return cls(kind="text", text=text, first_name=first_name, language_code=language_code)


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: `token` comes back in :attr:`Inbound.choice` when tapped (≤ 64 bytes)."""

    token: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One thing the bot says. `question_id` is set when it asks a question.

    A turn's replies are composed into the messages sent, one per turn, by
    :func:`conversations.outgoing.one_message_per_turn` (greeting + question is one message).
    """

    text: str
    choices: tuple[Choice, ...] = ()
    question_id: str | None = None
    request_phone: bool = False
    # True for the confirmation that replaces a tapped question's keyboard.
    remove_keyboard: bool = False


# --- domain events -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerRecorded:
    question_id: str
    raw_text: str
    option_id: str | None
    value: float | str | None
    confidence: float
    via: Literal["text", "button", "contact"]
    type: Literal["answer_recorded"] = "answer_recorded"


@dataclass(frozen=True, slots=True)
class AnswerNotUnderstood:
    question_id: str
    raw_text: str
    type: Literal["answer_not_understood"] = "answer_not_understood"


@dataclass(frozen=True, slots=True)
class StageChanged:
    previous: Stage
    stage: Stage
    score: int
    fit: int
    intent: int
    temperature: Temperature
    reasons: tuple[str, ...]
    type: Literal["stage_changed"] = "stage_changed"


@dataclass(frozen=True, slots=True)
class ConversationStarted:
    source: str | None
    language: str
    restart: bool = False
    type: Literal["conversation_started"] = "conversation_started"


@dataclass(frozen=True, slots=True)
class ConversationCompleted:
    type: Literal["conversation_completed"] = "conversation_completed"


@dataclass(frozen=True, slots=True)
class ConversationStopped:
    type: Literal["conversation_stopped"] = "conversation_stopped"


@dataclass(frozen=True, slots=True)
class ForgetRequested:
    """The prospect confirmed /forget: the service erases their data."""

    type: Literal["forget_requested"] = "forget_requested"


@dataclass(frozen=True, slots=True)
class EngagementRecorded:
    action: str
    via: Literal["button", "signal"]
    type: Literal["engagement_recorded"] = "engagement_recorded"


@dataclass(frozen=True, slots=True)
class NudgeSent:
    key: str  # "reminder:0", "follow_up:case_study"
    type: Literal["nudge_sent"] = "nudge_sent"


@dataclass(frozen=True, slots=True)
class MessageAfterFlow:
    """Free text sent after the flow ended: relayed to sales (e.g. a Slack thread)."""

    text: str
    type: Literal["message_after_flow"] = "message_after_flow"


Event = (
    AnswerRecorded
    | AnswerNotUnderstood
    | StageChanged
    | ConversationStarted
    | ConversationCompleted
    | ConversationStopped
    | ForgetRequested
    | MessageAfterFlow
    | EngagementRecorded
    | NudgeSent
)


@dataclass(frozen=True, slots=True)
class Step:
    """What one inbound message did: the new state, the replies, the events, and where
    that leaves the lead — its score, the routing rule it matches (None: the default
    channel) and the next nudge it is owed — so no caller recomputes them."""

    state: ConversationState
    score: Score
    route: RouteChoice | None
    next_nudge: Nudge | None
    replies: tuple[Reply, ...] = ()
    events: tuple[Event, ...] = field(default_factory=tuple)
