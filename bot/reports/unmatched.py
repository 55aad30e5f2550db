"""Typed answers the bot could not understand, folded and counted: tomorrow's synonyms.

Texts are folded the way a marketer would read them as "the same answer":
case, accents and runs of whitespace do not matter ("Dans 3  MOIS" = "dans 3 mois").
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.vocabulary import EVENT_NOT_UNDERSTOOD
from storage.models import LeadEvent


@dataclass(frozen=True, slots=True)
class Unmatched:
    question: str
    text: str  # folded
    count: int
    leads: int  # distinct leads who typed it: one insistent prospect is not a trend
    example: str  # the most common original spelling


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def load_unmatched_texts(
    session: Session, *, since: datetime | None, until: datetime | None
) -> list[tuple[str, str, int | None]]:
    """(question id, raw text, lead id) of each `answer_not_understood` event in the window."""
    query = select(LeadEvent.payload, LeadEvent.lead_id).where(
        LeadEvent.type == EVENT_NOT_UNDERSTOOD
    )
    if since is not None:
        query = query.where(LeadEvent.created_at >= since)
    if until is not None:
        query = query.where(LeadEvent.created_at < until)
    rows = []
    for payload, lead_id in session.execute(query.order_by(LeadEvent.id)):
        if not isinstance(payload, dict):
            continue
        question, text = payload.get("question_id"), payload.get("text")
        if isinstance(question, str) and isinstance(text, str) and text.strip():
            rows.append((question, text, lead_id))
    return rows


def count_unmatched(
    texts: Iterable[tuple[str, str, int | None]],
    *,
    question_order: Sequence[str] = (),
    only_question: str | None = None,
    limit: int | None = None,
) -> list[Unmatched]:
    """Most frequent first within each question; questions in script order, then by name."""
    counts: Counter[tuple[str, str]] = Counter()
    spellings: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    leads: dict[tuple[str, str], set[int]] = defaultdict(set)
    for question, raw, lead_id in texts:
        if only_question is not None and question != only_question:
            continue
        key = (question, fold(raw))
        if not key[1]:
            continue
        counts[key] += 1
        spellings[key][" ".join(raw.split())] += 1
        if lead_id is not None:
            leads[key].add(lead_id)
    rank = {q: i for i, q in enumerate(question_order)}
    per_question: dict[str, list[Unmatched]] = defaultdict(list)
    for (question, folded), count in counts.items():
        example = min(spellings[(question, folded)].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        per_question[question].append(
            Unmatched(question, folded, count, len(leads[(question, folded)]), example)
        )
    result: list[Unmatched] = []
    for question in sorted(per_question, key=lambda q: (rank.get(q, len(rank)), q)):
        items = sorted(per_question[question], key=lambda u: (-u.count, -u.leads, u.text))
        result.extend(items[:limit] if limit is not None else items)
    return result
