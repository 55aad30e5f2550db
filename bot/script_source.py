"""The active script, reloaded when its file changes: marketers publish without a restart.

A broken file never replaces a working script: its problems are logged (once per
version of the file) and conversations go on with the last good script.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from conversations.loader import LoadedScript, ScriptError, load_script

log = logging.getLogger(__name__)

Signature = tuple[int, int]  # (mtime_ns, size)


def _signature(path: Path) -> Signature | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class ScriptSource:
    def __init__(
        self,
        path: str | Path,
        *,
        interval: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._interval = interval
        self._monotonic = monotonic
        self._seen = _signature(self.path)
        self._current = load_script(self.path)  # a broken script at start is fatal
        self._checked = monotonic()
        self._lock = threading.Lock()

    def current(self) -> LoadedScript:
        """The script to use now (checks the file at most every `interval` seconds)."""
        if self._monotonic() - self._checked >= self._interval:
            with self._lock:
                self._refresh()
        return self._current

    def _refresh(self) -> None:
        self._checked = self._monotonic()
        signature = _signature(self.path)
        if signature is None or signature == self._seen:
            return  # unchanged, or briefly missing while an editor saves it
        self._seen = signature
        try:
            loaded = load_script(self.path)
        except ScriptError as exc:
            log.error(
                "the script %s was changed but has %d error(s); still running version %s:\n%s",
                self.path, len(exc.problems), self._current.version, exc,
            )
            return
        if loaded.version != self._current.version:
            log.info("script %s reloaded: version %s", self.path, loaded.version)
            self._current = loaded
