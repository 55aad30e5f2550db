"""Read what the funnel report needs from the database, one plain value per lead.

A lead counts once, however many times it restarted: it *answered* a question
when any of its conversations holds a current (not superseded) answer to it, and
it is *on* a question when its active conversation waits for that answer. Its
MQL and SQL moments are the first `stage_changed` events into those stages.
Only reads; the caller owns the session.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.reports.attribution import Attribution, parse_payload
from conversations.vocabulary import EVENT_STAGE_CHANGED, Stage
from storage.models import Answer, Conversation, Lead, LeadEvent

QUALIFIED = {"mql": ("mql", "sql"), "sql": ("sql",)}


@dataclass(frozen=True, slots=True)
class Window:
    """Leads whose first message falls in [since, until); None leaves a side open."""

    since: datetime | None = None
    until: datetime | None = None
    script_id: str | None = None


@dataclass(frozen=True, slots=True)
class LeadFacts:
    lead_id: int
    created_at: datetime
    language: str
    payload: str | None
    attribution: Attribution
    stage: Stage
    owner_id: str | None
    answered: frozenset[str]
    current: str | None
    completed: bool
    mql_at: datetime | None
    sql_at: datetime | None


def _leads_in(window: Window) -> Select[tuple[int]]:
    """Ids of the leads the report covers, as a subquery (no giant IN lists)."""
    query = select(Lead.id)
    if window.since is not None:
        query = query.where(Lead.created_at >= window.since)
    if window.until is not None:
        query = query.where(Lead.created_at < window.until)
    if window.script_id is not None:
        query = query.where(
            Lead.id.in_(select(Conversation.lead_id).where(Conversation.script_id == window.script_id))
        )
    return query


def load_lead_facts(session: Session, window: Window) -> list[LeadFacts]:
    lead_ids = _leads_in(window)
    conversations = select(
        Conversation.lead_id, Conversation.active, Conversation.status, Conversation.state
    ).where(Conversation.lead_id.in_(lead_ids))
    answers = (
        select(Answer.lead_id, Answer.question_id)
        .join(Conversation, Conversation.id == Answer.conversation_id)
        .where(Answer.lead_id.in_(lead_ids), Answer.superseded.is_(False))
        .distinct()
    )
    if window.script_id is not None:
        conversations = conversations.where(Conversation.script_id == window.script_id)
        answers = answers.where(Conversation.script_id == window.script_id)

    started: set[int] = set()
    completed: set[int] = set()
    current: dict[int, str] = {}
    for lead_id, active, status, state in session.execute(conversations):
        started.add(lead_id)
        if status == "completed":
            completed.add(lead_id)
        # A stopped chat still waits on its question: the prospect reached it and left.
        if active and isinstance(state, dict):
            waiting = state.get("current")
            if isinstance(waiting, str):
                current[lead_id] = waiting

    answered: dict[int, set[str]] = defaultdict(set)
    for lead_id, question_id in session.execute(answers):
        answered[lead_id].add(question_id)

    reached_at: dict[tuple[int, str], datetime] = {}
    stage_events = (
        select(LeadEvent.lead_id, LeadEvent.payload, LeadEvent.created_at)
        .where(LeadEvent.type == EVENT_STAGE_CHANGED, LeadEvent.lead_id.in_(lead_ids))
        .order_by(LeadEvent.created_at, LeadEvent.id)
    )
    for lead_id, payload, created_at in session.execute(stage_events):
        to = payload.get("to") if isinstance(payload, dict) else None
        for stage, covering in QUALIFIED.items():
            if to in covering:
                reached_at.setdefault((lead_id, stage), created_at)

    leads = select(
        Lead.id, Lead.created_at, Lead.language, Lead.source, Lead.stage, Lead.owner_id
    ).where(Lead.id.in_(lead_ids)).order_by(Lead.id)
    facts = []
    for lead_id, created_at, language, source, stage, owner_id in session.execute(leads):
        if lead_id not in started:
            continue  # a lead without a conversation of this script never started it
        facts.append(
            LeadFacts(
                lead_id=lead_id,
                created_at=created_at,
                language=language,
                payload=source,
                attribution=parse_payload(source),
                stage=stage,
                owner_id=owner_id,
                answered=frozenset(answered.get(lead_id, ())),
                current=current.get(lead_id),
                completed=lead_id in completed,
                mql_at=reached_at.get((lead_id, "mql")),
                sql_at=reached_at.get((lead_id, "sql")),
            )
        )
    return facts


def questions_seen(facts: list[LeadFacts]) -> set[str]:
    """Question ids present in the data (answered or being asked)."""
    seen: set[str] = set()
    for fact in facts:
        seen |= fact.answered
        if fact.current is not None:
            seen.add(fact.current)
    return seen
