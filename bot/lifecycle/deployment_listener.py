"""Deployment notices on PostgreSQL: a thread LISTENing, so a publish is served at once.

Every process checks for a new deployment every LEADBOT_SCRIPT_RELOAD_SECONDS. On
PostgreSQL a serving process also keeps one connection listening on the channel each
deployment is announced on (`storage.scripts.DEPLOYMENT_CHANNEL`, notified in the
deployment's own transaction) and calls `on_notice` as soon as one arrives. A dropped
connection is opened again (1 s later, then up to 30 s apart); once it is back,
`on_notice` runs too, in case a deployment was announced meanwhile. The periodic check
keeps running all along: nothing depends on a notice arriving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

from storage.scripts import DEPLOYMENT_CHANNEL

log = logging.getLogger(__name__)

RETRY_FIRST = 1.0
RETRY_LONGEST = 30.0
# How long one wait for notices lasts: the thread notices `stop()` within this.
WAIT_SECONDS = 1.0


class DeploymentListener:
    """Calls `on_notice` from its own thread whenever a deployment is announced."""

    def __init__(self, conninfo: str, on_notice: Callable[[], None], *,
                 retry_first: float = RETRY_FIRST, retry_longest: float = RETRY_LONGEST) -> None:
        self._conninfo = conninfo
        self._on_notice = on_notice
        self._retry_first = retry_first
        self._retry_longest = retry_longest
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while the LISTEN connection is open

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="script-deployments",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=WAIT_SECONDS + 5)

    def _run(self) -> None:
        delay = self._retry_first
        failing = False
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=10,
                                     keepalives=1, keepalives_idle=30, keepalives_interval=10,
                                     keepalives_count=3) as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(
                        sql.Identifier(DEPLOYMENT_CHANNEL)))
                    self.listening.set()
                    if failing:
                        log.info("listening for script deployments again")
                    failing, delay = False, self._retry_first
                    self._notice()  # anything announced while nobody listened
                    while not self._stopping.is_set():
                        for _ in connection.notifies(timeout=WAIT_SECONDS):
                            self._notice()
            except psycopg.Error as exc:
                self.listening.clear()
                if self._stopping.is_set():
                    break
                if not failing:
                    reason = (str(exc).strip().splitlines() or [""])[0]
                    log.warning("not listening for script deployments (%s: %s); a publish is "
                                "picked up by the periodic check until the connection is back",
                                type(exc).__name__, reason)
                failing = True
                self._stopping.wait(delay)
                delay = min(delay * 2, self._retry_longest)
        self.listening.clear()

    def _notice(self) -> None:
        try:
            self._on_notice()
        except Exception as exc:  # noqa: BLE001 — the periodic check retries; keep listening
            log.warning("a script deployment was announced but could not be loaded now "
                        "(%s); the periodic check will", type(exc).__name__)
