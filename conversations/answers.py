"""Typed answers and what follows them: understand, re-ask or record, rescore, move on.

The form lifecycle of one question — ask → understand → (re-ask | "did you mean…?")
→ record → rescore → next question or the end of the flow.
"""

from __future__ import annotations

from datetime import datetime

from conversations import payloads
from conversations.conditions import holds
from conversations.contact import is_skip, parse_phone
from conversations.dsl import (
    BandedQuestion,
    EmailQuestion,
    Option,
    PhoneQuestion,
    Question,
    Script,
    TextQuestion,
    options_of,
)
from conversations.exchange import (
    AnswerNotUnderstood,
    AnswerRecorded,
    Choice,
    ConversationCompleted,
    MessageAfterFlow,
    StageChanged,
)
from conversations.state import AnswerState, ConversationState
from conversations.turn import (
    Turn,
    ask,
    clean_text,
    closing_message,
    lead_facts,
    options_chosen,
    reask_current,
)
from conversations.understanding import CONTACT_PARSERS, Understanding, understand
from scoring import Score, evaluate_stage

END = "end"
MAX_SUGGESTIONS = 3


def option_of(question: Question, option_id: str) -> Option | None:
    for option in options_of(question):
        if option.id == option_id:
            return option
    return None


def answer_text(turn: Turn, raw: str) -> None:
    current = turn.state.current
    if current is None:
        closing_message(turn)
        return
    question = turn.script.question(current)
    text = clean_text(raw)
    if not text:
        not_understood(turn, question, raw)
        return
    if not question.required and is_skip(text):
        record(turn, question, AnswerState(raw_text=text))
        return
    understood = understand(question, text, lang=turn.state.lang, now=turn.now)
    if isinstance(question, TextQuestion):
        if len(text) > question.max_length:
            ask(turn, question, prefix=turn.text("reask_text", max=question.max_length))
            return
        record(turn, question, AnswerState(raw_text=text, value=understood.value))
    elif isinstance(question, (EmailQuestion, PhoneQuestion)):
        if understood.value is None:
            reask = CONTACT_PARSERS[type(question)][1]
            not_understood(turn, question, text, prefix=turn.text(reask))
        else:
            record(turn, question, AnswerState(raw_text=text, value=understood.value))
    else:
        _match_option(turn, question, text, understood)


def _match_option(turn: Turn, question: Question, text: str, understood: Understanding) -> None:
    if understood.accepted:
        record(
            turn,
            question,
            AnswerState(
                raw_text=text,
                option_id=understood.option_id,
                value=understood.value,
                confidence=round(understood.confidence, 3),
            ),
        )
        return
    options = [o for c in understood.suggestions[:MAX_SUGGESTIONS] if (o := option_of(question, c))]
    if options:
        lang = turn.state.lang
        turn.update(suggestions=tuple(o.id for o in options), pending_raw=text)
        turn.events.append(AnswerNotUnderstood(question_id=question.id, raw_text=text))
        turn.say(
            turn.text("did_you_mean"),
            question_id=question.id,
            choices=(
                *(Choice(payloads.answer(question.id, o.id), o.label.get(lang, turn.script.lang))
                  for o in options),
                Choice(payloads.none_of_these(question.id), turn.text("none_of_these")),
            ),
        )
        return
    not_understood(turn, question, text, prefix=_out_of_range(turn, question, understood.value))


def _out_of_range(turn: Turn, question: Question, value: object) -> str | None:
    """Why a number was refused, when it was outside the question's `min` / `max`."""
    if not isinstance(question, BandedQuestion) or not isinstance(value, float | int):
        return None
    if value < question.min:
        return turn.text("below_min", min=f"{question.min:g}")
    if question.max is not None and value > question.max:
        return turn.text("above_max", max=f"{question.max:g}")
    return None


def not_understood(turn: Turn, question: Question, text: str, prefix: str | None = None) -> None:
    retries = turn.state.retries + 1
    turn.update(retries=retries, suggestions=(), pending_raw=None)
    turn.events.append(AnswerNotUnderstood(question_id=question.id, raw_text=text[:500]))
    lines = [prefix or turn.text("reask")]
    if retries > turn.script.max_retries and options_of(question):
        lines.append(turn.text("reask_buttons"))
    ask(turn, question, prefix="\n".join(lines))


def answer_contact(turn: Turn, phone_text: str) -> None:
    current = turn.state.current
    question = turn.script.question(current) if current else None
    phone = parse_phone(phone_text)
    if isinstance(question, PhoneQuestion) and phone is not None:
        record(turn, question, AnswerState(raw_text=phone_text, value=phone, via="contact"))
    else:
        turn.say(turn.text("unsupported"))
        reask_current(turn)


def after_flow(turn: Turn, text: str) -> None:
    if not text:
        return
    turn.events.append(MessageAfterFlow(text=text))
    key = "after_flow" if turn.state.stage == "sql" else "after_flow_not_qualified"
    turn.say(turn.text(key))


def record(turn: Turn, question: Question, answer: AnswerState) -> None:
    answers = {**turn.state.answers, question.id: answer}
    history = (*(q for q in turn.state.history if q != question.id), question.id)
    turn.update(answers=answers, history=history, retries=0, suggestions=(), pending_raw=None)
    turn.events.append(
        AnswerRecorded(
            question_id=question.id,
            raw_text=answer.raw_text,
            option_id=answer.option_id,
            value=answer.value,
            confidence=answer.confidence,
            via=answer.via,
        )
    )
    rescore(turn)
    if turn.state.stage == "disqualified":
        complete(turn)
    else:
        advance(turn, after=question.id)


def rescore(turn: Turn) -> None:
    previous = turn.state.stage
    score = turn.score()
    stage = evaluate_stage(turn.script, previous=previous, options=options_chosen(turn.state),
                           score=score)
    if stage != previous:
        turn.update(stage=stage)
        if stage == "sql":
            turn.update(qualified_at=turn.now)
        turn.events.append(
            StageChanged(
                previous=previous,
                stage=stage,
                score=score.total,
                fit=score.fit,
                intent=score.intent,
                temperature=score.temperature,
                reasons=score.reasons,
            )
        )


def next_question(
    script: Script, state: ConversationState, after: str | None, *, now: datetime,
    score: Score | None = None,
) -> str | None:
    """The id of the next question to ask, or None when the flow is over (`score`: the
    lead's score in `state`, when the caller has it)."""
    ids = script.question_ids()
    _, facts = lead_facts(script, state, now, score=score)
    start = 0
    if after is not None:
        question = script.question(after)
        for branch in question.next:
            if branch.when is None or holds(branch.when, facts):
                if branch.goto == END:
                    return None
                target = script.question(branch.goto)
                if target.ask_when is None or holds(target.ask_when, facts):
                    return target.id
                start = ids.index(target.id) + 1
                break
        else:
            start = ids.index(after) + 1
    for question in script.questions[start:]:
        if question.id in state.answers:
            continue
        if question.ask_when is not None and not holds(question.ask_when, facts):
            continue
        return question.id
    return None


def advance(turn: Turn, *, after: str | None) -> None:
    upcoming = next_question(turn.script, turn.state, after, now=turn.now, score=turn.score())
    if upcoming is None:
        complete(turn)
        return
    turn.update(current=upcoming, retries=0, suggestions=(), pending_raw=None)
    ask(turn, turn.script.question(upcoming))


def complete(turn: Turn) -> None:
    was_active = turn.state.status == "active"
    turn.update(status="completed", current=None, completed_at=turn.now)
    if was_active:
        turn.events.append(ConversationCompleted())
    closing_message(turn)
