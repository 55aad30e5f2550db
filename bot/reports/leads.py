"""Read the leads list and one lead's file (answers, transcript, stage history): reads only.

The workspace's Leads pages render these values; the caller owns the session and
decides what a role may see (contact details are fields here, hidden by the page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from bot.reports.attribution import parse_payload
from storage.models import Answer, Lead, LeadEvent, OutboxMessage

TELEGRAM_KIND = "telegram"  # the outbox kind of the bot's replies (bot.telegram.delivery.KIND)
STAGES = ("new", "engaged", "mql", "sql", "disqualified")
TEMPERATURES = ("cold", "warm", "hot")


@dataclass(frozen=True, slots=True)
class LeadQuery:
    text: str = ""  # matched in names, company, email, username, source (contacts: see below)
    stage: str = ""
    temperature: str = ""
    source: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class LeadRow:
    id: int
    channel: str
    display_name: str  # name given in the flow, else the chat's first/last name, else @username
    company: str | None
    email: str | None
    phone: str | None
    username: str | None
    language: str
    stage: str
    temperature: str
    score: int
    fit: int
    intent: int
    source: str | None
    campaign: str | None
    owner_name: str | None
    created_at: datetime
    last_message_at: datetime | None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _filtered(query: LeadQuery, *, search_contacts: bool) -> Select[tuple[Lead]]:
    statement = select(Lead)
    text = query.text.strip()
    if text:
        pattern = _like(text)
        columns = [Lead.source, Lead.owner_name]
        if search_contacts:
            columns += [Lead.name, Lead.first_name, Lead.last_name, Lead.company, Lead.email,
                        Lead.username, Lead.phone]
        conditions: list[ColumnElement[bool]] = [
            func.lower(column).like(pattern, escape="\\") for column in columns]
        if text.lstrip("#").isdigit():
            conditions.append(Lead.id == int(text.lstrip("#")))
        statement = statement.where(or_(*conditions))
    if query.stage:
        statement = statement.where(Lead.stage == query.stage)
    if query.temperature:
        statement = statement.where(Lead.temperature == query.temperature)
    if query.source:
        statement = statement.where(or_(Lead.source == query.source,
                                        Lead.source.like(_like_prefix(query.source), escape="\\")))
    if query.since is not None:
        statement = statement.where(Lead.created_at >= query.since)
    if query.until is not None:
        statement = statement.where(Lead.created_at < query.until)
    return statement


def _like_prefix(source: str) -> str:
    # "/start linkedin-q3" payloads carry campaign and medium after the source.
    escaped = source.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}-%"


def search_leads(session: Session, query: LeadQuery, *, search_contacts: bool, offset: int,
                 limit: int) -> tuple[list[LeadRow], int]:
    """One page of leads, newest first, and how many match in all."""
    statement = _filtered(query, search_contacts=search_contacts)
    total = int(session.scalar(select(func.count()).select_from(statement.subquery())) or 0)
    leads = session.scalars(statement.order_by(Lead.created_at.desc(), Lead.id.desc())
                            .offset(offset).limit(limit))
    return [lead_row(lead) for lead in leads], total


def lead_row(lead: Lead) -> LeadRow:
    attribution = parse_payload(lead.source)
    full = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    display = lead.name or full or (f"@{lead.username}" if lead.username else "")
    return LeadRow(
        id=lead.id, channel=lead.channel, display_name=display, company=lead.company,
        email=lead.email, phone=lead.phone, username=lead.username, language=lead.language,
        stage=lead.stage, temperature=lead.temperature, score=lead.score, fit=lead.fit,
        intent=lead.intent, source=attribution.source, campaign=attribution.campaign,
        owner_name=lead.owner_name, created_at=lead.created_at,
        last_message_at=lead.last_message_at)


@dataclass(frozen=True, slots=True)
class AnswerLine:
    question_id: str
    raw_text: str  # the prospect's own words (or the tapped button's label)
    option_id: str | None
    value: float | str | None
    confidence: float
    via: str
    superseded: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    at: datetime
    inbound: bool
    text: str
    question_id: str | None = None
    note: str = ""  # e.g. "not understood"


@dataclass(frozen=True, slots=True)
class StageChange:
    at: datetime
    from_stage: str | None
    to_stage: str
    score: int | None


@dataclass(frozen=True, slots=True)
class LeadFile:
    lead: LeadRow
    reasons: tuple[str, ...]
    disqualified_reason: str | None
    stopped: bool
    qualified_at: datetime | None
    answers: tuple[AnswerLine, ...]  # oldest first, superseded ones included
    transcript: tuple[TranscriptLine, ...]
    stages: tuple[StageChange, ...]


def lead_file(session: Session, lead_id: int) -> LeadFile | None:
    lead = session.get(Lead, lead_id)
    if lead is None:
        return None
    answers = tuple(
        AnswerLine(question_id=a.question_id, raw_text=a.raw_text, option_id=a.option_id,
                   value=a.value_number if a.value_number is not None else a.value_text,
                   confidence=a.confidence, via=a.via, superseded=a.superseded,
                   at=a.created_at)
        for a in session.scalars(select(Answer).where(Answer.lead_id == lead_id)
                                 .order_by(Answer.created_at, Answer.id)))
    events = list(session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id)
                                  .order_by(LeadEvent.created_at, LeadEvent.id)))
    lines = [TranscriptLine(at=a.at, inbound=True, text=a.raw_text, question_id=a.question_id,
                            note="changed later" if a.superseded else "")
             for a in answers]
    lines += [line for line in map(_event_line, events) if line is not None]
    replies = session.scalars(select(OutboxMessage).where(
        OutboxMessage.lead_id == lead_id, OutboxMessage.kind == TELEGRAM_KIND)
        .order_by(OutboxMessage.id))
    for reply in replies:
        text = reply.payload.get("text") if isinstance(reply.payload, dict) else None
        if isinstance(text, str) and text:
            lines.append(TranscriptLine(at=reply.created_at, inbound=False, text=text,
                                        question_id=_question_of(reply.payload)))
    # Within one moment the prospect's message comes before the bot's answer to it.
    lines.sort(key=lambda line: (line.at, 0 if line.inbound else 1))
    stages = tuple(
        StageChange(at=e.created_at, from_stage=_text(e.payload, "from"),
                    to_stage=_text(e.payload, "to") or "?",
                    score=e.payload.get("score") if isinstance(e.payload.get("score"), int)
                    else None)
        for e in events if e.type == "stage_changed" and isinstance(e.payload, dict))
    return LeadFile(lead=lead_row(lead), reasons=tuple(str(r) for r in lead.reasons or ()),
                    disqualified_reason=lead.disqualified_reason, stopped=lead.stopped,
                    qualified_at=lead.qualified_at, answers=answers,
                    transcript=tuple(lines), stages=stages)


def _text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def _question_of(payload: dict[str, Any]) -> str | None:
    return _text(payload, "question_id")


def _event_line(event: LeadEvent) -> TranscriptLine | None:
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.type == "answer_not_understood":
        return TranscriptLine(at=event.created_at, inbound=True, text=_text(payload, "text") or "",
                              question_id=_text(payload, "question_id"), note="not understood")
    if event.type == "message_after_flow":
        return TranscriptLine(at=event.created_at, inbound=True, text=_text(payload, "text") or "",
                              note="after the questions")
    return None
