"""Storing a version and serving it, inside the caller's transaction (which commits)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.lifecycle import records
from bot.lifecycle.checking import content_hash
from bot.lifecycle.diffing import compare
from bot.lifecycle.errors import LifecycleError
from bot.lifecycle.models import Problem, PublishResult
from conversations.dsl import Script
from storage.models import Answer
from storage.unit_of_work import UnitOfWork

Parse = Callable[..., Script | list[Problem]]


def store_and_deploy(
    uow: UnitOfWork, script: Script, yaml_text: str, *, parsed: Parse, author: str, note: str,
    kind: str, now: datetime, only_if_changed_from: str | None = None,
    only_if_empty: bool = False,
) -> PublishResult | None:
    """Store the text as a version (an identical published one is reused, except for file
    imports) and serve it. None, changing nothing, when an import finds nothing to do."""
    digest = content_hash(yaml_text)
    uow.scripts.lock_for_change()
    # Checked again under the lock: processes starting together import once.
    if only_if_empty and uow.scripts.marker():
        return None
    if only_if_changed_from is not None:
        last = uow.scripts.last_by(only_if_changed_from)
        if last is not None and last.content_hash == digest:
            return None
    active = uow.scripts.active()
    old_text = None
    if active is not None:
        number = records.variants_of(active)[0].version
        old_text = uow.scripts.texts([number]).get(number)
    row = uow.scripts.with_hash(digest) if only_if_changed_from is None else None
    created = row is None
    if row is None:
        row = uow.scripts.add(script_id=script.id, yaml_text=yaml_text, content_hash=digest,
                              author=author, note=note, now=now)
    deployment = uow.scripts.deploy(kind=kind, variants=records.single(row.number),
                                    author=author, note=note, now=now)
    return PublishResult(
        version=records.summary_of(row, active={row.number}),
        deployment=records.deployment_of(deployment), created=created,
        warnings=tuple(removal_warnings(uow, old_text, script, parsed)),
    )


def removal_warnings(uow: UnitOfWork, old_text: str | None, script: Script,
                     parsed: Parse) -> list[str]:
    """Pinned ids, and option ids stored answers use, that `script` drops from the active."""
    if not old_text:
        return []
    old = parsed(old_text, filename="active")
    if isinstance(old, list):
        return []
    return list(compare(old, old_text, script, "", before="active", after="new",
                        used=used_options(uow.session)).warnings)


def who(author: str) -> str:
    author = " ".join(author.split())
    if not author:
        raise LifecycleError("say who makes the change (author)")
    return author[:191]


def used_options(session: Session) -> set[tuple[str, str | None]]:
    """(question, option) pairs that stored answers use."""
    query = select(Answer.question_id, Answer.option_id).where(
        Answer.option_id.is_not(None)).distinct()
    return {(question, option) for question, option in session.execute(query)}


def previous_version(uow: UnitOfWork) -> int:
    """The version served before the active deployment's version."""
    history = uow.scripts.deployments(limit=200)
    if not history:
        raise LifecycleError("nothing is published yet; nothing to roll back")
    current = records.variants_of(history[0])[0].version
    for row in history[1:]:
        version = records.variants_of(row)[0].version
        if version != current:
            return version
    raise LifecycleError(f"version {current} is the only one ever served; "
                         "name the version to serve: `leadbot script rollback VERSION`")
