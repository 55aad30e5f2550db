"""`LeadRecord`: a lead row as a plain value for the per-message path.

The service reads and writes one lead per message; doing that through the
ORM's identity map and flush costs more than the SQL (see benchmarks/), so
the hot path uses this record and writes back the columns a message may change.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from conversations.vocabulary import Stage, Temperature


@dataclass(slots=True)
class LeadRecord:
    id: int
    channel: str
    chat_id: str
    first_name: str | None
    last_name: str | None
    username: str | None
    language: str
    source: str | None
    name: str | None
    company: str | None
    email: str | None
    phone: str | None
    role: str | None
    stage: Stage
    temperature: Temperature
    score: int
    fit: int
    intent: int
    reasons: list[Any]
    owner_id: str | None
    owner_name: str | None
    disqualified_reason: str | None
    stopped: bool
    created_at: datetime
    updated_at: datetime
    qualified_at: datetime | None
    last_message_at: datetime | None
    next_nudge_at: datetime | None


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LeadRecord))
