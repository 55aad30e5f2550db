"""Which database errors a retry can fix (the database is down, busy or mid-deploy) and which it cannot."""

from __future__ import annotations

from sqlalchemy import exc

# Connection refused or lost, pool exhausted, lock timeout, a table missing during
# a migration: the same request will work once the database is back.
_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError,
                exc.TimeoutError)


def database_unavailable(error: BaseException) -> bool:
    """True when `error` (or what caused it) means the database could not serve the request."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, _UNAVAILABLE):
            return True
        seen.add(id(current))
        current = current.__cause__
    return False
