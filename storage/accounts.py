"""Workspace accounts in the database: users and the sign-in failures that lock them out.

Repositories flush, never commit: the caller's unit of work decides.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import StudioLoginFailure, StudioUser


class StudioUserRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, user_id: int) -> StudioUser | None:
        return self._session.get(StudioUser, user_id)

    def by_email(self, email: str) -> StudioUser | None:
        return self._session.scalars(
            select(StudioUser).where(StudioUser.email == email.strip().lower())).first()

    def all(self) -> list[StudioUser]:
        return list(self._session.scalars(select(StudioUser).order_by(StudioUser.email)))

    def count(self) -> int:
        return int(self._session.scalar(select(func.count()).select_from(StudioUser)) or 0)

    def add(self, user: StudioUser) -> StudioUser:
        self._session.add(user)
        self._session.flush()
        return user


class LoginFailureRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, *, account: str, address: str, at: datetime) -> None:
        self._session.add(StudioLoginFailure(account=account, address=address, at=at))
        self._session.flush()

    def recent_for_account(self, account: str, *, since: datetime) -> list[datetime]:
        """Times of the account's failures since `since`, newest first."""
        return list(self._session.scalars(
            select(StudioLoginFailure.at)
            .where(StudioLoginFailure.account == account, StudioLoginFailure.at >= since)
            .order_by(StudioLoginFailure.at.desc())))

    def recent_for_address(self, address: str, *, since: datetime) -> list[datetime]:
        """Times of the address's failures since `since`, newest first."""
        return list(self._session.scalars(
            select(StudioLoginFailure.at)
            .where(StudioLoginFailure.address == address, StudioLoginFailure.at >= since)
            .order_by(StudioLoginFailure.at.desc())))

    def clear_account(self, account: str) -> None:
        self._session.execute(delete(StudioLoginFailure)
                              .where(StudioLoginFailure.account == account))

    def forget_before(self, moment: datetime) -> None:
        self._session.execute(delete(StudioLoginFailure).where(StudioLoginFailure.at < moment))
