"""The workspace's own rows: the script draft, preview chats, dismissed unmatched answers.

A repository like the others: it flushes, never commits (the unit of work does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import StudioDismissal, StudioDraft, StudioPreview

MAX_ANSWER_KEY = 191


class DraftConflict(Exception):
    """The draft changed since the page was loaded (someone else saved)."""

    def __init__(self, current: DraftRecord) -> None:
        self.current = current
        super().__init__(
            f"the draft was changed by {current.updated_by} at {current.updated_at:%H:%M} UTC "
            "since you opened it; reload to see their version"
        )


@dataclass(frozen=True, slots=True)
class DraftRecord:
    name: str
    yaml_text: str
    base_version: int | None
    revision: int
    updated_by: str
    updated_at: datetime


def _record(row: StudioDraft) -> DraftRecord:
    return DraftRecord(name=row.name, yaml_text=row.yaml_text, base_version=row.base_version,
                       revision=row.revision, updated_by=row.updated_by, updated_at=row.updated_at)


class StudioRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the draft ----------------------------------------------------------------

    def draft(self, name: str) -> DraftRecord | None:
        row = self.session.get(StudioDraft, name)
        return _record(row) if row is not None else None

    def save_draft(
        self, name: str, yaml_text: str, *, base_version: int | None, expected_revision: int,
        by: str, now: datetime,
    ) -> DraftRecord:
        """Write the draft if it is still at `expected_revision` (0: not created yet)."""
        if expected_revision == 0:
            if self.session.get(StudioDraft, name) is None:
                row = StudioDraft(name=name, yaml_text=yaml_text, base_version=base_version,
                                  revision=1, updated_by=by, updated_at=now)
                self.session.add(row)
                self.session.flush()
                return _record(row)
        else:
            # Compare-and-set in one statement, so two saves racing cannot both win.
            result = self.session.execute(
                update(StudioDraft)
                .where(StudioDraft.name == name, StudioDraft.revision == expected_revision)
                .values(yaml_text=yaml_text, base_version=base_version,
                        revision=expected_revision + 1, updated_by=by, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                self.session.expire_all()
                saved = self.draft(name)
                assert saved is not None
                return saved
        self.session.expire_all()
        current = self.draft(name)
        if current is None:
            raise DraftConflict(DraftRecord(name, "", None, 0, "nobody", now))
        raise DraftConflict(current)

    def delete_draft(self, name: str) -> None:
        row = self.session.get(StudioDraft, name)
        if row is not None:
            self.session.delete(row)
            self.session.flush()

    # --- preview chats ----------------------------------------------------------------

    def preview(self, owner: str) -> dict[str, Any] | None:
        row = self.session.get(StudioPreview, owner)
        return dict(row.session) if row is not None else None

    def save_preview(self, owner: str, session: dict[str, Any], *, now: datetime) -> None:
        row = self.session.get(StudioPreview, owner)
        if row is None:
            self.session.add(StudioPreview(owner=owner, session=session, updated_at=now))
        else:
            row.session = session
            row.updated_at = now
        self.session.flush()

    # --- dismissed unmatched answers ----------------------------------------------------

    def dismiss(self, question_id: str, answer: str, *, by: str, now: datetime) -> None:
        key = answer[:MAX_ANSWER_KEY]
        if self.session.get(StudioDismissal, (question_id, key)) is None:
            self.session.add(StudioDismissal(question_id=question_id, answer=key,
                                             dismissed_by=by, dismissed_at=now))
            self.session.flush()

    def dismissed(self) -> set[tuple[str, str]]:
        rows = self.session.execute(select(StudioDismissal.question_id, StudioDismissal.answer))
        return {(question, answer) for question, answer in rows}

    @staticmethod
    def dismissal_key(answer: str) -> str:
        return answer[:MAX_ANSWER_KEY]
