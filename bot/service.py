"""The one way in: handle one inbound message of one chat in one transaction.

Every channel (Telegram, terminal, webhook) calls `LeadService.handle_message`.
It loads the chat's state (row-locked on PostgreSQL; SQLite has one writer),
runs the pure engine, and writes state, answers, events, the lead's score and
stage, the Slack alert (outbox) and, when asked, the replies (outbox) — all or
nothing. A message id seen before is ignored. The replies are the messages a
prospect receives, one per turn (`conversations.outgoing`), whichever the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.speed_to_lead import start_sla_clock, take_due_sla_steps
from conversations.answers import next_question
from conversations.dsl import Script
from conversations.engine import step
from conversations.exchange import (
    AnswerNotUnderstood,
    AnswerRecorded,
    ConversationStarted,
    ConversationStopped,
    EngagementRecorded,
    Event,
    ForgetRequested,
    Inbound,
    MessageAfterFlow,
    Reply,
    StageChanged,
    Step,
)
from conversations.loader import LoadedScript
from conversations.outgoing import one_message_per_turn
from conversations.state import ConversationState
from conversations.turn import language_for
from conversations.vocabulary import (
    EVENT_CONVERSATION_STARTED,
    EVENT_CONVERSATION_STOPPED,
    EVENT_LEAD_FORGOTTEN,
    EVENT_MESSAGE_AFTER_FLOW,
    EVENT_NOT_UNDERSTOOD,
    EVENT_STAGE_CHANGED,
    Stage,
    Temperature,
)
from storage.records import LeadRecord
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

ALERT_KIND = "slack_alert"


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Which chat: `channel` is "telegram", "console"…; `chat_id` is the channel's own id."""

    channel: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class Profile:
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    language_code: str = ""


@dataclass(frozen=True, slots=True)
class Handled:
    lead_id: int | None  # None once /forget erased the lead
    replies: tuple[Reply, ...]
    events: tuple[Event, ...]
    duplicate: bool = False
    stage: Stage = "new"
    temperature: Temperature = "cold"
    score: int = 0
    language: str = "en"  # the conversation's language after this message


@dataclass(frozen=True, slots=True)
class ServedScript:
    """The script one chat's message runs under, and the stored version and variant it is."""

    loaded: LoadedScript
    version_number: int | None = None
    experiment: str | None = None
    variant: str | None = None


@runtime_checkable
class ScriptPicker(Protocol):
    """Where scripts come from when they are versions in the database (bot.lifecycle.source)."""

    def current(self) -> LoadedScript: ...

    def for_chat(
        self, channel: str, chat_id: str, started_at: datetime | None
    ) -> ServedScript:
        """Without reading the database: it is called inside the message's transaction."""


class AfterMessageHook(Protocol):
    """Extra work in the message's transaction (e.g. relaying to a Slack thread)."""

    def __call__(
        self, uow: UnitOfWork, lead: LeadRecord, events: Sequence[Event], now: datetime
    ) -> None: ...


class EraseHook(Protocol):
    """Work before a lead's rows are deleted by /forget (e.g. scrubbing its Slack alert)."""

    def __call__(self, uow: UnitOfWork, lead: LeadRecord, now: datetime) -> object: ...


def reply_payload(reply: Reply) -> dict[str, object]:
    """The reply as its outbox row stores it: `dataclasses.asdict(reply)`, built directly
    (asdict's generic deep copy is a visible share of a message's cost)."""
    return {
        "text": reply.text,
        "choices": tuple({"token": c.token, "label": c.label} for c in reply.choices),
        "question_id": reply.question_id,
        "request_phone": reply.request_phone,
        "remove_keyboard": reply.remove_keyboard,
    }


class LeadService:
    def __init__(
        self,
        *,
        uow_factory: Callable[[], UnitOfWork],
        script: LoadedScript | Callable[[], LoadedScript] | ScriptPicker,
        clock: Callable[[], datetime],
        hooks: Sequence[AfterMessageHook] = (),
        erase_hooks: Sequence[EraseHook] = (),
    ) -> None:
        self._uow_factory = uow_factory
        # A picker serves stored versions and experiment variants per chat; a callable
        # is a live script; each message uses the script current when it arrives.
        self._picker = script if isinstance(script, ScriptPicker) else None
        self._script_of: Callable[[], LoadedScript]
        if isinstance(script, LoadedScript):
            self._script_of = lambda: script
        elif isinstance(script, ScriptPicker):
            self._script_of = script.current
        else:
            self._script_of = script
        self._clock = clock
        self._hooks = tuple(hooks)
        self._erase_hooks = tuple(erase_hooks)

    @property
    def script(self) -> LoadedScript:
        return self._script_of()

    def handle_message(
        self,
        key: ConversationKey,
        inbound: Inbound,
        *,
        message_id: str | None,
        profile: Profile,
        outbound: str | None = None,
        then: Callable[[UnitOfWork, datetime], object] | None = None,
    ) -> Handled:
        """Process one message; with `outbound`, queue the replies for that channel too.

        `then(uow, now)` runs in the same transaction after the replies were queued (the
        Telegram sender claims the first one there, so it leaves without another one).
        """
        now = self._clock()
        self._script_of()  # a live source checks for a new script here, outside the transaction
        with self._uow_factory() as uow:
            chat = uow.leads.load_chat(key.channel, key.chat_id, now=now, message_id=message_id)
            if chat is None:  # this message id was processed before
                return Handled(lead_id=None, replies=(), events=(), duplicate=True)
            lead, active = chat
            saved = ConversationState.model_validate_json(active[1]) if active else None
            served = self._served(key, saved)
            loaded = served.loaded
            script = loaded.script
            _update_profile(lead, profile)
            state = self._load_state(script, saved, lead, profile, now)
            result = step(script, state, inbound, now)
            state_json = result.state.model_dump_json()
            started = active is None or any(
                isinstance(e, ConversationStarted) and e.restart for e in result.events
            )
            if active is not None and not started:
                conversation_id = active[0]
            else:
                if active is not None:  # a restart: a new start gets its variant
                    served = self._served(key, None)
                # Inserted with the message's final state: `save` leaves its row alone.
                conversation_id = uow.conversations.start(
                    lead_id=lead.id,
                    script_id=script.id,
                    script_version=loaded.version,
                    state=state_json,
                    status=result.state.status,
                    now=now,
                    version_number=served.version_number,
                    experiment=served.experiment,
                    variant=served.variant,
                    lead_is_new=uow.leads.is_new(lead.id),
                )
            erased = self._apply_events(script, uow, lead, conversation_id, state, result, now)
            # Composed here, where replies become what is sent: every channel (the outbox,
            # the terminal) gets the same messages, one per turn and so one outbox row (a
            # tap adds the confirmation written into the tapped question).
            replies = one_message_per_turn(result.replies)
            if not erased:
                for hook in self._hooks:
                    hook(uow, lead, result.events, now)
            if outbound is not None:
                uow.outbox.queue_many(
                    kind=outbound,
                    destination=f"{outbound}:{key.chat_id}",
                    payloads=[reply_payload(reply) for reply in replies],
                    lead_id=None if erased else lead.id,
                    now=now,
                )
            if not erased:
                uow.leads.save(lead, conversation_id=conversation_id,
                               state=None if started else state_json,
                               status=result.state.status, now=now)
            if then is not None and outbound is not None and replies:
                then(uow, now)
            handled = Handled(
                lead_id=None if erased else lead.id,
                replies=replies,
                events=result.events,
                stage=result.state.stage,
                language=result.state.lang,
                temperature="cold" if erased else lead.temperature,
                score=0 if erased else lead.score,
            )
            uow.commit()
        return handled

    def record_signal(
        self, lead_id: int, action_id: str, *, event_id: str | None = None
    ) -> Handled | None:
        """An outside engagement signal (webinar, download…) for a lead; None if no such lead.

        It runs through the engine like a message, so a lead it pushes over a
        threshold is alerted exactly like one qualified in the chat. `event_id`
        makes a retried signal count once.
        """
        if self.script.script.engagement.action(action_id) is None:
            raise ValueError(f"unknown engagement action {action_id!r}")
        with self._uow_factory() as uow:
            lead = uow.leads.get(lead_id)
            if lead is None:
                return None
            key = ConversationKey(lead.channel, lead.chat_id)
        return self.handle_message(
            key,
            Inbound(kind="engagement", text=action_id),
            message_id=f"signal:{event_id}" if event_id else None,
            profile=Profile(),
            outbound=_outbound_for(key.channel),
        )

    def send_due_nudges(self, *, limit: int = 100) -> int:
        """Send the reminders and follow-ups that are due; returns how many leads were nudged.

        Safe in several workers at once: the message id names the lead and the
        scheduled time, so each nudge is processed once.
        """
        now = self._clock()
        with self._uow_factory() as uow:
            due = uow.leads.due_for_nudge(now=now, channels=NUDGE_CHANNELS, limit=limit)
        sent = 0
        for lead_id, channel, chat_id, due_at in due:
            handled = self.handle_message(
                ConversationKey(channel, chat_id),
                Inbound(kind="nudge"),
                message_id=f"nudge:{lead_id}:{due_at.isoformat()}",
                profile=Profile(),
                outbound=_outbound_for(channel),
            )
            sent += bool(handled.replies)
        return sent

    def _served(self, key: ConversationKey, saved: ConversationState | None) -> ServedScript:
        if self._picker is None:
            return ServedScript(self._script_of())
        started_at = saved.started_at if saved is not None else None
        return self._picker.for_chat(key.channel, key.chat_id, started_at)

    def take_due_sla_steps(self, *, limit: int = 100) -> int:
        """Queue the speed-to-lead reminders and escalations that are due (once, whichever worker)."""
        return take_due_sla_steps(self._uow_factory, now=self._clock(), limit=limit)

    def _load_state(
        self, script: Script, saved: ConversationState | None, lead: LeadRecord,
        profile: Profile, now: datetime,
    ) -> ConversationState:
        if saved is None:
            return ConversationState.fresh(
                script_id=script.id, lang=language_for(script, profile.language_code)
            ).model_copy(update={"stage": lead.stage, "source": lead.source})
        state = saved
        if state.stage != lead.stage:  # moved outside the chat (a rep disqualified it)
            state = state.model_copy(update={"stage": lead.stage})
        if state.current is not None and state.current not in script.question_ids():
            # A newer script dropped the question this chat was on: carry on from the rest.
            state = state.model_copy(
                update={"current": next_question(script, state, None, now=now)}
            )
        return state

    def _apply_events(
        self,
        script: Script,
        uow: UnitOfWork,
        lead: LeadRecord,
        conversation_id: int,
        before: ConversationState,
        result: Step,
        now: datetime,
    ) -> bool:
        """Persist what happened; returns True when the lead was erased."""
        state = result.state
        for event in result.events:
            if isinstance(event, ForgetRequested):
                for erase_hook in self._erase_hooks:
                    erase_hook(uow, lead, now)
                uow.leads.delete_by_id(lead.id)
                uow.events.add(lead_id=None, type=EVENT_LEAD_FORGOTTEN, payload={}, now=now)
                return True
            if isinstance(event, AnswerRecorded):
                uow.answers.record(
                    lead_id=lead.id,
                    conversation_id=conversation_id,
                    question_id=event.question_id,
                    raw_text=event.raw_text,
                    option_id=event.option_id,
                    value=event.value,
                    confidence=event.confidence,
                    via=event.via,
                    corrects=event.question_id in before.answers,
                    now=now,
                )
                field = script.question(event.question_id).field
                if field is not None:
                    value = event.value if isinstance(event.value, str) else None
                    setattr(lead, field, value[:256] if value else None)
            elif isinstance(event, AnswerNotUnderstood):
                uow.events.add(
                    lead_id=lead.id,
                    type=EVENT_NOT_UNDERSTOOD,
                    payload={"question_id": event.question_id, "text": event.raw_text[:500]},
                    now=now,
                )
            elif isinstance(event, StageChanged):
                uow.events.add(
                    lead_id=lead.id,
                    type=EVENT_STAGE_CHANGED,
                    payload={"from": event.previous, "to": event.stage, "score": event.score,
                             "reasons": list(event.reasons)},
                    now=now,
                )
                if event.stage == "sql":
                    self._queue_alert(script, uow, lead, result, now)
            elif isinstance(event, ConversationStarted):
                lead.source = lead.source or event.source
                uow.events.add(
                    lead_id=lead.id,
                    type=EVENT_CONVERSATION_STARTED,
                    payload={"source": event.source, "restart": event.restart},
                    now=now,
                )
            elif isinstance(event, ConversationStopped):
                uow.events.add(
                    lead_id=lead.id, type=EVENT_CONVERSATION_STOPPED, payload={}, now=now
                )
            elif isinstance(event, EngagementRecorded):
                # Which action, so the lead's history (and its Slack card) can say it.
                uow.events.add(
                    lead_id=lead.id,
                    type=event.type,
                    payload={"action": event.action, "via": event.via},
                    now=now,
                )
            elif isinstance(event, MessageAfterFlow):
                uow.events.add(
                    lead_id=lead.id,
                    type=EVENT_MESSAGE_AFTER_FLOW,
                    payload={"text": event.text},
                    now=now,
                )
            else:
                uow.events.add(lead_id=lead.id, type=event.type, payload={}, now=now)
        # The engine's verdict on the new state: nothing is recomputed here.
        score, nudge = result.score, result.next_nudge
        lead.next_nudge_at = nudge.due_at if nudge is not None else None
        lead.stage = state.stage
        lead.language = state.lang
        lead.stopped = state.status == "stopped"
        lead.fit, lead.intent, lead.score = score.fit, score.intent, score.total
        lead.temperature = score.temperature
        lead.reasons = list(score.reasons)
        if state.stage == "sql" and lead.qualified_at is None:
            lead.qualified_at = now
        lead.updated_at = now
        lead.last_message_at = now
        return False

    def _queue_alert(
        self, script: Script, uow: UnitOfWork, lead: LeadRecord, result: Step, now: datetime
    ) -> None:
        routed = result.route
        channel = routed.channel if routed else "default"
        alert_id = uow.outbox.queue(
            kind=ALERT_KIND,
            destination=f"slack:{channel}",
            dedupe_key=f"alert:{lead.id}:sql",
            lead_id=lead.id,
            payload={
                "lead_id": lead.id,
                "stage": "sql",
                "route_index": routed.index if routed else None,
            },
            now=now,
        )
        start_sla_clock(uow, script, lead_id=lead.id, route_index=routed.index if routed else None,
                        destination=f"slack:{channel}",
                        alert_outbox_id=alert_id, now=now)


NUDGE_CHANNELS = ("telegram",)  # where a message can reach a prospect who is not typing


def _outbound_for(channel: str) -> str | None:
    return channel if channel in NUDGE_CHANNELS else None


def _update_profile(lead: LeadRecord, profile: Profile) -> None:
    for attribute, value, limit in (
        ("first_name", profile.first_name, 256),
        ("last_name", profile.last_name, 256),
        ("username", profile.username, 64),
    ):
        if value:
            setattr(lead, attribute, value[:limit])
