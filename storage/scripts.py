"""Script versions and deployments: typed access to `script_versions` and `script_deployments`.

Flushes, never commits (the unit of work or the caller owns the transaction).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from storage.models import ScriptDeployment, ScriptVersion

# Key of the PostgreSQL advisory lock that serialises changes to what is served
# ("scripts" in ASCII). SQLite's BEGIN IMMEDIATE already lets one writer in at a time.
DEPLOYMENT_LOCK = 0x73_6372697074_73
# The PostgreSQL channel a new deployment is announced on (its id as the payload): serving
# processes LISTEN to it and switch at once instead of at their next periodic check.
DEPLOYMENT_CHANNEL = "leadbot_script_deployment"


class ScriptRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def lock_for_change(self) -> None:
        """Hold the deployment lock until the transaction ends (version numbers, imports)."""
        if self._session.get_bind().dialect.name == "postgresql":
            self._session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                  {"key": DEPLOYMENT_LOCK})

    # --- versions -----------------------------------------------------------------

    def versions(self) -> list[ScriptVersion]:
        return list(self._session.scalars(
            select(ScriptVersion).order_by(ScriptVersion.number.desc())))

    def get(self, number: int) -> ScriptVersion | None:
        return self._session.get(ScriptVersion, number)

    def texts(self, numbers: list[int]) -> dict[int, str]:
        query = select(ScriptVersion.number, ScriptVersion.yaml_text).where(
            ScriptVersion.number.in_(numbers))
        return {number: yaml_text for number, yaml_text in self._session.execute(query)}

    def with_hash(self, content_hash: str) -> ScriptVersion | None:
        """The newest version with exactly this text."""
        query = (select(ScriptVersion).where(ScriptVersion.content_hash == content_hash)
                 .order_by(ScriptVersion.number.desc()).limit(1))
        return self._session.scalars(query).first()

    def last_by(self, author: str) -> ScriptVersion | None:
        """The newest version this author created (e.g. the last import of a file)."""
        query = (select(ScriptVersion).where(ScriptVersion.author == author)
                 .order_by(ScriptVersion.number.desc()).limit(1))
        return self._session.scalars(query).first()

    def add(self, *, script_id: str, yaml_text: str, content_hash: str, author: str, note: str,
            now: datetime) -> ScriptVersion:
        """A new version numbered after the last one (call `lock_for_change` first)."""
        last = self._session.scalar(select(func.max(ScriptVersion.number)))
        version = ScriptVersion(
            number=(last or 0) + 1, script_id=script_id, yaml_text=yaml_text,
            content_hash=content_hash, author=author, note=note, created_at=now,
            published_at=None,
        )
        self._session.add(version)
        self._session.flush()
        return version

    # --- deployments ----------------------------------------------------------------

    def marker(self) -> int:
        """The active deployment's id (0: none yet): the cheap "did anything change?" read."""
        return int(self._session.scalar(select(func.max(ScriptDeployment.id))) or 0)

    def active(self) -> ScriptDeployment | None:
        query = select(ScriptDeployment).order_by(ScriptDeployment.id.desc()).limit(1)
        return self._session.scalars(query).first()

    def deployments(self, *, limit: int | None = None,
                    experiment: str | None = None) -> list[ScriptDeployment]:
        query = select(ScriptDeployment).order_by(ScriptDeployment.id.desc())
        if experiment is not None:
            query = query.where(ScriptDeployment.experiment == experiment)
        if limit is not None:
            query = query.limit(limit)
        return list(self._session.scalars(query))

    def deploy(self, *, kind: str, variants: list[dict[str, Any]], author: str, note: str,
               now: datetime, experiment: str | None = None,
               baseline_version: int | None = None) -> ScriptDeployment:
        """Serve these variants from now on; marks their versions published.

        On PostgreSQL the deployment is also announced on DEPLOYMENT_CHANNEL: NOTIFY is
        part of the transaction, so listeners hear of it when it commits, and never of
        one rolled back.
        """
        deployment = ScriptDeployment(
            kind=kind, experiment=experiment, variants=variants,
            baseline_version=baseline_version, author=author, note=note, created_at=now,
        )
        self._session.add(deployment)
        for variant in variants:
            version = self.get(int(variant["version"]))
            if version is not None and version.published_at is None:
                version.published_at = now
        self._session.flush()
        if self._session.get_bind().dialect.name == "postgresql":
            self._session.execute(text("SELECT pg_notify(:channel, :id)"),
                                  {"channel": DEPLOYMENT_CHANNEL, "id": str(deployment.id)})
        return deployment
