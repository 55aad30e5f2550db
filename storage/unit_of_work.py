"""The unit of work: one transaction, its repositories, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.direct import UNIT_CONNECTION
from storage.leases import LeaseRepository
from storage.outbox import OutboxRepository
from storage.repositories import (
    AnswerRepository,
    ConversationRepository,
    EventRepository,
    KeyValueRepository,
    LeadRepository,
    ProcessedMessageRepository,
)
from storage.scripts import ScriptRepository
from storage.sla import SlaClockRepository


class UnitOfWork:
    """`with UnitOfWork(factory) as uow: …; uow.commit()` — leaving without commit rolls back.

    The statements of the message path (`storage.direct`) run on a connection the unit
    of work checks out and begins itself, on first use: going through the session's
    transaction machinery for it cost more CPU than those statements' SQL. The session
    is then bound to that connection, so ORM work in the same unit joins the same
    transaction; when ORM work comes first, the direct statements join the session's.
    Either way there is one transaction, committed by `commit` and rolled back otherwise.
    """

    session: Session
    leads: LeadRepository
    conversations: ConversationRepository
    answers: AnswerRepository
    events: EventRepository
    outbox: OutboxRepository
    processed: ProcessedMessageRepository
    key_values: KeyValueRepository
    leases: LeaseRepository
    scripts: ScriptRepository
    sla_clocks: SlaClockRepository

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
        self._on_rollback: list[Callable[[], None]] = []
        self._committed = False
        self._connection: Connection | None = None  # checked out by this unit, if it was
        self._direct: tuple[Connection, Any] | None = None  # what direct statements run on

    def __enter__(self) -> UnitOfWork:
        self._on_rollback = []
        self._committed = False
        self._connection = None
        self._direct = None
        # The session and this unit commit or roll back the one transaction, whichever
        # of them began it ("control_fully": a session joining it owns it as its own).
        self.session = self._session_factory(join_transaction_mode="control_fully")
        self.session.info[UNIT_CONNECTION] = self._direct_connection
        self.leads = LeadRepository(self.session)
        self.conversations = ConversationRepository(self.session)
        self.answers = AnswerRepository(self.session)
        self.events = EventRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.processed = ProcessedMessageRepository(self.session)
        self.key_values = KeyValueRepository(self.session)
        self.leases = LeaseRepository(self.session)
        self.scripts = ScriptRepository(self.session)
        self.sla_clocks = SlaClockRepository(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            self._end()
        finally:
            if not self._committed:
                for undo in reversed(self._on_rollback):
                    undo()

    def _end(self) -> None:
        """Roll back what is open and give the connection back, whatever fails on the way."""
        session, connection = self.session, self._connection
        self._connection = self._direct = None
        del session.info[UNIT_CONNECTION]
        try:
            try:
                session.rollback()
            finally:
                session.close()
        finally:
            if connection is not None:
                # Rolls back what is still open and returns it to the pool (or, if a
                # driver error invalidated it, discards it).
                connection.close()

    def commit(self) -> None:
        if self.session.in_transaction():
            self.session.commit()  # flushes; commits the transaction it began or joined
        if self._connection is not None and self._connection.in_transaction():
            self._connection.commit()
        self._committed = True

    def if_rolled_back(self, undo: Callable[[], None]) -> None:
        """Run `undo` when this unit of work ends without committing: for state kept
        outside the database that was handed to the transaction (it is handed back)."""
        self._on_rollback.append(undo)

    def rollback(self) -> None:
        self.session.rollback()
        if self._connection is not None and self._connection.in_transaction():
            self._connection.rollback()

    def _direct_connection(self) -> tuple[Connection, Any]:
        """The connection, in a transaction, that direct statements run on, and its driver
        connection: this unit's own (begun here on first use), or the session's when ORM
        work began the transaction."""
        direct = self._direct
        if direct is not None and direct[0].in_transaction() and not direct[0].invalidated:
            return direct
        if self.session.in_transaction():
            connection = self.session.connection()
        else:
            if self._connection is None:
                self._connection = _engine_of(self.session).connect()
                # ORM work from here on joins this connection's transactions.
                self.session.bind = self._connection
            connection = self._connection
            connection.begin()
        direct = self._direct = (connection, connection.connection.dbapi_connection)
        return direct


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine
