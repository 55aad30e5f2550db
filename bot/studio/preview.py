"""The preview chat: a prospect's conversation with the draft, run by the real engine in memory.

A :class:`PreviewSession` is what the studio keeps between two messages of the
preview (the engine's state and the lines shown); :func:`preview_turn` feeds one
message to `conversations.engine.step`, exactly as the Telegram channel does, and
records what a prospect would see plus what the marketer wants to watch: the score,
stage and temperature after each answer, and the Slack card once the lead is
sales-qualified. Pure: no database, no clock; nothing reaches the leads tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.slack.alert import AlertCard, AnswerLine
from bot.slack.card_source import option_label, question_label
from conversations.dsl import Script
from conversations.engine import step
from conversations.exchange import AnswerRecorded, Inbound, StageChanged
from conversations.outgoing import one_message_per_turn
from conversations.state import ConversationState
from conversations.turn import score_state
from conversations.vocabulary import Stage, Temperature

PREVIEW_LEAD_ID = 0  # the card of a lead that exists only in the preview
PREVIEW_FIRST_NAME = "Sam"  # Telegram always gives a first name; the preview prospect is Sam
MAX_LINES = 400  # a preview longer than this keeps its latest lines


class PreviewButton(BaseModel):
    model_config = ConfigDict(frozen=True)

    token: str
    label: str


class Standing(BaseModel):
    """Where the lead stands after an answer: what sales would see in the CRM."""

    model_config = ConfigDict(frozen=True)

    score: int
    fit: int
    intent: int
    stage: Stage
    temperature: Temperature
    reasons: tuple[str, ...] = ()


class PreviewLine(BaseModel):
    """One line of the preview: a bot message (with its buttons), the prospect, or a standing."""

    model_config = ConfigDict(frozen=True)

    who: Literal["bot", "prospect", "standing"]
    text: str = ""
    buttons: tuple[PreviewButton, ...] = ()
    standing: Standing | None = None
    stage_changed: bool = False


class PreviewSession(BaseModel):
    """Everything the preview needs between two messages (stored as JSON)."""

    model_config = ConfigDict(frozen=True)

    state: ConversationState | None = None
    lines: tuple[PreviewLine, ...] = ()
    qualified: bool = False  # reached SQL: the Slack card is shown

    @property
    def standing(self) -> Standing | None:
        for line in reversed(self.lines):
            if line.standing is not None:
                return line.standing
        return None

    @property
    def active_buttons(self) -> tuple[PreviewButton, ...]:
        """The buttons of the latest bot message, the ones a prospect would tap now."""
        for line in reversed(self.lines):
            if line.who == "bot":
                return line.buttons
            if line.who == "prospect":
                return ()
        return ()


def start_preview(script: Script, *, lang: str, now: datetime) -> PreviewSession:
    """A fresh preview, as if a prospect whose phone speaks `lang` opened the bot."""
    return preview_turn(
        script, PreviewSession(), Inbound(kind="command", command="start", language_code=lang,
                                     first_name=PREVIEW_FIRST_NAME),
        now=now,
    )


def preview_turn(
    script: Script, session: PreviewSession, inbound: Inbound, *, now: datetime
) -> PreviewSession:
    """Feed one prospect message (typed text, a command or a tapped button) to the engine."""
    state = session.state
    if state is None or state.script_id != script.id:
        state = ConversationState.fresh(script_id=script.id, lang=script.lang)
    if state.current is not None and state.current not in script.question_ids():
        # The draft dropped the question being asked: start again rather than guess.
        state = ConversationState.fresh(script_id=script.id, lang=state.lang)
    lines = list(session.lines)
    shown = _prospect_words(session, inbound)
    if shown:
        lines.append(PreviewLine(who="prospect", text=shown))
    result = step(script, state, inbound, now)
    stage_changed = any(isinstance(e, StageChanged) for e in result.events)
    if any(isinstance(e, (AnswerRecorded, StageChanged)) for e in result.events):
        lines.append(PreviewLine(who="standing", standing=standing_of(script, result.state, now),
                                 stage_changed=stage_changed))
    # The messages a prospect would get on Telegram: one per turn, composed as the service does.
    for reply in one_message_per_turn(result.replies):
        buttons = tuple(PreviewButton(token=c.token, label=c.label) for c in reply.choices)
        lines.append(PreviewLine(who="bot", text=reply.text, buttons=buttons))
    return PreviewSession(
        state=result.state,
        lines=tuple(lines[-MAX_LINES:]),
        qualified=session.qualified or result.state.stage == "sql",
    )


def _prospect_words(session: PreviewSession, inbound: Inbound) -> str:
    """What the prospect's side of the chat shows: their words, or the button they tapped."""
    if inbound.kind == "choice":
        for line in reversed(session.lines):
            for button in line.buttons:
                if button.token == inbound.choice:
                    return button.label
        return ""
    if inbound.kind == "command":
        return "/" + " ".join((inbound.command, *inbound.args))
    return inbound.text


def standing_of(script: Script, state: ConversationState, now: datetime) -> Standing:
    score, _ = score_state(script, state, now)
    return Standing(score=score.total, fit=score.fit, intent=score.intent,
                    stage=state.stage, temperature=score.temperature,
                    reasons=tuple(score.reasons))


def preview_card(script: Script, session: PreviewSession, now: datetime) -> AlertCard | None:
    """The card sales would get for this preview lead, once it is sales-qualified."""
    state = session.state
    if state is None or not session.qualified:
        return None
    standing = standing_of(script, state, now)
    contact: dict[str, str] = {}
    lines = []
    for question in script.questions:
        answer = state.answers.get(question.id)
        if answer is None:
            continue
        if question.field is not None:
            if isinstance(answer.value, str) and answer.value:
                contact[question.field] = answer.value
            continue
        lines.append(AnswerLine(question=question_label(question.id), words=answer.raw_text,
                                matched=option_label(script, question.id, answer.option_id)))
    return AlertCard(
        lead_id=PREVIEW_LEAD_ID, stage=standing.stage, first_name=state.first_name or None,
        name=contact.get("name"), company=contact.get("company"), email=contact.get("email"),
        phone=contact.get("phone"), role=contact.get("role"), source=state.source,
        score=standing.score, fit=standing.fit, intent=standing.intent,
        temperature=standing.temperature, reasons=standing.reasons, answers=tuple(lines),
        first_message_at=state.started_at, qualified_at=state.qualified_at or now,
        lang=script.alert_lang,
    )
