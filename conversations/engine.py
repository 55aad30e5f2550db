"""The conversation engine: `step(script, state, inbound, now)` → new state, replies, events.

Pure: no I/O, no clock reads (time is passed in), no globals. The lifecycle of
one question is ask → understand → (re-ask | "did you mean…?") → record →
rescore → next question, the way Rasa forms write it down; commands (/start,
/restart, /help, /stop, /back, /lang, /forget) steer it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from conversations import messages
from conversations.conditions import Facts, holds
from conversations.contact import is_skip, parse_email, parse_phone
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
    ConversationStarted,
    ConversationStopped,
    EngagementRecorded,
    Event,
    ForgetRequested,
    Inbound,
    MessageAfterFlow,
    NudgeSent,
    Reply,
    StageChanged,
    Step,
)
from conversations.matching import ACCEPT_CONFIDENCE, match_answer
from conversations.nurture import next_nudge
from conversations.state import AnswerState, ConversationState, EngagementHit
from scoring import Score, evaluate

END = "end"
MAX_INPUT_CHARS = 2000  # longer messages are cut before matching and storage
MAX_SUGGESTIONS = 3
# How a typed email or phone number is read, and what to say when it can't be.
CONTACT_PARSERS: dict[type, tuple[Callable[[str], str | None], str]] = {
    EmailQuestion: (parse_email, "reask_email"),
    PhoneQuestion: (parse_phone, "reask_phone"),
}
BOOKED_ACTION = "meeting_booked"  # the documented signal a calendar sends to /api/events
_SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}


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


@dataclass
class _Turn:
    """One step in progress: the state so far, and what to send and record."""

    script: Script
    state: ConversationState
    now: datetime
    replies: list[Reply] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def update(self, **changes: Any) -> None:
        self.state = self.state.model_copy(update=changes)

    def text(self, key: str, **values: object) -> str:
        return messages.text(self.script, key, self.state.lang, **values)

    def say(self, body: str, **extra: Any) -> None:
        self.replies.append(Reply(text=body, **extra))

    def finish(self) -> Step:
        return Step(state=self.state, replies=tuple(self.replies), events=tuple(self.events))


def step(script: Script, state: ConversationState, inbound: Inbound, now: datetime) -> Step:
    """Handle one inbound message."""
    turn = _Turn(script, state, now)
    if inbound.kind == "nudge":
        _nudge(turn)
        return turn.finish()
    if inbound.kind == "engagement":
        _engagement(turn, inbound.text, via="signal")
        return turn.finish()
    # The prospect spoke: reminders start again from the first, later.
    turn.update(last_activity=now, reminders_sent=0)
    if inbound.first_name and not state.first_name:
        turn.update(first_name=clean_text(inbound.first_name)[:64])
    if inbound.kind == "command":
        _command(turn, inbound)
    elif inbound.kind == "choice":
        _choice(turn, inbound.choice)
    elif turn.state.status == "new":
        _begin(turn, source=None, language_code=inbound.language_code)
    elif turn.state.status == "stopped":
        turn.say(turn.text("still_stopped"))
    elif inbound.kind == "unsupported":
        # Channels name what was sent; edits and forwards get their own explanation.
        key = {"edited_message": "edited", "forwarded_message": "forwarded"}.get(
            inbound.text, "unsupported"
        )
        turn.say(turn.text(key))
        _reask_current(turn)
    elif turn.state.status == "completed":
        _after_flow(turn, clean_text(inbound.text))
    elif inbound.kind == "contact":
        _contact(turn, inbound.text)
    else:
        _answer_text(turn, inbound.text)
    return turn.finish()


# --- commands ------------------------------------------------------------------


def _command(turn: _Turn, inbound: Inbound) -> None:
    status = turn.state.status
    command = inbound.command
    if command == "start":
        payload = inbound.args[0] if inbound.args else None
        source = payload if payload and _SOURCE.match(payload) else None
        if status == "new":
            _begin(turn, source=source, language_code=inbound.language_code)
            return
        if source and not turn.state.source:
            turn.update(source=source)
        if status == "stopped":
            turn.update(status="active" if turn.state.current else "completed")
        turn.say(turn.text("welcome_back"))
        if turn.state.current:
            _reask_current(turn)
        else:
            _closing_message(turn)
    elif command == "restart":
        _begin(turn, source=None, language_code=inbound.language_code, restart=True)
    elif command == "stop":
        turn.update(status="stopped", confirm_forget=False)
        turn.events.append(ConversationStopped())
        turn.say(turn.text("stopped"))
    elif command == "forget":
        turn.update(confirm_forget=True)
        turn.say(
            turn.text("forget_confirm"),
            choices=(
                Choice("f:yes", turn.text("forget_yes")),
                Choice("f:no", turn.text("forget_no")),
            ),
        )
    elif status == "new":
        _begin(turn, source=None, language_code=inbound.language_code)
    elif status == "stopped":
        turn.say(turn.text("still_stopped"))
    elif command == "help":
        turn.say(turn.text("help"))
        _reask_current(turn)
    elif command == "back":
        _back(turn)
    elif command == "lang":
        wanted = inbound.args[0].lower()[:2] if inbound.args else ""
        if wanted in turn.script.languages:
            _set_language(turn, wanted)
        else:
            turn.say(
                turn.text("choose_language"),
                choices=tuple(
                    Choice(f"l:{lang}", LANGUAGE_NAMES.get(lang, lang))
                    for lang in turn.script.languages
                ),
            )
    else:
        turn.say(turn.text("unknown_command") + "\n" + turn.text("help"))
        _reask_current(turn)


def _begin(
    turn: _Turn, *, source: str | None, language_code: str, restart: bool = False
) -> None:
    first_time = turn.state.status == "new"
    lang = language_for(turn.script, language_code) if language_code else turn.state.lang
    turn.update(
        status="active",
        lang=lang,
        current=None,
        answers={},
        history=(),
        retries=0,
        suggestions=(),
        pending_raw=None,
        confirm_forget=False,
        started_at=turn.now,
        source=turn.state.source or source,
    )
    name = turn.state.first_name or messages.text(turn.script, "friend", lang)
    greeting = turn.script.greeting.get(lang, turn.script.lang)
    greeting = greeting.replace(" {first_name}", f" {name}" if name else "")
    greeting = greeting.replace("{first_name}", name)
    if restart:
        greeting = turn.text("restarted") + " " + greeting
    if first_time:
        greeting += "\n\n" + turn.text("privacy")
    turn.say(greeting)
    turn.events.append(ConversationStarted(source=turn.state.source, language=lang, restart=restart))
    _advance(turn, after=None)


def _set_language(turn: _Turn, lang: str) -> None:
    turn.update(lang=lang)
    turn.say(turn.text("language_set"))
    _reask_current(turn)


def _back(turn: _Turn) -> None:
    history = [q for q in turn.state.history if q != turn.state.current]
    if not history:
        turn.say(turn.text("nothing_to_go_back_to"))
        _reask_current(turn)
        return
    turn.update(status="active", current=history[-1], retries=0, suggestions=(), pending_raw=None)
    _ask(turn, turn.script.question(history[-1]))


# --- buttons -------------------------------------------------------------------


def _choice(turn: _Turn, token: str) -> None:
    kind, _, rest = token.partition(":")
    if kind == "e" and turn.script.engagement.action(rest) is not None:
        if turn.state.status == "stopped":
            turn.say(turn.text("still_stopped"))
        else:
            _engagement(turn, rest, via="button")
        return
    if kind == "f" and turn.state.confirm_forget:
        turn.update(confirm_forget=False)
        if rest == "yes":
            turn.events.append(ForgetRequested())
            turn.say(turn.text("forgotten"))
            turn.update(status="stopped", current=None, answers={}, history=())
        else:
            turn.say(turn.text("forget_cancelled"))
            _reask_current(turn)
        return
    if kind == "l" and rest in turn.script.languages:
        _set_language(turn, rest)
        return
    if turn.state.status == "new":
        _begin(turn, source=None, language_code="")
        return
    if turn.state.status == "stopped":
        turn.say(turn.text("still_stopped"))
        return
    question_id, _, option_id = rest.partition(":")
    current = turn.state.current
    if kind not in ("a", "s", "n") or current is None or question_id != current:
        turn.say(turn.text("stale_button"))
        _reask_current(turn)
        return
    question = turn.script.question(current)
    if kind == "s" and not question.required:
        _record(turn, question, AnswerState(raw_text="", via="button"))
        return
    if kind == "n":
        turn.update(suggestions=(), pending_raw=None)
        _ask(turn, question, prefix=turn.text("reask_buttons"))
        return
    option = _option(question, option_id)
    if option is None:
        turn.say(turn.text("stale_button"))
        _reask_current(turn)
        return
    label = option.label.get(turn.state.lang, turn.script.lang)
    raw = turn.state.pending_raw if option.id in turn.state.suggestions else None
    turn.say(turn.text("chosen", answer=label), remove_keyboard=True)
    _record(turn, question, AnswerState(raw_text=raw or label, option_id=option.id, via="button"))


def _option(question: Question, option_id: str) -> Option | None:
    for option in options_of(question):
        if option.id == option_id:
            return option
    return None


# --- typed answers -------------------------------------------------------------


def _answer_text(turn: _Turn, raw: str) -> None:
    current = turn.state.current
    if current is None:
        _closing_message(turn)
        return
    question = turn.script.question(current)
    text = clean_text(raw)
    if not text:
        _not_understood(turn, question, raw)
        return
    if not question.required and is_skip(text):
        _record(turn, question, AnswerState(raw_text=text))
        return
    if isinstance(question, TextQuestion):
        if len(text) > question.max_length:
            _ask(turn, question, prefix=turn.text("reask_text", max=question.max_length))
            return
        _record(turn, question, AnswerState(raw_text=text, value=text))
    elif isinstance(question, (EmailQuestion, PhoneQuestion)):
        parse, reask = CONTACT_PARSERS[type(question)]
        value = parse(text)
        if value is None:
            _not_understood(turn, question, text, prefix=turn.text(reask))
        else:
            _record(turn, question, AnswerState(raw_text=text, value=value))
    else:
        _match_option(turn, question, text)


def _match_option(turn: _Turn, question: Question, text: str) -> None:
    match = match_answer(question, text, lang=turn.state.lang)
    if match.option_id is not None and match.confidence >= ACCEPT_CONFIDENCE:
        _record(
            turn,
            question,
            AnswerState(
                raw_text=text,
                option_id=match.option_id,
                value=match.value,
                confidence=round(match.confidence, 3),
            ),
        )
        return
    candidates = list(match.suggestions)
    if match.option_id is not None and match.option_id not in candidates:
        candidates.insert(0, match.option_id)
    options = [o for c in candidates[:MAX_SUGGESTIONS] if (o := _option(question, c))]
    if options:
        lang = turn.state.lang
        turn.update(suggestions=tuple(o.id for o in options), pending_raw=text)
        turn.events.append(AnswerNotUnderstood(question_id=question.id, raw_text=text))
        turn.say(
            turn.text("did_you_mean"),
            question_id=question.id,
            choices=(
                *(Choice(f"a:{question.id}:{o.id}", o.label.get(lang, turn.script.lang))
                  for o in options),
                Choice(f"n:{question.id}", turn.text("none_of_these")),
            ),
        )
        return
    prefix = None
    if (
        isinstance(question, BandedQuestion)
        and match.value is not None
        and match.value < question.min
    ):
        prefix = turn.text("below_min", min=f"{question.min:g}")
    _not_understood(turn, question, text, prefix=prefix)


def _not_understood(turn: _Turn, question: Question, text: str, prefix: str | None = None) -> None:
    retries = turn.state.retries + 1
    turn.update(retries=retries, suggestions=(), pending_raw=None)
    turn.events.append(AnswerNotUnderstood(question_id=question.id, raw_text=text[:500]))
    lines = [prefix or turn.text("reask")]
    if retries > turn.script.max_retries and options_of(question):
        lines.append(turn.text("reask_buttons"))
    _ask(turn, question, prefix="\n".join(lines))


def _contact(turn: _Turn, phone_text: str) -> None:
    current = turn.state.current
    question = turn.script.question(current) if current else None
    phone = parse_phone(phone_text)
    if isinstance(question, PhoneQuestion) and phone is not None:
        _record(turn, question, AnswerState(raw_text=phone_text, value=phone, via="contact"))
    else:
        turn.say(turn.text("unsupported"))
        _reask_current(turn)


def _after_flow(turn: _Turn, text: str) -> None:
    if not text:
        return
    turn.events.append(MessageAfterFlow(text=text))
    key = "after_flow" if turn.state.stage == "sql" else "after_flow_not_qualified"
    turn.say(turn.text(key))


# --- recording, scoring, moving on ---------------------------------------------


def _record(turn: _Turn, question: Question, answer: AnswerState) -> None:
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
    _rescore(turn)
    if turn.state.stage == "disqualified":
        _complete(turn)
    else:
        _advance(turn, after=question.id)


def options_chosen(state: ConversationState) -> dict[str, str | None]:
    return {qid: answer.option_id for qid, answer in state.answers.items()}


def score_state(script: Script, state: ConversationState, now: datetime) -> tuple[Score, str]:
    """The lead's score (answers and engagement as of `now`) and the stage it earns."""
    return evaluate(
        script,
        options_chosen(state),
        previous_stage=state.stage,
        lang=state.lang,
        engagement=state.engagement,
        now=now,
    )


