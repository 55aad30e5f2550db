"""Lead export for CRMs: one row per lead — contact, attribution, scores, stage, answers.

Read in pages of leads so a large database streams instead of loading at once.
Column names are stable (the README lists them); per-question columns follow
the script's order: `answer_<question>_option` (the option or band id) and
`answer_<question>_text` (what the prospect typed or tapped).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.reports.attribution import parse_payload
from bot.reports.cells import safe_cell
from bot.reports.queries import QUALIFIED
from conversations.vocabulary import EVENT_STAGE_CHANGED
from storage.models import Answer, Lead, LeadEvent

PAGE = 500
LEAD_COLUMNS = (
    "lead_id", "channel", "chat_id", "username", "first_name", "last_name", "name", "company",
    "email", "phone", "role", "language", "source_payload", "source", "campaign", "medium",
    "stage", "temperature", "score", "fit", "intent", "reasons", "owner_id", "owner_name",
    "disqualified_reason", "stopped", "created_at", "mql_at", "sql_at", "qualified_at",
    "last_message_at", "updated_at",
)


def answered_questions(session: Session) -> set[str]:
    return set(session.scalars(select(Answer.question_id).distinct()))


def export_records(
    session: Session,
    *,
    questions: Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """One dict per lead, oldest first; `answers` maps question id → option, text, value."""
    last_id = 0
    while True:
        query = select(Lead).where(Lead.id > last_id)
        if since is not None:
            query = query.where(Lead.created_at >= since)
        if until is not None:
            query = query.where(Lead.created_at < until)
        leads = list(session.scalars(query.order_by(Lead.id).limit(PAGE)))
        if not leads:
            return
        ids = [lead.id for lead in leads]
        answers = _current_answers(session, ids)
        moments = _qualified_moments(session, ids)
        for lead in leads:
            yield _record(lead, answers.get(lead.id, {}), moments, questions)
        last_id = ids[-1]
        session.expunge_all()  # keep memory flat across pages


def _current_answers(session: Session, ids: list[int]) -> dict[int, dict[str, Answer]]:
    # After a /restart a lead has answers in several conversations: the latest wins.
    query = (
        select(Answer)
        .where(Answer.lead_id.in_(ids), Answer.superseded.is_(False))
        .order_by(Answer.id)
    )
    result: dict[int, dict[str, Answer]] = {}
    for answer in session.scalars(query):
        result.setdefault(answer.lead_id, {})[answer.question_id] = answer
    return result


def _qualified_moments(session: Session, ids: list[int]) -> dict[tuple[int, str], datetime]:
    query = (
        select(LeadEvent.lead_id, LeadEvent.payload, LeadEvent.created_at)
        .where(LeadEvent.type == EVENT_STAGE_CHANGED, LeadEvent.lead_id.in_(ids))
        .order_by(LeadEvent.created_at, LeadEvent.id)
    )
    moments: dict[tuple[int, str], datetime] = {}
    for lead_id, payload, created_at in session.execute(query):
        to = payload.get("to") if isinstance(payload, dict) else None
        for stage, covering in QUALIFIED.items():
            if lead_id is not None and to in covering:
                moments.setdefault((lead_id, stage), created_at)
    return moments


def _record(
    lead: Lead,
    answers: dict[str, Answer],
    moments: dict[tuple[int, str], datetime],
    questions: Sequence[str],
) -> dict[str, Any]:
    attribution = parse_payload(lead.source)
    return {
        "lead_id": lead.id, "channel": lead.channel, "chat_id": lead.chat_id,
        "username": lead.username, "first_name": lead.first_name, "last_name": lead.last_name,
        "name": lead.name, "company": lead.company, "email": lead.email, "phone": lead.phone,
        "role": lead.role, "language": lead.language, "source_payload": lead.source,
        "source": attribution.source, "campaign": attribution.campaign,
        "medium": attribution.medium, "stage": lead.stage, "temperature": lead.temperature,
        "score": lead.score, "fit": lead.fit, "intent": lead.intent,
        "reasons": [str(r) for r in lead.reasons or []],
        "owner_id": lead.owner_id, "owner_name": lead.owner_name,
        "disqualified_reason": lead.disqualified_reason, "stopped": lead.stopped,
        "created_at": _iso(lead.created_at), "mql_at": _iso(moments.get((lead.id, "mql"))),
        "sql_at": _iso(moments.get((lead.id, "sql"))), "qualified_at": _iso(lead.qualified_at),
        "last_message_at": _iso(lead.last_message_at), "updated_at": _iso(lead.updated_at),
        "answers": {
            question: {
                "option": answer.option_id,
                "text": answer.raw_text,
                "value": answer.value_number if answer.value_number is not None
                else answer.value_text,
            }
            for question in questions
            if (answer := answers.get(question)) is not None
        },
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def csv_columns(questions: Sequence[str]) -> list[str]:
    columns = list(LEAD_COLUMNS)
    for question in questions:
        columns += [f"answer_{question}_option", f"answer_{question}_text"]
    return columns


def write_csv(records: Iterator[dict[str, Any]], questions: Sequence[str], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(csv_columns(questions))
    written = 0
    for record in records:
        row = [_csv_value(record[column]) for column in LEAD_COLUMNS]
        for question in questions:
            answer = record["answers"].get(question) or {}
            row += [answer.get("option"), answer.get("text")]
        writer.writerow([safe_cell(cell) for cell in row])
        written += 1
    return written


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_jsonl(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    written = 0
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        written += 1
    return written
