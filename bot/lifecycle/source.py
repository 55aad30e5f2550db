"""The active script, read from the database: every process serves what was last published.

Each process keeps the deployment it serves in memory and checks a single number
(the newest deployment's id) at most every `interval` seconds; only when it moved
does it read the deployment and parse the versions it names (parsed versions are
kept, so a rollback is instant). On PostgreSQL, `listen()` also checks as soon as a
deployment is announced (`bot.lifecycle.deployment_listener`). A broken script never
becomes active: the service refuses to publish one, and a broken LEADBOT_SCRIPT file is
logged and left aside.

With an explicit script file (LEADBOT_SCRIPT or --script), the file is imported as a
new version authored `file:<path>` whenever its text differs from what was last
imported from that path — at start and, while running, when it is saved. A version
published from the CLI or the workspace therefore survives a restart: the file wins
only when it changes again.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.lifecycle import records
from bot.lifecycle.api import ScriptLifecycle
from bot.lifecycle.checking import content_hash
from bot.lifecycle.deployment_listener import DeploymentListener
from bot.lifecycle.experiments import assign_variant
from bot.lifecycle.models import Deployment, Variant
from bot.service import ServedScript
from conversations.loader import LoadedScript, ScriptError, load_script
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Served:
    deployment: Deployment
    by_variant: dict[str, ServedScript]
    baseline: ServedScript | None

    @property
    def default(self) -> ServedScript:
        return self.by_variant[self.deployment.variants[0].name]


def loaded_version(lifecycle: ScriptLifecycle, number: int, yaml_text: str) -> LoadedScript:
    """A stored version as the service runs it (`version` as `load_script` computes it)."""
    script = lifecycle.parsed(yaml_text, filename=f"version {number}")
    if isinstance(script, list):  # stored versions were checked when stored
        raise RuntimeError(  # noqa: TRY004 — a broken stored version, not a caller's type error
            f"stored script version {number} no longer loads: " + "; ".join(map(str, script)))
    digest = content_hash(yaml_text)[:12]
    version = f"{script.version}+{digest}" if script.version else digest
    return LoadedScript(script=script, version=version, path=f"db:v{number}")


class DatabaseScriptSource:
    """`current()` and `for_chat()` for the message service; see the module docstring."""

    def __init__(
        self,
        lifecycle: ScriptLifecycle,
        uow_factory: Callable[[], UnitOfWork],
        *,
        file: Path | None,
        bundled: Path,
        interval: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lifecycle = lifecycle
        self._uow = uow_factory
        self._file = file
        self._bundled = bundled
        self._interval = interval
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._parsed: dict[int, LoadedScript] = {}
        self._marker = -1
        self._checked = 0.0
        self._file_seen: tuple[int, int] | None = None
        self._served: _Served | None = None
        self._waiting_for_schema = False
        self._listener: DeploymentListener | None = None

    def start(self) -> None:
        """Import the script file (or, in a new database, the bundled script) and load what
        is served. Raises ScriptError when a file that must be imported is broken.

        A database without the script tables (not migrated yet: `/healthz` says so) is
        served the file's script from memory until the tables appear.
        """
        try:
            self._import()
            with self._lock:
                self._reload()
        except (OperationalError, ProgrammingError) as exc:
            if "script_" not in str(exc.orig):
                raise
            path = self._file or self._bundled
            log.warning("the database has no script versions table yet (run `leadbot db "
                        "upgrade`); serving %s until it has", path)
            loaded = load_script(path)
            placeholder = Deployment(id=0, kind="import", created_at=datetime.now(UTC),
                                     author=f"file:{path}", note="", experiment=None,
                                     variants=(Variant(name="", version=0, weight=100),))
            self._served = _Served(placeholder, {"": ServedScript(loaded)}, None)
            self._waiting_for_schema = True

    def listen(self, conninfo: str) -> DeploymentListener:
        """Switch as soon as a deployment is announced on this PostgreSQL database
        (`conninfo`: a libpq connection string), besides checking every `interval`."""
        if self._listener is None:
            self._listener = DeploymentListener(conninfo, self._announced)
            self._listener.start()
        return self._listener

    def close(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def _announced(self) -> None:
        with self._lock:
            try:
                self._refresh()
            except Exception:
                self._checked = -math.inf  # the next message checks again
                raise

    def _import(self) -> None:
        if self._file is not None:
            self._file_seen = _signature(self._file)
            self._lifecycle.import_file(self._file)
        else:
            self._lifecycle.import_file(self._bundled, bundled=True)

    def current(self) -> LoadedScript:
        """The script served to everyone (an experiment's first variant)."""
        return self._snapshot().default.loaded

    def loaded(self) -> LoadedScript:
        """The script served to everyone as last loaded, without checking for a newer
        deployment: for code running inside a database transaction (the check opens a
        transaction of its own, which on SQLite would wait for the caller's)."""
        served = self._served if self._served is not None else self._snapshot()
        return served.default.loaded

    def for_chat(self, channel: str, chat_id: str, started_at: datetime | None) -> ServedScript:
        """The script for one chat's message; `started_at` is its conversation's start
        (None for a new conversation, which is assigned a variant during an experiment).

        Never reads the database (the service calls it inside the message's transaction,
        after `current()` checked for a new deployment)."""
        served = self._served
        assert served is not None  # start() loaded it
        deployment = served.deployment
        if deployment.experiment is None:
            return served.default
        if started_at is not None and started_at < deployment.created_at:
            return served.baseline or served.default  # running before it began: kept
        variant = assign_variant(channel, chat_id, deployment.experiment, deployment.variants)
        return served.by_variant[variant.name]

    @property
    def deployment(self) -> Deployment:
        return self._snapshot().deployment

    def _snapshot(self) -> _Served:
        if self._served is None or self._monotonic() - self._checked >= self._interval:
            with self._lock:
                if self._served is None or self._monotonic() - self._checked >= self._interval:
                    self._refresh()
        assert self._served is not None
        return self._served

    def _refresh(self) -> None:
        self._checked = self._monotonic()
        if self._waiting_for_schema:
            try:
                self._import()
                self._reload()
            except (OperationalError, ProgrammingError):
                pass  # still not migrated
            return
        if self._file is not None:
            self._import_if_saved(self._file)
        with self._uow() as uow:
            marker = uow.scripts.marker()
        if marker != self._marker:
            self._reload()

    def _import_if_saved(self, path: Path) -> None:
        signature = _signature(path)
        if signature is None or signature == self._file_seen:
            return  # unchanged, or briefly missing while an editor saves it
        self._file_seen = signature
        try:
            if self._lifecycle.import_file(path) is not None:
                log.info("script file %s changed: published as a new version", path)
        except ScriptError as exc:
            log.error("the script %s was changed but has %d error(s); still serving the "
                      "published version:\n%s", path, len(exc.problems), exc)

    def _reload(self) -> None:
        with self._uow() as uow:
            row = uow.scripts.active()
            if row is None:
                raise RuntimeError("no script version is published")  # start() imports one
            deployment = records.deployment_of(row)
            numbers = {v.version for v in deployment.variants}
            if deployment.baseline_version is not None:
                numbers.add(deployment.baseline_version)
            missing = sorted(numbers - set(self._parsed))
            texts = uow.scripts.texts(missing) if missing else {}
        for number in missing:
            self._parsed[number] = loaded_version(self._lifecycle, number, texts[number])

        def serve(number: int, variant: str | None) -> ServedScript:
            experiment = deployment.experiment if variant else None
            return ServedScript(self._parsed[number], number, experiment, variant)

        by_variant = {v.name: serve(v.version, v.name or None) for v in deployment.variants}
        baseline = (serve(deployment.baseline_version, None)
                    if deployment.baseline_version is not None else None)
        if self._served is not None and self._served.deployment.id != deployment.id:
            log.info("now serving script deployment %d (%s by %s)", deployment.id,
                     deployment.kind, deployment.author)
        self._served = _Served(deployment, by_variant, baseline)
        self._marker = deployment.id
        self._waiting_for_schema = False


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
