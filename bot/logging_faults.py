"""Logging a fault that repeats: the first failure with its cause, then a summary, then "recovered".

When the database goes away every request fails the same way; a log line (and a
traceback) per request buries the one line that matters. A :class:`FaultLog`
watches one source of failures ("Telegram updates", "events API"…):

* the first failure is logged at ERROR with its cause — the exception's type and
  first line, plus the traceback when the cause is not an unreachable database
  (a bug worth reading in full);
* further failures are counted, and at most every `summary_every` seconds one
  WARNING says "still failing: N requests in the last 10 s";
* the first success after failures logs "recovered after N failures in S s".

Each process builds its own (no globals); the clock is injectable for tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from storage.errors import database_unavailable


def describe(error: BaseException) -> str:
    """`OperationalError: connection refused`: the type and the first line of the message."""
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__


class FaultLog:
    def __init__(
        self, source: str, logger: logging.Logger, *, summary_every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self._log = logger
        self._every = summary_every
        self._clock = clock
        self._lock = threading.Lock()
        self._failing_since: float | None = None
        self._total = 0
        self._since_summary = 0
        self._summary_at = 0.0

    @property
    def failing(self) -> bool:
        return self._failing_since is not None

    def failed(self, error: BaseException) -> None:
        """One more failure of this source."""
        now = self._clock()
        with self._lock:
            first = self._failing_since is None
            if first:
                self._failing_since = self._summary_at = now
                self._total = self._since_summary = 0
            self._total += 1
            self._since_summary += 1
            summary = None
            if not first and now - self._summary_at >= self._every:
                summary = (self._since_summary, now - self._summary_at)
                self._since_summary, self._summary_at = 0, now
        if first:
            self._log.error("%s failing: %s", self.source, describe(error),
                            exc_info=None if database_unavailable(error) else error)
        elif summary is not None:
            self._log.warning("%s still failing: %d requests in the last %.0f s (%s)",
                              self.source, summary[0], summary[1], describe(error))

    def succeeded(self) -> None:
        """A success: ends a run of failures, if there was one."""
        if self._failing_since is None:  # the common case, without the lock
            return
        now = self._clock()
        with self._lock:
            since, total = self._failing_since, self._total
            if since is None:
                return
            self._failing_since = None
            self._total = self._since_summary = 0
        self._log.warning("%s recovered after %d failed requests in %.0f s",
                          self.source, total, now - since)