def _rescore(turn: _Turn) -> None:
    previous = turn.state.stage
    score, stage = score_state(turn.script, turn.state, turn.now)
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


def next_question(script: Script, state: ConversationState, after: str | None) -> str | None:
    """The id of the next question to ask, or None when the flow is over."""
    ids = script.question_ids()
    facts = Facts(options=options_chosen(state), stage=state.stage)
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


def _advance(turn: _Turn, *, after: str | None) -> None:
    upcoming = next_question(turn.script, turn.state, after)
    if upcoming is None:
        _complete(turn)
        return
    turn.update(current=upcoming, retries=0, suggestions=(), pending_raw=None)
    _ask(turn, turn.script.question(upcoming))


def _complete(turn: _Turn) -> None:
    was_active = turn.state.status == "active"
    turn.update(status="completed", current=None, completed_at=turn.now)
    if was_active:
        turn.events.append(ConversationCompleted())
    _closing_message(turn)


def _closing_message(turn: _Turn) -> None:
    stage = turn.state.stage
    key = {"sql": "qualified", "disqualified": "disqualified"}.get(stage, "done")
    turn.say(turn.text(key))
    if stage == "sql":
        _offer_booking(turn)


def _offer_booking(turn: _Turn) -> None:
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


# --- engagement and nudges ------------------------------------------------------


