"""Idempotency keys of `POST /api/events`: one key, one event — a retry is welcome, a reuse is refused.

A key (the request's `id`, scoped to the lead) is remembered with the event it
first came with, in its own short transaction before the signal is recorded. The
same key with the same event is a retry (the service then ignores the repeat);
the same key with another event would silently drop that event, so it is refused
with 409 `idempotency_key_reused`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from storage.unit_of_work import UnitOfWork


class IdempotencyKeyReused(Exception):
    """The key was first used for `first_event`."""

    def __init__(self, first_event: str) -> None:
        super().__init__(first_event)
        self.first_event = first_event


def _storage_key(lead_id: int, key: str) -> str:
    return f"api.idempotency:{lead_id}:{key}"


def claim_key(
    uow_factory: Callable[[], UnitOfWork], *, lead_id: int, key: str, event: str, now: datetime
) -> None:
    """Remember `key` for `event`; IdempotencyKeyReused when it already stands for another event."""
    for _attempt in range(2):  # a concurrent first use may commit between our read and write
        try:
            with uow_factory() as uow:
                row = uow.key_values.get_locked(_storage_key(lead_id, key))
                if row is None:
                    uow.key_values.put(_storage_key(lead_id, key), {"event": event}, now=now)
                    uow.commit()
                    return
                first = str(row.value.get("event", ""))
            if first != event:
                raise IdempotencyKeyReused(first)
            return
        except IntegrityError:
            continue
    raise RuntimeError("idempotency key could not be claimed")  # pragma: no cover
