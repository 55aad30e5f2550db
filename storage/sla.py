"""The SLA clock repository: start a lead's clock, find due steps, take one exactly once, stop it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.orm import Session

from storage.direct import DirectStatement
from storage.models import SlaClock

_CLOCKS = cast(Table, SlaClock.__table__)
# Written in the message's transaction that qualifies the lead (see storage.direct).
_START = DirectStatement(
    text(
        "INSERT INTO sla_clocks (lead_id, route_index, channel, alert_outbox_id, policy, step, "
        "next_due_at, qualified_at, deadline_at) VALUES (:lead_id, :route_index, :channel, "
        ":alert_outbox_id, :policy, :step, :next_due_at, :qualified_at, :deadline_at) "
        "ON CONFLICT DO NOTHING"
    ).bindparams(*(bindparam(name, type_=_CLOCKS.c[name].type)
                   for name in ("policy", "next_due_at", "qualified_at", "deadline_at")))
)

RUNNING_STEPS = ("reminder", "escalation")


@dataclass(frozen=True, slots=True)
class DueStep:
    lead_id: int
    step: str
    due_at: datetime


class SlaClockRepository:
    """Clocks are written in the caller's transaction; nothing here commits."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def start(
        self, *, lead_id: int, route_index: int | None, channel: str, alert_outbox_id: int | None,
        policy: dict[str, Any], step: str, due_at: datetime, qualified_at: datetime,
        deadline_at: datetime,
    ) -> None:
        # A lead qualifies once: its first clock stands (ON CONFLICT on the lead's key).
        _START.execute(self._session, {
            "lead_id": lead_id, "route_index": route_index, "channel": channel,
            "alert_outbox_id": alert_outbox_id, "policy": policy, "step": step,
            "next_due_at": due_at, "qualified_at": qualified_at, "deadline_at": deadline_at,
        })

    def get(self, lead_id: int) -> SlaClock | None:
        return self._session.get(SlaClock, lead_id)

    def due(self, *, now: datetime, limit: int) -> list[DueStep]:
        query = (
            select(SlaClock.lead_id, SlaClock.step, SlaClock.next_due_at)
            .where(SlaClock.next_due_at <= now, SlaClock.step.in_(RUNNING_STEPS))
            .order_by(SlaClock.next_due_at)
            .limit(limit)
        )
        return [DueStep(lead_id, step, due_at) for lead_id, step, due_at in self._session.execute(query)
                if due_at is not None]

    def take(
        self, due: DueStep, *, next_step: str, next_due_at: datetime | None, now: datetime
    ) -> bool:
        """Move the clock past `due`; True for the one transaction that did (workers race here).

        A conditional UPDATE: on PostgreSQL a second worker's UPDATE waits for the
        first to commit, re-reads the row and no longer matches; SQLite has one writer.
        """
        stamp = {"reminded_at": now} if due.step == "reminder" else {"escalated_at": now}
        result = self._session.execute(
            update(SlaClock)
            .where(SlaClock.lead_id == due.lead_id, SlaClock.step == due.step,
                   SlaClock.next_due_at == due.due_at)
            .values(step=next_step, next_due_at=next_due_at, **stamp)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def stop(self, lead_id: int, *, step: str, claimed_at: datetime | None = None) -> None:
        """Nothing more is due: the lead was claimed (`claimed_at`), disqualified or erased."""
        values: dict[str, Any] = {"step": step, "next_due_at": None}
        if claimed_at is not None:
            values["claimed_at"] = claimed_at
        self._session.execute(
            update(SlaClock).where(SlaClock.lead_id == lead_id).values(**values)
            .execution_options(synchronize_session=False)
        )
