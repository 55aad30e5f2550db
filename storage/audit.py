"""The audit log: who published, rolled back, changed an experiment or an account, and when.

Call `record_audit(uow, …)` inside the unit of work that makes the change, so the entry
commits (or rolls back) with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import StudioAuditEntry


class HasSession(Protocol):
    session: Session


def record_audit(
    uow: HasSession, *, actor: str, action: str, subject: str, at: datetime, detail: str = "",
) -> None:
    """Add one audit entry to `uow`'s transaction.

    `actor`: the workspace user's email, or "cli:<os user>" for a command;
    `action`: a short dotted verb, e.g. "script.publish", "script.rollback",
    "experiment.start", "experiment.stop", "user.add", "user.disable";
    `subject`: what it acted on (a version id, an experiment, an email);
    `detail`: a human note (the publish note, the role given…).
    """
    uow.session.add(StudioAuditEntry(at=at, actor=actor[:320], action=action[:64],
                                     subject=subject[:256], detail=detail))
    uow.session.flush()


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def page(self, *, offset: int, limit: int, action: str | None = None
             ) -> list[StudioAuditEntry]:
        query = select(StudioAuditEntry).order_by(StudioAuditEntry.id.desc())
        if action:
            query = query.where(StudioAuditEntry.action == action)
        return list(self._session.scalars(query.offset(offset).limit(limit)))

    def count(self, *, action: str | None = None) -> int:
        query = select(func.count()).select_from(StudioAuditEntry)
        if action:
            query = query.where(StudioAuditEntry.action == action)
        return int(self._session.scalar(query) or 0)
