"""The unit of work: one transaction, its repositories, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

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
    """`with UnitOfWork(factory) as uow: …; uow.commit()` — leaving without commit rolls back."""

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

    def __enter__(self) -> UnitOfWork:
        self._on_rollback = []
        self._committed = False
        self.session = self._session_factory()
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
            self.session.rollback()
        finally:
            self.session.close()
            if not self._committed:
                for undo in reversed(self._on_rollback):
                    undo()

    def commit(self) -> None:
        self.session.commit()
        self._committed = True

    def if_rolled_back(self, undo: Callable[[], None]) -> None:
        """Run `undo` when this unit of work ends without committing: for state kept
        outside the database that was handed to the transaction (it is handed back)."""
        self._on_rollback.append(undo)

    def rollback(self) -> None:
        self.session.rollback()
