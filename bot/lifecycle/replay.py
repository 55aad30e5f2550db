"""Replay: stored conversations through a script with the pure engine, in memory.

Each conversation is rebuilt the way its prospect lived it: `/start` (with its
campaign payload), then, for each question the script asks, the answers the
prospect gave to that question, in order, until one is understood — a tapped
button is tapped again when the option still exists, and read as its words when
it does not. A question the prospect never answered ends the replay there; a
question the script no longer asks is simply not asked. Engagement (webinars,
downloads…) is applied afterwards at the time it happened.

Only the order of inputs matters to the flow, not their times, so the flow runs at
a fixed instant. Each step is remembered by where the conversation stood — the
question, the stage, the options chosen so far (conditions and scores read option
ids, never the words typed) — and the answer given: conversations that reach the
same point and answer alike share the work, and only answers never seen before at
that point run the engine. A typed answer the bot understands is remembered by what it
means — the option it picks, or that an email, phone or text was accepted — so "45k"
and "50k" in the same budget band share a step; one it does not understand is
remembered by its words (they are offered back in a "did you mean…?"). What a typed
answer means is read once per question, words and language (the matcher is pure, and
the flow runs at one instant). The outcome is what running each conversation alone
gives (the words kept in the state may be another prospect's; nothing reported
reads them): `Replayer(script, shared=False)` runs every step through the engine, to
check exactly that.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Final

from pydantic import ValidationError

from bot.lifecycle.models import ConversationReplay, Outcome, ReplayTotals, Stage
from bot.lifecycle.replay_inputs import Attempt, StoredConversation
from conversations.contact import is_skip
from conversations.dsl import (
    EmailQuestion,
    PhoneQuestion,
    Question,
    Script,
    TextQuestion,
    options_of,
)
from conversations.engine import step
from conversations.exchange import Inbound
from conversations.routing import route_for
from conversations.state import ConversationState
from conversations.turn import clean_text, lead_facts, options_chosen
from conversations.understanding import understand

FLOW_TIME: Final = datetime(2026, 1, 1, tzinfo=UTC)
MAX_STEPS: Final = 200
MAX_REMEMBERED: Final = 200_000  # states kept for shared prefixes before starting afresh
STAGE_RANK: Final[dict[str, int]] = {"disqualified": 0, "new": 1, "engaged": 2, "mql": 3, "sql": 4}
Key = tuple[object, ...]


class Replayer:
    """Replays conversations through one script; keep one per script for a whole run."""

    def __init__(self, script: Script, *, shared: bool = True) -> None:
        self.script = script
        self.shared = shared  # False: no work shared between conversations (to check sharing)
        self._states: dict[Key, tuple[ConversationState, bool]] = {}
        self._options = {q.id: {o.id for o in options_of(q)} for q in script.questions}
        self._questions: dict[str, Question] = {q.id: q for q in script.questions}
        self._scored: dict[Key, Outcome] = {}
        self._meanings: dict[Key, tuple[str, ...]] = {}

    def replay(self, conversation: StoredConversation) -> tuple[Outcome, frozenset[int],
                                                                 frozenset[int]]:
        """The outcome, and which typed attempts (by position) were understood and which not."""
        if len(self._states) + len(self._meanings) > MAX_REMEMBERED or not self.shared:
            self._states.clear()
            self._scored.clear()
            self._meanings.clear()
        state, understood, failed = self._flow(conversation)
        at = FLOW_TIME
        for action, at in conversation.engagement:
            state = step(self.script, state, Inbound(kind="engagement", text=action), at).state
        outcome = self._outcome(state, max(at, FLOW_TIME), failed_questions(conversation, failed))
        return outcome, frozenset(understood), frozenset(failed)

    def stored(self, conversation: StoredConversation) -> tuple[Outcome, frozenset[int],
                                                                 frozenset[int]] | None:
        """The outcome the conversation has in the database, scored by this script: what a
        replay under the version it ran with gives, without running the engine. None when
        the stored state cannot be read."""
        try:
            state = ConversationState.model_validate(conversation.state)
        except ValidationError:
            return None
        understood: set[int] = set()
        failed: set[int] = set()
        for _, items in _numbered(conversation.attempts):
            for number, attempt in items:
                if attempt.option is None:
                    (understood if attempt.understood else failed).add(number)
        at = max([FLOW_TIME, *(hit for _, hit in conversation.engagement)])
        outcome = self._outcome(state, at, failed_questions(conversation, failed))
        return outcome, frozenset(understood), frozenset(failed)

    def _flow(self, conversation: StoredConversation) -> tuple[ConversationState, set[int],
                                                                set[int]]:
        script = self.script
        source = conversation.source
        start_key: Key = ("start", conversation.lang, source)
        remembered = self._states.get(start_key)
        if remembered is None:
            fresh = ConversationState.fresh(script_id=script.id, lang=conversation.lang)
            start = Inbound(kind="command", command="start", args=(source,) if source else (),
                            language_code=conversation.lang)
            remembered = (step(script, fresh, start, FLOW_TIME).state, True)
            self._states[start_key] = remembered
        state = remembered[0]
        queues = {q: deque(items) for q, items in _numbered(conversation.attempts)}
        understood: set[int] = set()
        failed: set[int] = set()
        for _ in range(MAX_STEPS):
            question = state.current
            if state.status != "active" or question is None:
                break
            queue = queues.get(question)
            if not queue:
                break  # the prospect never answered it (or stopped here)
            number, attempt = queue.popleft()
            token = self._token(question, attempt)
            key = (_signature(state), self._meaning(question, token, state.lang))
            remembered = self._states.get(key) if self.shared else None
            if remembered is None:
                after = step(script, state, self._inbound(question, token), FLOW_TIME).state
                remembered = (after, question in after.answers and (
                    question not in state.answers
                    or after.answers[question] != state.answers[question]))
                self._states[key] = remembered
            state, recorded = remembered
            if token[0] == "t":  # typed
                (understood if recorded else failed).add(number)
        return state, understood, failed

    def _token(self, question: str, attempt: Attempt) -> tuple[str, str]:
        if attempt.option is not None and attempt.option in self._options.get(question, ()):
            return ("c", attempt.option)
        return ("t", attempt.text)

    def _meaning(self, question_id: str, token: tuple[str, str], lang: str) -> tuple[str, ...]:
        """What the engine's step depends on in this answer: the option tapped; for typed
        words the option they pick or that they were accepted as an email, phone or text
        (nothing the flow or the outcome reads differs); else the words themselves."""
        if token[0] == "c":
            return token
        key = (question_id, token[1], lang)
        meaning = self._meanings.get(key)
        if meaning is None:
            meaning = self._meanings[key] = self._read(question_id, token[1], lang) or token
        return meaning

    def _read(self, question_id: str, raw: str, lang: str) -> tuple[str, ...] | None:
        """As `conversations.answers.answer_text` reads it: None unless recorded as is."""
        question = self._questions.get(question_id)
        text = clean_text(raw)
        if question is None or not text or (not question.required and is_skip(text)):
            return None
        if isinstance(question, TextQuestion):
            return ("text",) if len(text) <= question.max_length else None
        understood = understand(question, text, lang=lang, now=FLOW_TIME)
        if isinstance(question, (EmailQuestion, PhoneQuestion)):
            return ("contact",) if understood.value is not None else None
        if understood.accepted and understood.option_id is not None:
            return ("option", understood.option_id)
        return None

    @staticmethod
    def _inbound(question: str, token: tuple[str, str]) -> Inbound:
        if token[0] == "c":
            return Inbound(kind="choice", choice=f"a:{question}:{token[1]}")
        return Inbound(kind="text", text=token[1])

    def _outcome(self, state: ConversationState, at: datetime,
                 unmatched: tuple[str, ...]) -> Outcome:
        if state.engagement:
            return self._score(state, at, unmatched)
        # Without engagement the outcome depends on the options chosen and where the flow
        # stands, not on the words typed: many conversations share one.
        key = (state.stage, state.status, state.current, state.history,
               tuple(sorted(options_chosen(state).items(), key=lambda kv: kv[0])), unmatched)
        known = self._scored.get(key) if self.shared else None
        if known is None:
            known = self._scored[key] = self._score(state, at, unmatched)
        return known

    def _score(self, state: ConversationState, at: datetime,
               unmatched: tuple[str, ...]) -> Outcome:
        score, facts = lead_facts(self.script, state, at)
        route = None
        if state.stage == "sql":
            routed = route_for(self.script, facts)
            route = routed.channel if routed else None
        asked = state.history + ((state.current,) if state.current else ())
        return Outcome(stage=_stage(state.stage), temperature=score.temperature,
                       score=score.total, route=route, completed=state.status == "completed",
                       asked=tuple(dict.fromkeys(asked)), unmatched=unmatched)


def _signature(state: ConversationState) -> Key:
    """What the rest of a conversation's flow and its outcome depend on: where it stands and
    the options chosen — not the words typed (conditions and scores read option ids)."""
    return (state.lang, state.source, state.status, state.current, state.stage, state.retries,
            state.suggestions, state.pending_raw, state.history,
            tuple((q, a.option_id) for q, a in state.answers.items()))


def _numbered(attempts: dict[str, tuple[Attempt, ...]]) -> Iterable[tuple[str, list[tuple[int, Attempt]]]]:
    """Attempts with a number unique within the conversation (its position overall)."""
    number = 0
    for question, items in attempts.items():
        numbered = []
        for attempt in items:
            numbered.append((number, attempt))
            number += 1
        yield question, numbered


def failed_questions(conversation: StoredConversation, failed: set[int]) -> tuple[str, ...]:
    names = []
    for question, items in _numbered(conversation.attempts):
        if any(number in failed for number, _ in items):
            names.append(question)
    return tuple(names)


def _stage(stage: str) -> Stage:
    return stage if stage in STAGE_RANK else "new"  # type: ignore[return-value]


def replay_all(
    conversations: Iterable[StoredConversation], old: Replayer, new: Replayer,
    *, old_version: int | None = None,
) -> tuple[list[ConversationReplay], ReplayTotals]:
    """Every conversation under both scripts, and what would change in total.

    A conversation that ran under `old_version` (the served one) is not replayed under
    it: its stored state is what that replay gives, so it is only scored again.
    """
    results = []
    up = down = gained = lost = routes = understood_now = unmatched_now = 0
    added: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for conversation in conversations:
        known = (old.stored(conversation) if old_version is not None
                 and conversation.version_number == old_version else None)
        before, ok_before, failed_before = known or old.replay(conversation)
        after, ok_after, failed_after = new.replay(conversation)
        rank_before, rank_after = STAGE_RANK[before.stage], STAGE_RANK[after.stage]
        up += rank_after > rank_before
        down += rank_after < rank_before
        gained += after.stage == "sql" and before.stage != "sql"
        lost += before.stage == "sql" and after.stage != "sql"
        routes += before.stage == after.stage == "sql" and before.route != after.route
        understood_now += len(failed_before & ok_after)
        unmatched_now += len(ok_before & failed_after)
        for question in after.asked:
            if question not in before.asked:
                added[question] = added.get(question, 0) + 1
        for question in before.asked:
            if question not in after.asked:
                skipped[question] = skipped.get(question, 0) + 1
        results.append(ConversationReplay(conversation_id=conversation.conversation_id,
                                          lead_id=conversation.lead_id, old=before, new=after))
    totals = ReplayTotals(
        conversations=len(results), changed=sum(r.changed for r in results), moved_up=up,
        moved_down=down, alerts_gained=gained, alerts_lost=lost, routes_changed=routes,
        newly_understood=understood_now, newly_unmatched=unmatched_now,
        questions_added=added, questions_skipped=skipped,
    )
    return results, totals


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the block, then back as it was.

    A replay builds tens of thousands of objects that live until it ends (the inputs,
    the states it remembers) and frees them by reference counting; the collector
    would walk them, and the rest of the process, every few thousand allocations
    and find nothing to free: a fifth of a replay of 1,000 conversations. Cycles made
    meanwhile are collected after.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
