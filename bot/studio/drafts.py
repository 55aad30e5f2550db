"""The workspace's script draft: where it starts from, how an edit is saved, what is wrong with it.

One draft is shared by the workspace (both editor views edit it); it lives in the
database, so it survives a restart and every process sees the same text. It starts
as a copy of the version being served (or of the script file before the first
publish). Checking is the lifecycle service's `validate`: the same problems, lines
and messages as `leadbot script check`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot.bootstrap import Container
from bot.lifecycle.api import ScriptLifecycle
from bot.lifecycle.models import Problem
from conversations.dsl import Script
from conversations.strict_yaml import StrictLoader
from storage.studio import DraftRecord, StudioRepository
from storage.unit_of_work import UnitOfWork

DRAFT = "main"
MAX_DRAFT_CHARS = 1_000_000  # the loader's limit for a script file


class DraftTooLarge(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DraftState:
    """The draft as the editor shows it: its text, its problems, and its data when it parses."""

    record: DraftRecord
    problems: tuple[Problem, ...]
    data: dict[str, Any] | None  # the YAML as plain data (None when it does not parse)

    @property
    def publishable(self) -> bool:
        return not self.problems


def served_text(lifecycle: ScriptLifecycle, script_path: str) -> tuple[str, int | None]:
    """The YAML being served now and its version number (the script file before any publish)."""
    deployment = lifecycle.active_deployment()
    if deployment is not None:
        return lifecycle.get_version(deployment.version).yaml_text, deployment.version
    return Path(script_path).read_text(encoding="utf-8"), None


def load_draft(
    uow_factory: Callable[[], UnitOfWork], lifecycle: ScriptLifecycle, *, script_path: str,
    by: str, now: datetime,
) -> DraftRecord:
    """The draft, created from what is served when there is none yet."""
    with uow_factory() as uow:
        record = StudioRepository(uow.session).draft(DRAFT)
    if record is not None:
        return record
    text, version = served_text(lifecycle, script_path)
    with uow_factory() as uow:
        repository = StudioRepository(uow.session)
        try:
            record = repository.save_draft(DRAFT, text, base_version=version,
                                           expected_revision=0, by=by, now=now)
        except Exception:
            uow.rollback()
            existing = StudioRepository(uow.session).draft(DRAFT)  # another request made it
            if existing is None:
                raise
            return existing
        uow.commit()
        return record


def save_draft(
    uow_factory: Callable[[], UnitOfWork], text: str, *, revision: int, by: str,
    now: datetime, base_version: int | None = None, keep_base: bool = True,
) -> DraftRecord:
    """Save the draft's new text; raises DraftConflict when it moved since `revision`."""
    if len(text) > MAX_DRAFT_CHARS:
        raise DraftTooLarge("the script is over 1 MB; is the right text pasted?")
    with uow_factory() as uow:
        repository = StudioRepository(uow.session)
        if keep_base:
            current = repository.draft(DRAFT)
            base_version = current.base_version if current is not None else base_version
        record = repository.save_draft(DRAFT, text, base_version=base_version,
                                       expected_revision=revision, by=by, now=now)
        uow.commit()
        return record


@functools.lru_cache(maxsize=16)
def checked(
    lifecycle: ScriptLifecycle, yaml_text: str
) -> tuple[Script | None, tuple[Problem, ...]]:
    """The lifecycle's check of a draft: the script when it parses, and every problem.

    Kept for the last few texts: checking the bundled script (its examples included)
    takes about a second, and the editor, the preview and the versions page ask about
    the same draft in turn.
    """
    problems = tuple(lifecycle.validate(yaml_text, filename="draft.yaml"))
    parsed = lifecycle.parsed(yaml_text, filename="draft.yaml")
    return (parsed if isinstance(parsed, Script) else None), problems


def draft_state(record: DraftRecord, lifecycle: ScriptLifecycle) -> DraftState:
    _, problems = checked(lifecycle, record.yaml_text)
    return DraftState(record=record, problems=problems, data=draft_data(record.yaml_text))


def draft_data(text: str) -> dict[str, Any] | None:
    try:
        data = yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def lifecycle_of(container: Container) -> ScriptLifecycle:
    """The process's lifecycle service (one per container, built by the composition root)."""
    return container.lifecycle


def draft_record(container: Container, *, by: str) -> DraftRecord:
    """The draft's text and revision, without checking it."""
    return load_draft(container.uow, lifecycle_of(container), script_path=container.script.path,
                      by=by, now=container.clock())


def current_draft(container: Container, *, by: str) -> DraftState:
    return draft_state(draft_record(container, by=by), lifecycle_of(container))


def restart_draft(container: Container, *, by: str) -> DraftRecord:
    """Replace the draft with what is served now (after a publish, or to discard edits)."""
    lifecycle = lifecycle_of(container)
    current = load_draft(container.uow, lifecycle, script_path=container.script.path, by=by,
                         now=container.clock())
    text, version = served_text(lifecycle, container.script.path)
    return save_draft(container.uow, text, revision=current.revision, by=by,
                      now=container.clock(), base_version=version, keep_base=False)
