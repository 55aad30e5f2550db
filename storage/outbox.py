"""The outbox repository: messages to deliver after the transaction that decided them.

Each destination's rows go out in order (only its oldest pending row is ever
handed out), with leases so a killed deliverer's row is taken over, and back-off.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from storage.direct import DirectStatement
from storage.models import OutboxMessage

_OUTBOX = cast(Table, OutboxMessage.__table__)
# A message's replies, queued on the per-message path (see storage.direct).
_QUEUE = DirectStatement(insert(_OUTBOX), column_keys=(
    "kind", "destination", "dedupe_key", "lead_id", "payload", "status", "attempts",
    "next_attempt_at", "created_at"))
# `OutboxRepository.queue`: the row's id, or no row when its dedupe key is taken. Text, as
# the dialects' own on_conflict constructs differ; the syntax is the same on both.
_QUEUE_ONCE = DirectStatement(
    text(
        "INSERT INTO outbox (kind, destination, dedupe_key, lead_id, payload, status, attempts, "
        "next_attempt_at, created_at) VALUES (:kind, :destination, :dedupe_key, :lead_id, "
        ":payload, 'pending', 0, :now, :now) ON CONFLICT DO NOTHING RETURNING id"
    ).bindparams(bindparam("payload", type_=_OUTBOX.c.payload.type),
                 bindparam("now", type_=_OUTBOX.c.created_at.type))
)
# Written as a literal, not a bound parameter, so that the planners (SQLite's, and
# PostgreSQL's generic plans for prepared statements) can use the partial indexes.
_PENDING: ColumnClause[str] = literal_column("'pending'")
_NOW = bindparam("now", type_=_OUTBOX.c.next_attempt_at.type)
# What leasing a row writes: hidden from other workers until then, one more attempt.
_LEASED = {"locked_until": bindparam("until", type_=_OUTBOX.c.locked_until.type),
           "attempts": _OUTBOX.c.attempts + 1}
_LEASE = update(_OUTBOX).where(_OUTBOX.c.id.in_(bindparam("ids", expanding=True))).values(_LEASED)
# The columns a sender sees (`ClaimedRow`), in its field order.
_CLAIMED_COLUMNS = (_OUTBOX.c.id, _OUTBOX.c.kind, _OUTBOX.c.destination, _OUTBOX.c.lead_id,
                    _OUTBOX.c.payload, _OUTBOX.c.attempts, _OUTBOX.c.created_at)

_BY_ID = _OUTBOX.c.id == bindparam("row_id")
_DELIVERED = DirectStatement(update(_OUTBOX).where(_BY_ID).values(
    status="delivered", result=bindparam("outcome", type_=_OUTBOX.c.result.type),
    delivered_at=bindparam("now", type_=_OUTBOX.c.delivered_at.type), locked_until=None))
_SET_PAYLOAD = update(_OUTBOX).where(_BY_ID).values(
    payload=bindparam("new_payload", type_=_OUTBOX.c.payload.type))
_RETRY = update(_OUTBOX).where(_BY_ID).values(
    last_error=bindparam("error"),
    next_attempt_at=bindparam("retry_at", type_=_OUTBOX.c.next_attempt_at.type),
    locked_until=None)
_FAILED = update(_OUTBOX).where(_BY_ID).values(
    status="failed", last_error=bindparam("error"), locked_until=None)

_DELIVERED_BEFORE_QUERY = (
    select(_OUTBOX.c.payload, _OUTBOX.c.result)
    .where(_OUTBOX.c.lead_id == bindparam("lead_id"), _OUTBOX.c.kind == bindparam("kind"),
           _OUTBOX.c.status == "delivered", _OUTBOX.c.id < bindparam("before"))
    .order_by(_OUTBOX.c.id.desc())
)
_DELIVERED_BEFORE = DirectStatement(_DELIVERED_BEFORE_QUERY)
_LAST_DELIVERED_BEFORE = DirectStatement(
    _DELIVERED_BEFORE_QUERY.limit(bindparam("limit", type_=Integer)))


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    """A leased outbox row as a sender sees it: plain values, no session attached."""

    id: int
    kind: str
    destination: str
    lead_id: int | None
    payload: dict[str, Any]
    attempts: int  # this attempt included
    created_at: datetime


def _head_of(destination: ColumnElement[str]) -> ScalarSelect[Any]:
    """The destination's oldest pending row, leased or not: one probe of the partial index
    `ix_outbox_pending_destination` (a destination belongs to one deliverer whatever the
    kinds of its rows, so the probe needs no kind)."""
    earlier = _OUTBOX.alias("earlier")
    return (
        select(func.min(earlier.c.id))
        .where(earlier.c.destination == destination, earlier.c.status == _PENDING)
        .scalar_subquery()
    )


def _claimable(kinds: int) -> tuple[ColumnElement[bool], ...]:
    """A row a worker of `kinds` kinds may lease now: pending, due, and not leased (or its
    lease expired). The kinds are that many parameters, `kind_0`…: see `_kind_params`.
    """
    outbox = _OUTBOX.c
    kind_in = outbox.kind.in_(
        [bindparam(f"kind_{number}", type_=outbox.kind.type) for number in range(kinds)])
    return (outbox.status == _PENDING, kind_in,
            outbox.next_attempt_at <= _NOW,
            or_(outbox.locked_until.is_(None), outbox.locked_until <= _NOW))


def _kind_params(kinds: Sequence[str]) -> dict[str, Any]:
    """The values of `_claimable(len(kinds))`'s kind parameters."""
    return {f"kind_{number}": kind for number, kind in enumerate(kinds)}


