"""One turn of the engine: the state being built, the replies, and how questions are shown.

`Turn` accumulates what a step decides; the helpers here ask a question (text,
buttons, skip, phone request), re-ask the current one, close the flow and offer
the booking link. Pure, like the rest of the engine.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict, Unpack
from urllib.parse import quote

from conversations import messages, payloads
from conversations.conditions import Facts, facts_for
from conversations.dsl import PhoneQuestion, Question, Script, options_of
from conversations.dsl_base import Stage
from conversations.exchange import Choice, Event, Reply, Step
from conversations.nurture import next_nudge
from conversations.routing import route_for
from conversations.state import ConversationState, StateChanges
from scoring import Score, evaluate_score, evaluate_stage

MAX_INPUT_CHARS = 2000  # longer messages are cut before matching and storage


def language_for(script: Script, language_code: str) -> str:
    """The script language closest to a user's client language (`fr-CA` → fr)."""
    code = (language_code or "").lower()[:2]
    return code if code in script.languages else script.lang


def clean_text(text: str) -> str:
    """Drop control and format characters (bidi overrides, NULs), trim, bound the length."""
    kept = "".join(
        ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text
    )
    return kept.strip()[:MAX_INPUT_CHARS]


class ReplyExtras(TypedDict, total=False):
    """What a reply may carry beside its text (the fields of :class:`Reply`)."""

    choices: tuple[Choice, ...]
    question_id: str | None
    request_phone: bool
    remove_keyboard: bool


@dataclass
class Turn:
    """One step in progress: the state so far, and what to send and record."""

    script: Script
    state: ConversationState
    now: datetime
    replies: list[Reply] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    _scored: tuple[object, object, Score] | None = field(default=None, init=False, repr=False)

    def update(self, **changes: Unpack[StateChanges]) -> None:
        self.state = self.state.model_copy(update=dict(changes))

    def score(self) -> Score:
        """The lead's score in the state so far. A step needs it up to four times (rescore,
        next question, nudge, outcome) and it only changes with the answers or the
        engagement: the state is frozen, so the same objects mean the same score."""
        answers, engagement = self.state.answers, self.state.engagement
        scored = self._scored
        if scored is None or scored[0] is not answers or scored[1] is not engagement:
            scored = self._scored = (answers, engagement,
                                     lead_score(self.script, self.state, self.now))
        return scored[2]

    def text(self, key: str, **values: object) -> str:
        return messages.text(self.script, key, self.state.lang, **values)

    def say(self, body: str, **extra: Unpack[ReplyExtras]) -> None:
        self.replies.append(Reply(text=body, **extra))

    def finish(self) -> Step:
        """The step's outcome, with the score, route and next nudge of the state it leaves."""
        score, facts = lead_facts(self.script, self.state, self.now, score=self.score())
        return Step(
            state=self.state,
            replies=tuple(self.replies),
            events=tuple(self.events),
            score=score,
            route=route_for(self.script, facts),
            next_nudge=next_nudge(self.script, self.state, facts),
        )


def options_chosen(state: ConversationState) -> dict[str, str | None]:
    return {qid: answer.option_id for qid, answer in state.answers.items()}


def lead_score(script: Script, state: ConversationState, now: datetime) -> Score:
    """The lead's score: answers and engagement as of `now`.

    Reasons are written for sales: in the script's alert language, quoting the prospect.
    """
    return evaluate_score(
        script,
        options_chosen(state),
        lang=script.alert_lang,
        engagement=state.engagement,
        now=now,
        words={qid: answer.raw_text for qid, answer in state.answers.items()},
    )


def score_state(script: Script, state: ConversationState, now: datetime) -> tuple[Score, Stage]:
    """The lead's score (see `lead_score`) and the stage it earns."""
    score = lead_score(script, state, now)
    return score, evaluate_stage(script, previous=state.stage, options=options_chosen(state),
                                 score=score)


def lead_facts(script: Script, state: ConversationState, now: datetime,
               *, score: Score | None = None) -> tuple[Score, Facts]:
    """The lead's score now (`score` when the caller has it), and the facts every condition
    about this lead sees."""
    if score is None:
        score = lead_score(script, state, now)
    return score, facts_for(options_chosen(state), stage=state.stage, score=score)


def reask_current(turn: Turn) -> None:
    if turn.state.status == "active" and turn.state.current is not None:
        ask(turn, turn.script.question(turn.state.current))


def ask(turn: Turn, question: Question, *, prefix: str | None = None) -> None:
    lang = turn.state.lang
    body = question.ask.get(lang, turn.script.lang)
    if prefix:
        body = f"{prefix}\n{body}"
    choices = [
        Choice(payloads.answer(question.id, option.id), option.label.get(lang, turn.script.lang))
        for option in options_of(question)
    ]
    if not question.required:
        choices.append(Choice(payloads.skip(question.id), turn.text("skip")))
    turn.say(
        body,
        choices=tuple(choices),
        question_id=question.id,
        request_phone=isinstance(question, PhoneQuestion),
    )


def closing_message(turn: Turn) -> None:
    stage = turn.state.stage
    key = {"sql": "qualified", "disqualified": "disqualified"}.get(stage, "done")
    turn.say(turn.text(key))
    if stage == "sql":
        offer_booking(turn)


def offer_booking(turn: Turn) -> None:
    booking = turn.script.booking
    if booking is not None:
        turn.say(booking.text.get(turn.state.lang, turn.script.lang) + "\n" + booking_link(
            turn.script, booking.url, turn.state))


def booking_link(script: Script, template: str, state: ConversationState) -> str:
    """The booking URL with the lead's name, email and company filled in (URL-encoded)."""
    values = {"name": "", "email": "", "company": ""}
    for question in script.questions:
        answer = state.answers.get(question.id)
        if question.field in values and answer is not None and isinstance(answer.value, str):
            values[question.field] = answer.value
    link = template
    for name, value in values.items():
        link = link.replace("{" + name + "}", quote(value, safe=""))
    return link
