"""The outbox repository: messages to deliver after the transaction that decided them.

Each destination's rows go out in order (only its oldest pending row is ever
handed out), with leases so a killed deliverer's row is taken over, and back-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, literal_column, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnClause

from storage.models import OutboxMessage

_OUTBOX = cast(Table, OutboxMessage.__table__)
_INSERT_OUTBOX = insert(_OUTBOX)
# Written as a literal, not a bound parameter, so that the planners (SQLite's, and
# PostgreSQL's generic plans for prepared statements) can use the partial indexes.
_PENDING: ColumnClause[str] = literal_column("'pending'")


class OutboxRepository:
    """Messages waiting for delivery, each destination in order, with leases and back-off."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self, *, kind: str, destination: str, payload: dict[str, Any], now: datetime,
        lead_id: int | None = None, dedupe_key: str | None = None,
    ) -> OutboxMessage | None:
        """Queue a message; returns None when `dedupe_key` was already queued."""
        if dedupe_key is not None:
            exists = self._session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
            )
            if exists is not None:
                return None
        message = OutboxMessage(
            kind=kind,
            destination=destination,
            dedupe_key=dedupe_key,
            lead_id=lead_id,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self._session.add(message)
        if dedupe_key is not None:
            self._session.flush()  # so a second add in this transaction sees it
        return message

    def queue_many(
        self, *, kind: str, destination: str, payloads: Sequence[dict[str, Any]], now: datetime,
        lead_id: int | None = None,
    ) -> None:
        """Queue several messages for one destination in one statement (the replies to a message)."""
        rows = [
            {
                "kind": kind, "destination": destination, "dedupe_key": None,
                "lead_id": lead_id, "payload": payload, "status": "pending", "attempts": 0,
                "next_attempt_at": now, "created_at": now,
            }
            for payload in payloads
        ]
        if len(rows) == 1:
            # The usual case (one reply): a plain execute. A list would go through the
            # driver's executemany, which on PostgreSQL costs a pipeline set-up.
            self._session.execute(_INSERT_OUTBOX, rows[0])
        elif rows:
            self._session.execute(_INSERT_OUTBOX, rows)

    def claim_due(
        self, *, kinds: Sequence[str], now: datetime, lease: timedelta, limit: int = 50,
        destination: str | None = None,
    ) -> list[OutboxMessage]:
        """Lease the next message of each destination that is due.

        Only a destination's oldest pending row (its head) is ever handed out, so one
        channel's messages are delivered in order even across workers. A row is a head
        when no earlier row of its destination is pending, leased or row-locked ones
        included, so a busy head hides the rows behind it. The pending rows are walked
        in id order and each is checked with one probe of the partial index
        `ix_outbox_pending_destination`: the cost follows the rows handed out, not the
        backlog (the earlier "min(id) per destination" form read every pending row on
        each claim, and with a stale planner estimate went quadratic). On PostgreSQL
        the heads are taken with `FOR UPDATE SKIP LOCKED`: a head another worker is
        claiming right now is skipped (not waited for), and because the rows behind it
        are not heads they can never overtake it. A head whose claim commits meanwhile
        is re-checked by PostgreSQL against the WHERE clause (leased or delivered →
        dropped).
        """
        earlier = aliased(OutboxMessage)
        # The destination's oldest pending row, leased or not. A correlated scalar
        # subquery is always run per candidate with the destination as a parameter, so
        # it is one probe of the (destination, id) partial index whatever the planner's
        # statistics say (as NOT EXISTS it may become an anti-join over all pending
        # rows). A destination belongs to one deliverer whatever the kinds of its rows,
        # so the probe needs no kind.
        head = (
            select(func.min(earlier.id))
            .where(earlier.destination == OutboxMessage.destination, earlier.status == _PENDING)
            .scalar_subquery()
        )
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.status == _PENDING,
                OutboxMessage.kind.in_(kinds),
                OutboxMessage.next_attempt_at <= now,
                (OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until <= now),
                OutboxMessage.id == head,
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if destination is not None:  # only that destination's head (a reply just queued)
            query = query.where(OutboxMessage.destination == destination)
        if self._session.get_bind().dialect.name != "sqlite":
            # SQLite has one writer at a time: no row locks to take or skip.
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        claimed = list(self._session.scalars(query))
        for message in claimed:
            message.locked_until = now + lease
            message.attempts += 1
        self._session.flush()
        return claimed

    def get(self, message_id: int) -> OutboxMessage | None:
        return self._session.get(OutboxMessage, message_id)

    def mark_delivered(self, message_id: int, *, result: dict[str, Any], now: datetime) -> None:
        self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="delivered", result=result, delivered_at=now, locked_until=None)
        )

    def mark_retry(self, message_id: int, *, error: str, retry_at: datetime) -> None:
        self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(last_error=error[:2000], next_attempt_at=retry_at, locked_until=None)
        )

    def mark_failed(self, message_id: int, *, error: str) -> None:
        self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="failed", last_error=error[:2000], locked_until=None)
        )

    def release_leases(self, *, kinds: Sequence[str], now: datetime) -> int:
        """Make the leased pending rows of `kinds` claimable now (their deliverer died)."""
        result = self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == _PENDING, OutboxMessage.kind.in_(kinds),
                   OutboxMessage.locked_until > now)
            .values(locked_until=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def pending(self, *, kinds: Sequence[str] | None = None) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(OutboxMessage.status == "pending")
        if kinds is not None:
            query = query.where(OutboxMessage.kind.in_(kinds))
        return list(self._session.scalars(query.order_by(OutboxMessage.id)))

    def for_lead(self, lead_id: int, *, kind: str | None = None) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(OutboxMessage.lead_id == lead_id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(self._session.scalars(query.order_by(OutboxMessage.id)))
