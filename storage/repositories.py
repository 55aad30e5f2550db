"""Repositories: typed access to each table. They flush, never commit.

The unit of work (:mod:`storage.unit_of_work`) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import (
    Answer,
    Conversation,
    KeyValue,
    Lead,
    LeadEvent,
    OutboxMessage,
    ProcessedMessage,
)


class LeadRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def _for_update(self) -> bool:
        # Row locks serialise one chat's messages across processes on PostgreSQL;
        # SQLite already has one writer (BEGIN IMMEDIATE).
        return self._session.get_bind().dialect.name != "sqlite"

    def get(self, lead_id: int, *, lock: bool = False) -> Lead | None:
        query = select(Lead).where(Lead.id == lead_id)
        if lock and self._for_update():
            query = query.with_for_update()
        return self._session.scalars(query).first()

    def by_chat(self, channel: str, chat_id: str, *, lock: bool = False) -> Lead | None:
        query = select(Lead).where(Lead.channel == channel, Lead.chat_id == chat_id)
        if lock and self._for_update():
            query = query.with_for_update()
        return self._session.scalars(query).first()

    def get_or_create_locked(self, channel: str, chat_id: str, *, now: datetime) -> Lead:
        """The chat's lead, row-locked for this transaction; created when new."""
        lead = self.by_chat(channel, chat_id, lock=True)
        if lead is not None:
            return lead
        lead = Lead(
            channel=channel,
            chat_id=chat_id,
            created_at=now,
            updated_at=now,
            stage="new",
            temperature="cold",
            score=0,
            fit=0,
            intent=0,
            reasons=[],
            stopped=False,
            language="en",
        )
        # A savepoint lets a concurrent insert of the same chat lose gracefully.
        try:
            with self._session.begin_nested():
                self._session.add(lead)
                self._session.flush()
        except IntegrityError:
            existing = self.by_chat(channel, chat_id, lock=True)
            if existing is None:
                raise
            return existing
        return lead

    def with_active_conversation(
        self, channel: str, chat_id: str, *, now: datetime
    ) -> tuple[Lead, Conversation | None]:
        """The chat's lead (row-locked, created when new) and its active conversation."""
        if self._for_update():
            # Lock first, then read: under READ COMMITTED a joined row read in the
            # locking statement would come from the snapshot taken *before* the
            # wait, i.e. another process's just-committed state would be missed.
            lead = self.get_or_create_locked(channel, chat_id, now=now)
            return lead, ConversationRepository(self._session).active_for(lead.id)
        # SQLite: BEGIN IMMEDIATE already made this the only writer; one query
        # instead of two on the path every message takes.
        query = (
            select(Lead, Conversation)
            .outerjoin(
                Conversation,
                (Conversation.lead_id == Lead.id) & Conversation.active.is_(True),
            )
            .where(Lead.channel == channel, Lead.chat_id == chat_id)
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        row = self._session.execute(query).first()
        if row is not None:
            return row[0], row[1]
        return self.get_or_create_locked(channel, chat_id, now=now), None

    def due_for_nudge(
        self, *, now: datetime, channels: Sequence[str], limit: int
    ) -> list[tuple[int, str, str, datetime]]:
        """(id, channel, chat id, due time) of leads whose next reminder or follow-up is due."""
        query = (
            select(Lead.id, Lead.channel, Lead.chat_id, Lead.next_nudge_at)
            .where(Lead.next_nudge_at <= now, Lead.channel.in_(channels))
            .order_by(Lead.next_nudge_at)
            .limit(limit)
        )
        return [(i, c, chat, due) for i, c, chat, due in self._session.execute(query)]

    def find(self, ref: str) -> Lead | None:
        """A lead by id, @username or email."""
        ref = ref.strip()
        if ref.isdigit():
            return self.get(int(ref))
        ref = ref.removeprefix("@")
        query = select(Lead).where((Lead.username == ref) | (Lead.email == ref.lower()))
        return self._session.scalars(query.order_by(Lead.id.desc())).first()

    def by_username(self, username: str) -> Lead | None:
        """The most recent lead with this Telegram username (case-insensitive, without '@')."""
        # Telegram usernames are case-insensitive; they are stored as the client sent them.
        query = select(Lead).where(func.lower(Lead.username) == username.lower())
        return self._session.scalars(query.order_by(Lead.id.desc())).first()

    def by_email(self, email: str) -> Lead | None:
        """The most recent lead with this email address, compared case-insensitively."""
        # Exact first (uses the index); then ignoring case, since the local part is stored as typed.
        for condition in (Lead.email == email, func.lower(Lead.email) == email.lower()):
            lead = self._session.scalars(
                select(Lead).where(condition).order_by(Lead.id.desc())
            ).first()
            if lead is not None:
                return lead
        return None

    def latest(self, *, stages: Sequence[str], limit: int = 20) -> list[Lead]:
        query = (
            select(Lead)
            .where(Lead.stage.in_(stages))
            .order_by(Lead.updated_at.desc(), Lead.id.desc())
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def count_by_stage(self) -> dict[str, int]:
        rows = self._session.execute(select(Lead.stage, func.count()).group_by(Lead.stage))
        return {stage: count for stage, count in rows}

    def delete(self, lead: Lead) -> None:
        self._session.delete(lead)
        self._session.flush()


class ConversationRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def active_for(self, lead_id: int) -> Conversation | None:
        query = (
            select(Conversation)
            .where(Conversation.lead_id == lead_id, Conversation.active.is_(True))
            .order_by(Conversation.id.desc())
        )
        return self._session.scalars(query).first()

    def start(
        self, *, lead_id: int, script_id: str, script_version: str, state: dict[str, Any],
        now: datetime,
    ) -> Conversation:
        self._session.execute(
            update(Conversation)
            .where(Conversation.lead_id == lead_id, Conversation.active.is_(True))
            .values(active=False)
        )
        conversation = Conversation(
            lead_id=lead_id,
            script_id=script_id,
            script_version=script_version,
            active=True,
            status=str(state.get("status", "new")),
            state=state,
            created_at=now,
            updated_at=now,
        )
        self._session.add(conversation)
        self._session.flush()
        return conversation

    def save_state(
        self, conversation_id: int, *, state: dict[str, Any], status: str, now: datetime
    ) -> None:
        # A Core update: runs for every message, without the ORM's change tracking.
        self._session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(state=state, status=status, updated_at=now)
        )


class AnswerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def record(
        self,
        *,
        lead_id: int,
        conversation_id: int,
        question_id: str,
        raw_text: str,
        option_id: str | None,
        value: float | str | None,
        confidence: float,
        via: str,
        corrects: bool,
        now: datetime,
    ) -> None:
        """Store an answer as given (a Core insert: answers are append-only)."""
        if corrects:
            self._supersede(conversation_id, question_id)
        self._session.execute(
            insert(Answer).values(
                lead_id=lead_id,
                conversation_id=conversation_id,
                question_id=question_id,
                raw_text=raw_text,
                option_id=option_id,
                value_number=value if isinstance(value, (int, float)) else None,
                value_text=value if isinstance(value, str) else None,
                confidence=confidence,
                via=via,
                superseded=False,
                created_at=now,
            )
        )

    def _supersede(self, conversation_id: int, question_id: str) -> None:
        # Only the latest answer to a question counts; earlier ones stay as history.
        self._session.execute(
            update(Answer)
            .where(
                Answer.conversation_id == conversation_id,
                Answer.question_id == question_id,
                Answer.superseded.is_(False),
            )
            .values(superseded=True)
        )

    def add(self, answer: Answer, *, corrects: bool = False) -> None:
        """Store an answer; `corrects` marks the earlier answer to the question as superseded."""
        if corrects:
            self._supersede(answer.conversation_id, answer.question_id)
        self._session.add(answer)

    def current_for(self, lead_id: int) -> list[Answer]:
        """The answers that count: the latest to each question of the active conversation."""
        query = (
            select(Answer)
            .join(Conversation, Conversation.id == Answer.conversation_id)
            .where(
                Answer.lead_id == lead_id,
                Answer.superseded.is_(False),
                Conversation.active.is_(True),
            )
            .order_by(Answer.id)
        )
        return list(self._session.scalars(query))

    def all_for(self, lead_id: int) -> list[Answer]:
        return list(
            self._session.scalars(select(Answer).where(Answer.lead_id == lead_id).order_by(Answer.id))
        )

    def delete_for(self, lead_id: int) -> int:
        result = self._session.execute(delete(Answer).where(Answer.lead_id == lead_id))
        return int(getattr(result, "rowcount", 0) or 0)


class EventRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, *, lead_id: int | None, type: str, payload: dict[str, Any], now: datetime) -> None:
        # A Core insert: events are append-only, no need for the ORM's bookkeeping.
        self._session.execute(
            insert(LeadEvent).values(
                lead_id=lead_id, type=type, payload=payload, created_at=now
            )
        )

    def for_lead(self, lead_id: int, *, types: Sequence[str] | None = None) -> list[LeadEvent]:
        query = select(LeadEvent).where(LeadEvent.lead_id == lead_id)
        if types is not None:
            query = query.where(LeadEvent.type.in_(types))
        return list(self._session.scalars(query.order_by(LeadEvent.id)))

    def delete_for(self, lead_id: int) -> int:
        result = self._session.execute(delete(LeadEvent).where(LeadEvent.lead_id == lead_id))
        return int(getattr(result, "rowcount", 0) or 0)


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
            insert(OutboxMessage),
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

    def cancel_pending(self, *, destination: str, kinds: Sequence[str]) -> int:
        result = self._session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.destination == destination,
                OutboxMessage.kind.in_(kinds),
                OutboxMessage.status == "pending",
            )
            .values(status="cancelled", locked_until=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class ProcessedMessageRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def seen(self, channel: str, message_id: str) -> bool:
        query = select(ProcessedMessage.message_id).where(
            ProcessedMessage.channel == channel, ProcessedMessage.message_id == message_id
        )
        return self._session.scalar(query) is not None

    def remember(self, channel: str, message_id: str, *, now: datetime) -> bool:
        """Record a message id; False when it was already there (a duplicate delivery)."""
        values = {"channel": channel, "message_id": message_id, "processed_at": now}
        if self._session.get_bind().dialect.name == "postgresql":
            statement: Any = postgresql_insert(ProcessedMessage).values(values)
        else:
            statement = sqlite_insert(ProcessedMessage).values(values)
        inserted = self._session.execute(
            statement.on_conflict_do_nothing().returning(ProcessedMessage.message_id)
        ).first()
        return inserted is not None


class KeyValueRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get_locked(self, key: str) -> KeyValue | None:
        query = select(KeyValue).where(KeyValue.key == key)
        if self._session.get_bind().dialect.name != "sqlite":
            query = query.with_for_update()
        return self._session.scalars(query).first()

    def put(self, key: str, value: dict[str, Any], *, now: datetime) -> None:
        row = self._session.get(KeyValue, key)
        if row is None:
            self._session.add(KeyValue(key=key, value=value, updated_at=now))
        else:
            row.value = value
            row.updated_at = now
