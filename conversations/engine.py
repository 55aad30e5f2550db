"""The conversation engine: `step(script, state, inbound, now)` → new state, replies, events.

Pure: no I/O, no clock reads (time is passed in), no globals. `step` dispatches one
inbound message: commands (/start, /restart, /help, /stop, /back, /lang, /forget)
and buttons here, typed answers in `conversations.answers`, how a question is shown
in `conversations.turn`; engagement signals and scheduled nudges are handled here too.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from conversations import messages, payloads
from conversations.answers import (
    advance,
    after_flow,
    answer_contact,
    answer_text,
    option_of,
    record,
    rescore,
)
from conversations.dsl import Script
from conversations.exchange import (
    Choice,
    ConversationStarted,
    ConversationStopped,
    EngagementRecorded,
    ForgetRequested,
    Inbound,
    NudgeSent,
    Step,
)
from conversations.nurture import next_nudge
from conversations.state import AnswerState, ConversationState, EngagementHit
from conversations.turn import (
    Turn,
    ask,
    clean_text,
    closing_message,
    language_for,
    lead_facts,
    offer_booking,
    reask_current,
)

BOOKED_ACTION = "meeting_booked"  # the documented signal a calendar sends to /api/events
_SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}


def step(script: Script, state: ConversationState, inbound: Inbound, now: datetime) -> Step:
    """Handle one inbound message."""
    turn = Turn(script, state, now)
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
        reask_current(turn)
    elif turn.state.status == "completed":
        after_flow(turn, clean_text(inbound.text))
    elif inbound.kind == "contact":
        answer_contact(turn, inbound.text)
    else:
        answer_text(turn, inbound.text)
    return turn.finish()


def _command(turn: Turn, inbound: Inbound) -> None:
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
            reask_current(turn)
        else:
            closing_message(turn)
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
                Choice(payloads.forget(True), turn.text("forget_yes")),
                Choice(payloads.forget(False), turn.text("forget_no")),
            ),
        )
    elif status == "new":
        _begin(turn, source=None, language_code=inbound.language_code)
    elif status == "stopped":
        turn.say(turn.text("still_stopped"))
    elif command == "help":
        turn.say(turn.text("help"))
        reask_current(turn)
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
                    Choice(payloads.language(lang), LANGUAGE_NAMES.get(lang, lang))
                    for lang in turn.script.languages
                ),
            )
    else:
        turn.say(turn.text("unknown_command") + "\n" + turn.text("help"))
        reask_current(turn)


def _begin(
    turn: Turn, *, source: str | None, language_code: str, restart: bool = False
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
    advance(turn, after=None)


def _set_language(turn: Turn, lang: str) -> None:
    turn.update(lang=lang)
    turn.say(turn.text("language_set"))
    reask_current(turn)


def _back(turn: Turn) -> None:
    history = [q for q in turn.state.history if q != turn.state.current]
    if not history:
        turn.say(turn.text("nothing_to_go_back_to"))
        reask_current(turn)
        return
    turn.update(status="active", current=history[-1], retries=0, suggestions=(), pending_raw=None)
    ask(turn, turn.script.question(history[-1]))


def _choice(turn: Turn, token: str) -> None:
    payload = payloads.decode(token)
    if isinstance(payload, payloads.Engage) and turn.script.engagement.action(payload.action_id):
        if turn.state.status == "stopped":
            turn.say(turn.text("still_stopped"))
        elif payload.action_id not in offered_actions(turn.script, turn.state):
            # A token for a button this chat was never shown is forged: an outside
            # signal (a booked meeting, a download) comes through the events API.
            turn.say(turn.text("stale_button"))
            reask_current(turn)
        elif _counted_before(turn, payload.action_id):
            _engagement_reply(turn, payload.action_id)  # tapped again: link, no points
        else:
            _engagement(turn, payload.action_id, via="button")
        return
    if isinstance(payload, payloads.ConfirmForget) and turn.state.confirm_forget:
        turn.update(confirm_forget=False)
        if payload.confirmed:
            turn.events.append(ForgetRequested())
            turn.say(turn.text("forgotten"))
            turn.update(status="stopped", current=None, answers={}, history=())
        else:
            turn.say(turn.text("forget_cancelled"))
            reask_current(turn)
        return
    if isinstance(payload, payloads.PickLanguage) and payload.lang in turn.script.languages:
        _set_language(turn, payload.lang)
        return
    if turn.state.status == "new":
        _begin(turn, source=None, language_code="")
        return
    if turn.state.status == "stopped":
        turn.say(turn.text("still_stopped"))
        return
    current = turn.state.current
    if (
        not isinstance(payload, (payloads.PickOption, payloads.SkipQuestion, payloads.NoneOfThese))
        or current is None
        or payload.question_id != current
    ):
        turn.say(turn.text("stale_button"))
        reask_current(turn)
        return
    question = turn.script.question(current)
    if isinstance(payload, payloads.SkipQuestion) and not question.required:
        record(turn, question, AnswerState(raw_text="", via="button"))
        return
    if isinstance(payload, payloads.NoneOfThese):
        turn.update(suggestions=(), pending_raw=None)
        ask(turn, question, prefix=turn.text("reask_buttons"))
        return
    option = (
        option_of(question, payload.option_id) if isinstance(payload, payloads.PickOption) else None
    )
    if option is None:
        turn.say(turn.text("stale_button"))
        reask_current(turn)
        return
    label = option.label.get(turn.state.lang, turn.script.lang)
    raw = turn.state.pending_raw if option.id in turn.state.suggestions else None
    turn.say(turn.text("chosen", answer=label), remove_keyboard=True)
    record(turn, question, AnswerState(raw_text=raw or label, option_id=option.id, via="button"))


def _engagement(turn: Turn, action_id: str, *, via: Literal["button", "signal"]) -> None:
    action = turn.script.engagement.action(action_id)
    if action is None:
        return  # the service rejects unknown signals before they get here
    hit = EngagementHit(action=action.id, at=turn.now)
    turn.update(engagement=(*turn.state.engagement, hit)[-200:])
    turn.events.append(EngagementRecorded(action=action.id, via=via))
    if via == "button":
        _engagement_reply(turn, action.id)
    before = turn.state.stage
    rescore(turn)
    # Qualified after the chat: the closing message is long gone, so offer the
    # meeting now — unless the signal is the meeting itself being booked.
    if (turn.state.stage == "sql" != before and turn.state.status == "completed"
            and action.id != BOOKED_ACTION):
        offer_booking(turn)


def _engagement_reply(turn: Turn, action_id: str) -> None:
    action = turn.script.engagement.action(action_id)
    if action is None:
        return
    reply = action.reply.get(turn.state.lang, turn.script.lang) if action.reply else None
    if reply or action.url:
        turn.say("\n".join(x for x in (reply, action.url) if x))


def offered_actions(script: Script, state: ConversationState) -> frozenset[str]:
    """Engagement actions whose button this chat was shown (in a follow-up it was sent)."""
    return frozenset(
        action_id
        for follow_up in script.nurture.follow_ups if follow_up.id in state.follow_ups_sent
        for action_id in follow_up.actions
        if (action := script.engagement.action(action_id)) is not None and action.label is not None
    )


def _counted_before(turn: Turn, action_id: str) -> bool:
    """A non-repeatable action already recorded for this chat: a second tap adds nothing."""
    action = turn.script.engagement.action(action_id)
    return (action is not None and not action.repeat
            and any(hit.action == action_id for hit in turn.state.engagement))


def _nudge(turn: Turn) -> None:
    """Send the reminder or follow-up that is due now, if any."""
    _, facts = lead_facts(turn.script, turn.state, turn.now, score=turn.score())
    nudge = next_nudge(turn.script, turn.state, facts)
    if nudge is None or nudge.due_at > turn.now:
        return
    lang = turn.state.lang
    turn.update(nudges_sent=turn.state.nudges_sent + 1)
    turn.events.append(NudgeSent(key=nudge.key))
    if nudge.kind == "reminder":
        reminder = turn.script.nurture.reminders[nudge.index]
        turn.update(reminders_sent=turn.state.reminders_sent + 1)
        turn.say(reminder.text.get(lang, turn.script.lang))
        reask_current(turn)
        return
    follow_up = turn.script.nurture.follow_ups[nudge.index]
    turn.update(follow_ups_sent=(*turn.state.follow_ups_sent, follow_up.id))
    choices = []
    for action_id in follow_up.actions:
        action = turn.script.engagement.action(action_id)
        if action is not None and action.label is not None:
            choices.append(
                Choice(payloads.engage(action.id), action.label.get(lang, turn.script.lang))
            )
    turn.say(follow_up.text.get(lang, turn.script.lang), choices=tuple(choices))
