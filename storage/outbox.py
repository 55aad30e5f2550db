"""The outbox repository: messages to deliver after the transaction that decided them.

Each destination's rows go out in order (only its oldest pending row is ever
handed out), with leases so a killed deliverer's row is taken over, and back-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from storage.models import OutboxMessage

_OUTBOX = cast(Table, OutboxMessage.__table__)
_INSERT_OUTBOX = insert(_OUTBOX)


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
        if not payloads:
            return
        self._session.execute(
            _INSERT_OUTBOX,
            [
                {
                    "kind": kind, "destination": destination, "dedupe_key": None,
                    "lead_id": lead_id, "payload": payload, "status": "pending", "attempts": 0,
                    "next_attempt_at": now, "created_at": now,
                }
                for payload in payloads
            ],
        )

    def claim_due(
        self, *, kinds: Sequence[str], now: datetime, lease: timedelta, limit: int = 50
    ) -> list[OutboxMessage]:
        """Lease the next message of each destination that is due.

        Only a destination's oldest pending row (its head) is ever handed out, so one
        channel's messages are delivered in order even across workers. The head is
        computed over *every* pending row, leased or row-locked ones included, so a
        busy head hides the rows behind it. On PostgreSQL the heads are taken with
        `FOR UPDATE SKIP LOCKED`: a head another worker is claiming right now is
        skipped (not waited for), and because the rows behind it are not heads they
        can never overtake it. A head whose claim commits meanwhile is re-checked by
        PostgreSQL against the WHERE clause (leased or delivered → dropped).
        """
        pending = (OutboxMessage.status == "pending") & OutboxMessage.kind.in_(kinds)
        heads = select(func.min(OutboxMessage.id)).where(pending).group_by(
            OutboxMessage.destination
        )
        query = (
            select(OutboxMessage)
            .where(
                pending,
                OutboxMessage.id.in_(heads),
                OutboxMessage.next_attempt_at <= now,
                (OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until <= now),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
        if self._session.get_bind().dialect.name != "sqlite":
            # SQLite has one writer (BEGIN IMMEDIATE): no row locks to take or skip.
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