def _engagement(turn: _Turn, action_id: str, *, via: Literal["button", "signal"]) -> None:
    action = turn.script.engagement.action(action_id)
    if action is None:
        return  # the service rejects unknown signals before they get here
    hit = EngagementHit(action=action.id, at=turn.now)
    turn.update(engagement=(*turn.state.engagement, hit)[-200:])
    turn.events.append(EngagementRecorded(action=action.id, via=via))
    if via == "button":
        reply = action.reply.get(turn.state.lang, turn.script.lang) if action.reply else None
        if reply or action.url:
            turn.say("\n".join(x for x in (reply, action.url) if x))
    before = turn.state.stage
    _rescore(turn)
    if turn.state.stage == "sql" != before and turn.state.status == "completed":
        # Qualified after the chat: the closing message is long gone, so offer the
        # meeting now — unless the signal is the meeting itself being booked.
        if action.id != BOOKED_ACTION:
            _offer_booking(turn)


def _nudge(turn: _Turn) -> None:
    """Send the reminder or follow-up that is due now, if any."""
    score, _ = score_state(turn.script, turn.state, turn.now)
    nudge = next_nudge(turn.script, turn.state, temperature=score.temperature,
                       fit=score.fit, intent=score.intent)
    if nudge is None or nudge.due_at > turn.now:
        return
    lang = turn.state.lang
    turn.update(nudges_sent=turn.state.nudges_sent + 1)
    turn.events.append(NudgeSent(key=nudge.key))
    if nudge.kind == "reminder":
        reminder = turn.script.nurture.reminders[nudge.index]
        turn.update(reminders_sent=turn.state.reminders_sent + 1)
        turn.say(reminder.text.get(lang, turn.script.lang))
        _reask_current(turn)
        return
    follow_up = turn.script.nurture.follow_ups[nudge.index]
    turn.update(follow_ups_sent=(*turn.state.follow_ups_sent, follow_up.id))
    choices = []
    for action_id in follow_up.actions:
        action = turn.script.engagement.action(action_id)
        if action is not None and action.label is not None:
            choices.append(Choice(f"e:{action.id}", action.label.get(lang, turn.script.lang)))
    turn.say(follow_up.text.get(lang, turn.script.lang), choices=tuple(choices))


def _reask_current(turn: _Turn) -> None:
    if turn.state.status == "active" and turn.state.current is not None:
        _ask(turn, turn.script.question(turn.state.current))


def _ask(turn: _Turn, question: Question, *, prefix: str | None = None) -> None:
    lang = turn.state.lang
    body = question.ask.get(lang, turn.script.lang)
    if prefix:
        body = f"{prefix}\n{body}"
    choices = [
        Choice(f"a:{question.id}:{option.id}", option.label.get(lang, turn.script.lang))
        for option in options_of(question)
    ]
    if not question.required:
        choices.append(Choice(f"s:{question.id}", turn.text("skip")))
    turn.say(
        body,
        choices=tuple(choices),
        question_id=question.id,
        request_phone=isinstance(question, PhoneQuestion),
    )