@functools.cache
def _claim_statement(kinds: int, *, locking: bool) -> DirectStatement:
    """The heads-of-destinations SELECT of `OutboxRepository.claim_due` for that many
    kinds, built once per shape (it runs at every claim, most often finding nothing)."""
    # Correlated, the head subquery is always run per candidate with the destination as
    # a parameter, whatever the planner's statistics say (as NOT EXISTS it may become an
    # anti-join over all pending rows).
    query = (
        select(*_CLAIMED_COLUMNS)
        .where(*_claimable(kinds), _OUTBOX.c.id == _head_of(_OUTBOX.c.destination))
        .order_by(_OUTBOX.c.id)
        .limit(bindparam("limit", type_=Integer))
    )
    if locking:  # SQLite has one writer at a time: no row locks to take or skip
        query = query.with_for_update(skip_locked=True, of=_OUTBOX)
    return DirectStatement(query)


@functools.cache
def _lease_head(kinds: int) -> DirectStatement:
    """`OutboxRepository.lease_head` for that many kinds: it runs in every message's
    transaction that has a reply. SQLite (3.35+) and PostgreSQL both return the updated row."""
    return DirectStatement(
        update(_OUTBOX)
        .where(*_claimable(kinds), _OUTBOX.c.id == _head_of(bindparam("head_of")))
        .values(_LEASED)
        .returning(*_CLAIMED_COLUMNS)
    )


