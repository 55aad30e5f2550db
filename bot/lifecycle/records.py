"""Rows of `script_versions` / `script_deployments` turned into the service's values."""

from __future__ import annotations

from typing import Any

from bot.lifecycle.models import Deployment, Variant, Version, VersionSummary
from storage.models import ScriptDeployment, ScriptVersion


def variants_of(row: ScriptDeployment) -> tuple[Variant, ...]:
    return tuple(Variant.model_validate(item) for item in row.variants)


def deployment_of(row: ScriptDeployment) -> Deployment:
    return Deployment(
        id=row.id, kind=row.kind,  # type: ignore[arg-type]  # written from DeploymentKind
        created_at=row.created_at, author=row.author, note=row.note, experiment=row.experiment,
        variants=variants_of(row), baseline_version=row.baseline_version,
    )


def served_numbers(active: ScriptDeployment | None) -> set[int]:
    return {v.version for v in variants_of(active)} if active is not None else set()


def summary_of(row: ScriptVersion, *, active: set[int]) -> VersionSummary:
    return VersionSummary(**_fields(row), active=row.number in active)


def version_of(row: ScriptVersion, *, active: set[int]) -> Version:
    return Version(**_fields(row), active=row.number in active, yaml_text=row.yaml_text)


def _fields(row: ScriptVersion) -> dict[str, Any]:
    return dict(number=row.number, script_id=row.script_id, content_hash=row.content_hash,
                author=row.author, note=row.note, created_at=row.created_at,
                published_at=row.published_at)


def single(version: int) -> list[dict[str, Any]]:
    """The variants column of a plain deployment: everyone gets `version`."""
    return [{"name": "", "version": version, "weight": 100}]
