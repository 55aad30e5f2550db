"""Repositories: typed access to each table. They flush, never commit.

The unit of work (:mod:`storage.unit_of_work`) owns the transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Dialect,
    Integer,
    Select,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from conversations.vocabulary import EventType
from storage.direct import DirectStatement
from storage.models import (
    Answer,
    Conversation,
    KeyValue,
    Lead,
    LeadEvent,
    ProcessedMessage,
    UTCDateTime,
)
from storage.records import COLUMNS, LeadRecord

# The per-message statements are Core statements on the tables, built once and run as
# `DirectStatement`s: the ORM's bookkeeping, and even Core's per-execution work, cost
# more than the SQL itself on this path (see benchmarks/).
_LEADS = cast(Table, Lead.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_ANSWERS = cast(Table, Answer.__table__)
_EVENTS = cast(Table, LeadEvent.__table__)
_PROCESSED = cast(Table, ProcessedMessage.__table__)
# The engine's state as the JSON text stored (CAST: PostgreSQL's driver would decode a
# JSON column): the service parses it straight into its model, or reuses the state it
# saved itself when the text is the same (`bot.service`).
_STATE_TEXT = sql_cast(_CONVERSATIONS.c.state, Text)
_ACTIVE_STATE = DirectStatement(
    select(_CONVERSATIONS.c.id, _STATE_TEXT)
    .where(_CONVERSATIONS.c.lead_id == bindparam("lead_id"), _CONVERSATIONS.c.active.is_(True))
    .order_by(_CONVERSATIONS.c.id.desc())
    .limit(1)
)


class _SerialisedJSON(TypeDecorator[str]):
    """A JSON column's value serialised already (pydantic's `model_dump_json`, several
    times faster than `json.dumps` of `model_dump`): bound as it is, cast to JSON in SQL."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


_SAVE_STATE = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation_id"))
    .values(state=bindparam("new_state", type_=_SerialisedJSON()),
            status=bindparam("new_status"), updated_at=bindparam("now"))
)
# The lead's columns in `LeadRecord`'s field order, so a row's first values are a record.
_LEAD_COLUMNS = tuple(_LEADS.c[name] for name in COLUMNS)
_LEAD_WIDTH = len(COLUMNS)
_LOAD_LEAD_QUERY = select(*_LEAD_COLUMNS).where(
    _LEADS.c.channel == bindparam("channel"), _LEADS.c.chat_id == bindparam("chat_id")
)
_LOAD_LEAD = DirectStatement(_LOAD_LEAD_QUERY)
_LOAD_LEAD_LOCKED = DirectStatement(_LOAD_LEAD_QUERY.with_for_update())


def _lead_and_active_conversation(*, lead_without_one: bool) -> Select[Any]:
    """The chat's lead and its active conversation's id and state, in one row."""
    active = (_CONVERSATIONS.c.lead_id == _LEADS.c.id) & _CONVERSATIONS.c.active.is_(True)
    joined = (_LEADS.outerjoin(_CONVERSATIONS, active) if lead_without_one
              else _LEADS.join(_CONVERSATIONS, active))
    return (
        select(
            *_LEAD_COLUMNS,
            _CONVERSATIONS.c.id.label("conversation_id"),
            _STATE_TEXT.label("conversation_state"),
        )
        .select_from(joined)
        .where(_LEADS.c.channel == bindparam("channel"), _LEADS.c.chat_id == bindparam("chat_id"))
        .order_by(_CONVERSATIONS.c.id.desc())
        .limit(1)
    )


