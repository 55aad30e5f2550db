"""The unit of work: one transaction, its repositories, rolled back unless committed."""

from __future__ import annotations

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

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> UnitOfWork:
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

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
