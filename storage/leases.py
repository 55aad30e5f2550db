"""Named leases: "only one process at a time does this", on SQLite and PostgreSQL.

One statement takes or renews a lease: an upsert that only overwrites the row when
it is ours or has expired. Two processes racing for a free lease both reach the
row; the database lets one write it and the other's condition then fails. Leases
decide who *paces* work (e.g. Telegram's ~30 messages/s per bot), never who may
*deliver* a given message: that is the outbox row's own lease.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from storage.models import UTCDateTime

_HOLD = text(
    "INSERT INTO leases (name, holder, expires_at) VALUES (:name, :holder, :until) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE leases.holder = excluded.holder OR leases.expires_at <= :now "
    "RETURNING holder"
).bindparams(bindparam("until", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime()))
_RELEASE = text("DELETE FROM leases WHERE name = :name AND holder = :holder")
_TAKE_OVER = text(
    "UPDATE leases SET holder = :holder, expires_at = :until WHERE name = :name AND holder = :dead"
).bindparams(bindparam("until", type_=UTCDateTime()))
_HOLDER = text("SELECT holder, expires_at FROM leases WHERE name = :name").columns(
    expires_at=UTCDateTime()
)


class LeaseRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def hold(self, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
        """Take the lease, or renew it when it is already ours; False while another holds it."""
        params = {"name": name, "holder": holder, "until": now + ttl, "now": now}
        return self._session.execute(_HOLD, params).first() is not None

    def release(self, name: str, holder: str) -> None:
        """Give the lease up (on a clean stop) so another process takes over at once."""
        self._session.execute(_RELEASE, {"name": name, "holder": holder})

    def take_over(self, name: str, *, dead: str, holder: str, now: datetime,
                  ttl: timedelta) -> bool:
        """Take the lease from `dead` (known to be gone) before it expires; False if it
        changed hands meanwhile."""
        params = {"name": name, "dead": dead, "holder": holder, "until": now + ttl}
        return bool(self._session.execute(_TAKE_OVER, params).rowcount)  # type: ignore[attr-defined]

    def holder(self, name: str, *, now: datetime) -> str | None:
        """Who holds the lease now, or None when nobody does."""
        row = self._session.execute(_HOLDER, {"name": name}).first()
        return row.holder if row is not None and row.expires_at > now else None