# SQLite (one writer already): the lead and its active conversation in one query.
_LOAD_CHAT = DirectStatement(_lead_and_active_conversation(lead_without_one=True))
# PostgreSQL: lock the lead *and* its active conversation and read both in one
# statement. Locking both matters: under READ COMMITTED, after waiting for a lock,
# PostgreSQL re-reads the latest version of the locked rows only, so the state comes
# from the transaction that held the lock, not from the snapshot taken before the
# wait. No row (a new chat, no active conversation, or a conversation restarted
# meanwhile) falls back to locking the lead alone and reading the state after.
_LOCK_CHAT_QUERY = _lead_and_active_conversation(lead_without_one=False).with_for_update(
    of=[_LEADS, _CONVERSATIONS]
)
_LOCK_CHAT = DirectStatement(_LOCK_CHAT_QUERY)
# The same, and the message id remembered, in one statement. The lock is taken only
# when the id is new (EXISTS fresh), so the insert always comes first and a
# duplicate never waits for the chat's lock. Always one row: the chat's columns (all
# NULL when `_LOCK_CHAT` found nothing), then `fresh`.
_FRESH = (
    text(
        "INSERT INTO processed_messages (channel, message_id, processed_at) "
        "VALUES (:channel, :message_id, :now) ON CONFLICT DO NOTHING RETURNING 1 AS inserted"
    )
    .bindparams(bindparam("now", type_=UTCDateTime()))
    .columns(column("inserted", Integer))
    .cte("fresh")
)
_IS_FRESH = exists(select(_FRESH.c.inserted))
_FRESH_CHAT = _LOCK_CHAT_QUERY.where(_IS_FRESH).cte("chat")
_REMEMBER_AND_LOCK_CHAT = DirectStatement(
    select(*_FRESH_CHAT.c, _IS_FRESH.label("fresh")).select_from(
        select(literal(1).label("one")).subquery("one").outerjoin(_FRESH_CHAT, true())
    )
)
# The columns a message can change; owner and disqualification belong to sales actions
# and are never written from here (a rep's claim is not overwritten by a chat message).
SERVICE_COLUMNS = (
    "first_name", "last_name", "username", "language", "source", "name", "company", "email",
    "phone", "role", "stage", "temperature", "score", "fit", "intent", "reasons", "stopped",
    "updated_at", "qualified_at", "last_message_at", "next_nudge_at",
)
# Of those, the indexed ones. SQLite rewrites a column's index entry whenever the column is
# SET, to the same value too, and each index page written costs the commit a WAL frame:
# these are SET only when the message changed them (one statement per combination).
_INDEXED_SERVICE_COLUMNS = tuple(
    name for name in SERVICE_COLUMNS
    if any(name in index.columns for index in _LEADS.indexes)
)
_SAVE_STATE_ONLY = DirectStatement(_SAVE_STATE)


@functools.cache
def _save_lead(indexed: tuple[str, ...], *, with_state: bool) -> DirectStatement:
    """The lead's UPDATE setting the service columns but the unchanged indexed ones;
    `with_state`: the conversation's state update rides along as a CTE (PostgreSQL)."""
    statement = (
        update(_LEADS)
        # Not "lead_id": in the combined statement that name would also SET conversations.lead_id.
        .where(_LEADS.c.id == bindparam("saved_lead_id"))
        .values({name: bindparam(f"new_{name}") for name in SERVICE_COLUMNS
                 if name in indexed or name not in _INDEXED_SERVICE_COLUMNS})
    )
    return DirectStatement(statement.add_cte(_SAVE_STATE.cte("saved_state")) if with_state
                           else statement)


_INSERT_EVENT = DirectStatement(
    insert(_EVENTS), column_keys=("lead_id", "type", "payload", "created_at"))
_ANSWER_COLUMNS = ("lead_id", "conversation_id", "question_id", "raw_text", "option_id",
                   "value_number", "value_text", "confidence", "via", "superseded", "created_at")