class OutboxRepository:
    """Messages waiting for delivery, each destination in order, with leases and back-off."""

    def __init__(self, session: Session) -> None:
        self._session = session
        # Rows this unit of work queued, by destination: a sender handed the head of a
        # destination knows whether more rows wait behind it.
        self.queued: dict[str, int] = {}

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
        self.queued[destination] = self.queued.get(destination, 0) + 1
        if dedupe_key is not None:
            self._session.flush()  # so a second add in this transaction sees it
        return message

    def queue(
        self, *, kind: str, destination: str, payload: dict[str, Any], now: datetime,
        lead_id: int | None = None, dedupe_key: str | None = None,
    ) -> int | None:
        """`add` for the per-message path: one statement, the new row's id, or None when
        `dedupe_key` was already queued (also by a concurrent transaction, which it waits for).

        The row is written at once, not at the next flush: in a transaction that also
        `add`s rows to the same destination, call them in the order they must go out.
        """
        row = _QUEUE_ONCE.first(self._session, {
            "kind": kind, "destination": destination, "dedupe_key": dedupe_key,
            "lead_id": lead_id, "payload": payload, "now": now,
        })
        if row is None:
            return None
        self.queued[destination] = self.queued.get(destination, 0) + 1
        return int(row[0])

    def queue_many(
        self, *, kind: str, destination: str, payloads: Sequence[dict[str, Any]], now: datetime,
        lead_id: int | None = None,
    ) -> None:
        """Queue several messages for one destination, in order (the replies to a message)."""
        # One statement per row: usually there is one reply, and an executemany would
        # cost PostgreSQL's driver a pipeline set-up.
        for payload in payloads:
            _QUEUE.execute(self._session, {
                "kind": kind, "destination": destination, "dedupe_key": None,
                "lead_id": lead_id, "payload": payload, "status": "pending", "attempts": 0,
                "next_attempt_at": now, "created_at": now,
            })
        self.queued[destination] = self.queued.get(destination, 0) + len(payloads)

    def claim_due(
        self, *, kinds: Sequence[str], now: datetime, lease: timedelta, limit: int = 50,
    ) -> list[ClaimedRow]:
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

        The statement is built once per process (`_claim_statement`): building the
        SELECT anew for each claim cost more than running it. The rows come back as
        plain values, not ORM objects.
        """
        # Sessions do not autoflush: rows and objects this transaction added (a sender's
        # `on_delivered` just before) must be in the database before the claim reads it.
        self._session.flush()
        locking = self._session.get_bind().dialect.name != "sqlite"
        rows = [ClaimedRow(*row) for row in _claim_statement(len(kinds), locking=locking).all(
            self._session, {**_kind_params(kinds), "now": now, "limit": limit})]
        if not rows:
            return []
        self._session.execute(_LEASE, {"ids": [row.id for row in rows], "until": now + lease})
        # The rows were read before the lease counted this attempt.
        return [dataclasses.replace(row, attempts=row.attempts + 1) for row in rows]

    def delivered_before(
        self, lead_id: int, *, kind: str, before: int, limit: int | None = None
    ) -> Sequence[tuple[Any, ...]]:
        """(payload, result) of the lead's `kind` rows delivered before row `before`, newest
        first; only the `limit` newest when a limit is given. A row's JSON is decoded when
        the row is first read: a reply usually needs only the newest."""
        params: dict[str, Any] = {"lead_id": lead_id, "kind": kind, "before": before}
        if limit is None:
            return _DELIVERED_BEFORE.rows(self._session, params)
        return _LAST_DELIVERED_BEFORE.rows(self._session, {**params, "limit": limit})

    def lease_head(
        self, *, destination: str, kinds: Sequence[str], now: datetime, lease: timedelta
    ) -> ClaimedRow | None:
        """Lease `destination`'s head if it is due and free, in one statement (the row a
        message's transaction has just queued, handed to this process's sender): the
        same rule as `claim_due`, without a SELECT before the UPDATE."""
        self._session.flush()  # see claim_due
        row = _lease_head(len(kinds)).first(self._session, {
            **_kind_params(kinds), "head_of": destination, "now": now, "until": now + lease})
        return ClaimedRow(*row) if row is not None else None

    def get(self, message_id: int) -> OutboxMessage | None:
        return self._session.get(OutboxMessage, message_id)

    def mark_delivered(self, message_id: int, *, result: dict[str, Any], now: datetime) -> None:
        self.mark_delivered_many([(message_id, result)], now=now)

    def mark_delivered_many(
        self, delivered: Sequence[tuple[int, dict[str, Any]]], *, now: datetime
    ) -> None:
        """Record several deliveries (row id, result): a statement each, straight to the
        driver, costs less than one executemany through the session for the few rows a
        transaction records."""
        for row_id, result in delivered:
            _DELIVERED.execute(self._session, {"row_id": row_id, "outcome": result, "now": now})

    def set_payload(self, message_id: int, payload: dict[str, Any]) -> None:
        """Store what a sender decided on a claimed row (the rep an alert mentions)."""
        self._session.execute(_SET_PAYLOAD, {"row_id": message_id, "new_payload": payload})

    def mark_retry(self, message_id: int, *, error: str, retry_at: datetime) -> None:
        self._session.execute(_RETRY, {"row_id": message_id, "error": error[:2000],
                                       "retry_at": retry_at})

    def mark_failed(self, message_id: int, *, error: str) -> None:
        self._session.execute(_FAILED, {"row_id": message_id, "error": error[:2000]})

    def release_leases(self, *, kinds: Sequence[str], now: datetime) -> int:
        """Make the leased pending rows of `kinds` claimable now (their deliverer died)."""
        result = self._session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == _PENDING, OutboxMessage.kind.in_(kinds),
                   OutboxMessage.locked_until > now)
            .values(locked_until=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def pending(
        self, *, kinds: Sequence[str] | None = None, after: int | None = None
    ) -> list[OutboxMessage]:
        """Pending rows (of `kinds`; with ids above `after`), oldest first."""
        query = select(OutboxMessage).where(OutboxMessage.status == "pending")
        if kinds is not None:
            query = query.where(OutboxMessage.kind.in_(kinds))
        if after is not None:
            query = query.where(OutboxMessage.id > after)
        return list(self._session.scalars(query.order_by(OutboxMessage.id)))

    def for_lead(self, lead_id: int, *, kind: str | None = None) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(OutboxMessage.lead_id == lead_id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(self._session.scalars(query.order_by(OutboxMessage.id)))
