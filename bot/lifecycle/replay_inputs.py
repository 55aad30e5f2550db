"""What replay feeds the engine: each stored conversation's answers as the prospect gave them.

Read in a few bulk queries, never written. A conversation's inputs are its answers —
typed text or a tapped button (the option id), superseded ones included — and the
typed answers the bot did not understand (`answer_not_understood` events), in the
order they came, grouped by question; plus its engagement (actions and times).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from storage.models import Answer, Conversation, LeadEvent


@dataclass(frozen=True, slots=True)
class Attempt:
    """One answer the prospect gave to a question: typed text, or a button's option id."""

    text: str
    option: str | None  # set when a button was tapped
    at: datetime
    understood: bool = True  # False: stored as an answer the bot did not understand


@dataclass(frozen=True, slots=True)
class StoredConversation:
    conversation_id: int
    lead_id: int
    lang: str
    source: str | None
    attempts: dict[str, tuple[Attempt, ...]]  # question id → attempts in the order given
    engagement: tuple[tuple[str, datetime], ...]  # (action id, when), oldest first
    version_number: int | None = None  # the stored version it ran under
    state: dict[str, object] | None = None  # the engine state it ended in


def _conversations(since: datetime | None, limit: int | None) -> Select[tuple[int, int, dict[str, object], datetime, int | None]]:
    query = select(Conversation.id, Conversation.lead_id, Conversation.state,
                   Conversation.created_at, Conversation.version_number).order_by(
        Conversation.id.desc())
    if since is not None:
        query = query.where(Conversation.created_at >= since)
    if limit is not None:
        query = query.limit(limit)
    return query


def load_conversations(
    session: Session, *, since: datetime | None = None, limit: int | None = None
) -> list[StoredConversation]:
    """The conversations to replay, oldest first (`limit`: the most recent N)."""
    rows = [row for row in session.connection().execute(_conversations(since, limit))
            if isinstance(row[2], dict) and row[2].get("status") != "new"]
    rows.reverse()
    ids = select(_conversations(since, limit).subquery().c.id)
    attempts: dict[int, list[tuple[datetime, int, str, Attempt]]] = defaultdict(list)
    answers = select(Answer.conversation_id, Answer.id, Answer.question_id, Answer.raw_text,
                     Answer.option_id, Answer.via, Answer.created_at).where(
        Answer.conversation_id.in_(ids))
    for conversation_id, answer_id, question, raw, option, via, at in session.connection().execute(answers):
        attempts[conversation_id].append(
            (at, 2 * answer_id + 1, question, Attempt(raw, option if via == "button" else None, at)))

    # Unmatched answers are the lead's events: each goes to the lead's conversation
    # that had started when it was typed.
    starts: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for conversation_id, lead_id, _, created_at, _ in rows:
        starts[lead_id].append((created_at, conversation_id))
    for lead_starts in starts.values():
        lead_starts.sort()
    events = select(LeadEvent.lead_id, LeadEvent.id, LeadEvent.payload, LeadEvent.created_at).where(
        LeadEvent.type == "answer_not_understood",
        LeadEvent.lead_id.in_(select(_conversations(since, limit).subquery().c.lead_id)))
    for lead_id, event_id, payload, at in session.connection().execute(events):
        known = starts.get(lead_id)
        if not known or not isinstance(payload, dict):
            continue
        index = bisect.bisect_right(known, (at, 2**62)) - 1
        question, text = payload.get("question_id"), payload.get("text")
        if index >= 0 and isinstance(question, str) and isinstance(text, str):
            attempts[known[index][1]].append((at, 2 * event_id, question,
                                              Attempt(text, None, at, understood=False)))

    conversations = []
    for conversation_id, lead_id, state, _, version_number in rows:
        by_question: dict[str, list[Attempt]] = defaultdict(list)
        for _, _, question, attempt in sorted(attempts.get(conversation_id, ()),
                                              key=lambda item: (item[0], item[1])):
            by_question[question].append(attempt)
        conversations.append(StoredConversation(
            conversation_id=conversation_id,
            lead_id=lead_id,
            lang=str(state.get("lang") or "en"),
            source=_text(state.get("source")),
            attempts={q: tuple(items) for q, items in by_question.items()},
            engagement=_engagement(state.get("engagement")),
            version_number=version_number,
            state=state,
        ))
    return conversations


def _engagement(hits: object) -> tuple[tuple[str, datetime], ...]:
    if not isinstance(hits, list):
        return ()
    found = []
    for hit in hits:
        if isinstance(hit, dict) and isinstance(hit.get("action"), str):
            try:
                found.append((hit["action"], datetime.fromisoformat(str(hit["at"]))))
            except (KeyError, ValueError):
                continue
    return tuple(sorted(found, key=lambda item: item[1]))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