_INSERT_ANSWER = DirectStatement(insert(_ANSWERS), column_keys=_ANSWER_COLUMNS)
# Only the latest answer to a question counts; earlier ones stay as history.
_SUPERSEDE_ANSWERS = DirectStatement(
    update(_ANSWERS)
    .where(_ANSWERS.c.conversation_id == bindparam("corrected_conversation"),
           _ANSWERS.c.question_id == bindparam("corrected_question"),
           _ANSWERS.c.superseded.is_(False))
    .values(superseded=True)
)
# A new conversation (`ConversationRepository.start`): the chat's others end first.
_END_CONVERSATIONS = DirectStatement(
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.lead_id == bindparam("ended_lead"), _CONVERSATIONS.c.active.is_(True))
    .values(active=False)
)
_START_CONVERSATION = DirectStatement(
    insert(_CONVERSATIONS)
    .values(state=bindparam("state", type_=_SerialisedJSON()))
    .returning(_CONVERSATIONS.c.id),
    column_keys=("lead_id", "script_id", "script_version", "active", "status", "created_at",
                 "updated_at", "version_number", "experiment", "variant"),
)
# INSERT … ON CONFLICT DO NOTHING is written as text: SQLAlchemy's dialect-specific
# on_conflict constructs are not cacheable and were compiled anew for every message.
# The syntax is the same on SQLite (3.24+, RETURNING 3.35+) and PostgreSQL.
_REMEMBER = DirectStatement(text(
    "INSERT INTO processed_messages (channel, message_id, processed_at) "
    "VALUES (:channel, :message_id, :now) ON CONFLICT DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime())))
# A new chat's lead, returned as `_LOAD_LEAD` reads it. No row when a concurrent first
# message of the same chat created it (on PostgreSQL the insert waits for that
# transaction to end first): the caller then reads that one.
_CREATE_LEAD = DirectStatement(
    text(
        "INSERT INTO leads (channel, chat_id, language, stage, temperature, score, fit, intent, "
        "reasons, stopped, created_at, updated_at) VALUES (:channel, :chat_id, 'en', 'new', "
        "'cold', 0, 0, 0, '[]', :stopped, :now, :now) ON CONFLICT DO NOTHING "
        f"RETURNING {', '.join(COLUMNS)}"
    )
    .bindparams(bindparam("now", type_=UTCDateTime()), bindparam("stopped", value=False))
    .columns(*_LEAD_COLUMNS)
)

_LANGUAGE_OF = select(Lead.__table__.c.language).where(Lead.__table__.c.id == bindparam("lead_id"))


def _indexed_values(lead: LeadRecord) -> tuple[Any, ...]:
    return tuple(getattr(lead, name) for name in _INDEXED_SERVICE_COLUMNS)


class LeadRepository:
    def __init__(self, session: Session) -> None:
        self._session = session
        # Lead id → its indexed service columns as read, so `save` can leave them alone.
        self._indexed_as_read: dict[int, tuple[Any, ...]] = {}
        self._created: set[int] = set()  # the leads this unit of work inserted

    def _read(self, values: Sequence[Any]) -> LeadRecord:
        lead = LeadRecord(*values)
        self._indexed_as_read[lead.id] = _indexed_values(lead)
        return lead

    def _for_update(self) -> bool:
        # Row locks serialise one chat's messages across processes on PostgreSQL;
        # SQLite already has one writer (BEGIN IMMEDIATE).
        return self._session.get_bind().dialect.name != "sqlite"

    def get(self, lead_id: int, *, lock: bool = False) -> Lead | None:
        query = select(Lead).where(Lead.id == lead_id)
        if lock and self._for_update():
            query = query.with_for_update()
        return self._session.scalars(query).first()

    def language_of(self, lead_id: int) -> str | None:
        """The lead's language, or None when there is no such lead (one column, no ORM object)."""
        return cast(str | None, self._session.execute(_LANGUAGE_OF, {"lead_id": lead_id}).scalar())

    def by_chat(self, channel: str, chat_id: str, *, lock: bool = False) -> Lead | None:
        query = select(Lead).where(Lead.channel == channel, Lead.chat_id == chat_id)
        if lock and self._for_update():
            query = query.with_for_update()
        return self._session.scalars(query).first()

    def load_chat(
        self, channel: str, chat_id: str, *, now: datetime, message_id: str | None = None
    ) -> tuple[LeadRecord, tuple[int, str] | None] | None:
        """The chat's lead (created when new) and its active conversation's (id, state as
        JSON text).

        With `message_id`, the id is remembered first, and None is returned when it was
        already there (a duplicate delivery: nothing to do).

        On PostgreSQL both rows are locked by the reading statement (`_LOCK_CHAT`), or,
        when that finds nothing, the lead row is locked first and the conversation read
        after: under READ COMMITTED a row joined *without* being locked would come from
        the snapshot taken before the wait, missing what the other process just wrote.
        """
        params = {"channel": channel, "chat_id": chat_id}
        if self._for_update():
            if message_id is None:
                locked = _LOCK_CHAT.first(self._session, params)
            else:
                row = _REMEMBER_AND_LOCK_CHAT.first(
                    self._session, {**params, "message_id": message_id, "now": now})
                assert row is not None  # always one row
                if not row[-1]:  # not fresh
                    return None
                locked = row if row[0] is not None else None
            if locked is not None:
                return self._read(locked[:_LEAD_WIDTH]), (
                    locked[_LEAD_WIDTH], locked[_LEAD_WIDTH + 1])
            lead = self.load_for_message(channel, chat_id, now=now)
            if lead.id in self._created:  # no conversation yet
                return lead, None
            return lead, ConversationRepository(self._session).active_state(lead.id)
        if message_id is not None and not ProcessedMessageRepository(self._session).remember(
            channel, message_id, now=now
        ):
            return None
        found = _LOAD_CHAT.first(self._session, params)
        if found is None:  # no lead (the join is an outer one), and no other writer
            return self._create(params, now=now), None
        active = found[_LEAD_WIDTH]
        lead = self._read(found[:_LEAD_WIDTH])
        return lead, (active, found[_LEAD_WIDTH + 1]) if active else None

    def load_for_message(self, channel: str, chat_id: str, *, now: datetime) -> LeadRecord:
        """The chat's lead as a record, row-locked on PostgreSQL, created when new."""
        query = _LOAD_LEAD_LOCKED if self._for_update() else _LOAD_LEAD
        params = {"channel": channel, "chat_id": chat_id}
        row = query.first(self._session, params)
        return self._create(params, now=now) if row is None else self._read(row)

    def _create(self, params: dict[str, str], *, now: datetime) -> LeadRecord:
        """Insert the chat's lead and return it; or, when a concurrent first message of
        the chat created it first, read (and on PostgreSQL lock) that one."""
        row = _CREATE_LEAD.first(self._session, {**params, "now": now})
        if row is not None:
            self._created.add(row[0])
        else:
            query = _LOAD_LEAD_LOCKED if self._for_update() else _LOAD_LEAD
            row = query.first(self._session, params)
            assert row is not None  # the other message's, committed
        return self._read(row)

    def is_new(self, lead_id: int) -> bool:
        """Whether this unit of work created the lead (so it has no conversation yet)."""
        return lead_id in self._created

    def save(
        self, record: LeadRecord, *, conversation_id: int, state: str | None, status: str,
        now: datetime,
    ) -> None:
        """Write back what a message may change: the lead and its conversation's state
        (`state`: the engine's state as JSON text; None when the conversation's row holds
        it already, as one this message started does).

        One statement on PostgreSQL (the state update rides along as a CTE); two on
        SQLite, which has no data-modifying CTEs (and no round trips to save).
        """
        as_read = self._indexed_as_read.get(record.id)
        indexed = tuple(
            name for name, value, before in zip(
                _INDEXED_SERVICE_COLUMNS, _indexed_values(record),
                as_read if as_read is not None else (object(),) * len(_INDEXED_SERVICE_COLUMNS),
                strict=True)
            if value != before
        )
        params = {f"new_{name}": getattr(record, name) for name in SERVICE_COLUMNS
                  if name in indexed or name not in _INDEXED_SERVICE_COLUMNS}
        params.update(saved_lead_id=record.id)
        state_params = {"conversation_id": conversation_id, "new_state": state,
                        "new_status": status, "now": now}
        if state is None:
            _save_lead(indexed, with_state=False).execute(self._session, params)
        elif self._for_update():
            _save_lead(indexed, with_state=True).execute(self._session, params | state_params)
        else:
            _SAVE_STATE_ONLY.execute(self._session, state_params)
            _save_lead(indexed, with_state=False).execute(self._session, params)
        self._indexed_as_read[record.id] = _indexed_values(record)

    def delete_by_id(self, lead_id: int) -> None:
        """Delete a lead; its conversations, answers, events and outbox rows go with it."""
        self._session.execute(delete(_LEADS).where(_LEADS.c.id == lead_id))

    def get_or_create_locked(self, channel: str, chat_id: str, *, now: datetime) -> Lead:
        """The chat's lead as an ORM object, row-locked; created (once) when new."""
        record = self.load_for_message(channel, chat_id, now=now)
        lead = self.get(record.id)
        assert lead is not None  # just read or created in this transaction
        return lead

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
        """A lead by id, @username or email; None for anything no lead can match."""
        ref = ref.strip()
        # isdigit() is also true of "²" and other digits int() refuses; ids are 64-bit.
        if ref.isascii() and ref.isdigit():
            return self.get(int(ref)) if len(ref) <= 18 else None
        if not ref.isprintable() or len(ref) > 320:  # NUL, newlines: no stored name has them
            return None
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

    def latest(
        self, *, stages: Sequence[str], limit: int = 20, owner_id: str | None = None,
        since: datetime | None = None,
    ) -> list[Lead]:
        """The most recently updated leads in `stages`; only `owner_id`'s, only those
        qualified (or else updated) since `since`, when given — filtered in the query."""
        query = select(Lead).where(Lead.stage.in_(stages))
        if owner_id is not None:
            query = query.where(Lead.owner_id == owner_id)
        if since is not None:
            query = query.where(func.coalesce(Lead.qualified_at, Lead.updated_at) >= since)
        query = query.order_by(Lead.updated_at.desc(), Lead.id.desc()).limit(limit)
        return list(self._session.scalars(query))

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

    def active_state(self, lead_id: int) -> tuple[int, str] | None:
        """(id, engine state as JSON text) of the lead's active conversation: the
        per-message read."""
        row = _ACTIVE_STATE.first(self._session, {"lead_id": lead_id})
        return (row[0], row[1]) if row is not None else None

    def start(
        self, *, lead_id: int, script_id: str, script_version: str, state: str, status: str,
        now: datetime, version_number: int | None = None, experiment: str | None = None,
        variant: str | None = None, lead_is_new: bool = False,
    ) -> int:
        """Start a new active conversation (ending any other); returns its id.

        `state` is the engine's state as JSON text, `status` its status. `version_number`
        is the stored script version it runs under; `experiment` and `variant` the A/B
        variant it was assigned to, if any. `lead_is_new`: the lead was created in this
        transaction, so it has no other conversation to end.
        """
        if not lead_is_new:
            _END_CONVERSATIONS.execute(self._session, {"ended_lead": lead_id})
        inserted = _START_CONVERSATION.first(self._session, {
            "lead_id": lead_id, "script_id": script_id, "script_version": script_version,
            "active": True, "status": status, "state": state,
            "created_at": now, "updated_at": now, "version_number": version_number,
            "experiment": experiment, "variant": variant,
        })
        assert inserted is not None  # RETURNING the new row's id
        return int(inserted[0])



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
        _INSERT_ANSWER.execute(
            self._session,
            dict(
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
            ),
        )

    def _supersede(self, conversation_id: int, question_id: str) -> None:
        _SUPERSEDE_ANSWERS.execute(self._session, {
            "corrected_conversation": conversation_id, "corrected_question": question_id})

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


class EventRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self, *, lead_id: int | None, type: EventType, payload: dict[str, Any], now: datetime
    ) -> None:
        # A Core insert: events are append-only, no need for the ORM's bookkeeping.
        _INSERT_EVENT.execute(
            self._session, {"lead_id": lead_id, "type": type, "payload": payload, "created_at": now}
        )

    def for_lead(
        self, lead_id: int, *, types: Sequence[EventType] | None = None
    ) -> list[LeadEvent]:
        query = select(LeadEvent).where(LeadEvent.lead_id == lead_id)
        if types is not None:
            query = query.where(LeadEvent.type.in_(types))
        return list(self._session.scalars(query.order_by(LeadEvent.id)))


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
        params = {"channel": channel, "message_id": message_id, "now": now}
        return _REMEMBER.execute(self._session, params) == 1  # 0: the id was there


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

    def delete(self, key: str) -> None:
        row = self._session.get(KeyValue, key)
        if row is not None:
            self._session.delete(row)
