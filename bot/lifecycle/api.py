"""The script lifecycle service: the one API the CLI and the web workspace call.

Versions of the script live in the database (`script_versions`); what is served is
the latest row of `script_deployments` (one version, or an experiment's variants).
Every change that reaches prospects — publish, rollback, experiment start and stop —
takes an `author` and a `note` and is recorded as a deployment, so it can be audited.
Drafts are not kept here: a draft is YAML text the caller holds until it publishes.

Every operation either does all it says or, for an expected mistake, raises a
`LifecycleError` whose message is one line saying what to do, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.lifecycle.models import (
    Deployment,
    ExperimentStatus,
    Problem,
    PublishResult,
    ReplayReport,
    ScriptDiff,
    SynonymAdded,
    UnmatchedSuggestion,
    VariantSpec,
    Version,
    VersionSummary,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class ScriptLifecycle:
    """Versions, deployments, replay, experiments and synonyms of the question script."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._sessions = session_factory
        self._clock = clock

    # --- versions -------------------------------------------------------------------

    def list_versions(self) -> list[VersionSummary]:
        """Every stored version, newest first."""
        raise NotImplementedError

    def get_version(self, number: int) -> Version:
        """One version with its YAML text; raises UnknownVersion."""
        raise NotImplementedError

    def active_deployment(self) -> Deployment | None:
        """What is served now; None only before the first version is published."""
        raise NotImplementedError

    def deployments(self, *, limit: int = 50) -> list[Deployment]:
        """The history of what was served, newest first (publishes, rollbacks, experiments)."""
        raise NotImplementedError

    # --- checking and comparing -----------------------------------------------------

    def validate(self, yaml_text: str, *, filename: str = "script.yaml") -> list[Problem]:
        """The problems of a draft, by line: YAML and schema errors, then failing examples.

        Empty when the script could be published. The lines and messages are those of
        `leadbot script check`.
        """
        raise NotImplementedError

    def diff(self, v1: int, v2: int) -> ScriptDiff:
        """What changed from version v1 to v2: questions, options, synonyms, points,
        thresholds and routing, with warnings about removed ids that stored answers use."""
        raise NotImplementedError

    def diff_text(self, before_yaml: str, after_yaml: str, *, before: str = "active",
                  after: str = "draft") -> ScriptDiff:
        """The same comparison for two texts (e.g. the active version and a draft)."""
        raise NotImplementedError

    # --- publishing -----------------------------------------------------------------

    def publish(self, yaml_text: str, *, author: str, note: str = "") -> PublishResult:
        """Store the text as a new version (or reuse an identical one) and serve it.

        Raises InvalidScript (nothing stored) when it has errors or failing examples.
        Ends a running experiment: everyone gets the published version.
        """
        raise NotImplementedError

    def rollback(self, version: int | None = None, *, author: str, note: str = "") -> Deployment:
        """Serve an older version again (default: the one served before the active one).

        Recorded as a new deployment, like a publish; raises UnknownVersion.
        """
        raise NotImplementedError

    # --- replay ---------------------------------------------------------------------

    def replay(
        self, yaml_text: str, *, since: datetime | None = None, limit: int | None = None
    ) -> ReplayReport:
        """Run stored conversations through the candidate and through the active version.

        In memory with the pure engine: writes nothing and sends nothing. `since` keeps
        conversations started at or after it; `limit` the most recent N.
        """
        raise NotImplementedError

    # --- experiments ----------------------------------------------------------------

    def start_experiment(
        self, name: str, variants: Sequence[VariantSpec], *, author: str, note: str = ""
    ) -> Deployment:
        """Split new conversations between versions; weights are percentages summing to 100.

        A chat's variant is a hash of its channel, chat id and the experiment name, so
        every process agrees; conversations already running keep their version.
        """
        raise NotImplementedError

    def experiment_status(self, name: str | None = None) -> ExperimentStatus | None:
        """The running experiment (or the named one): per variant, started, completed,
        MQL, SQL, conversion with its 95 % interval, significance and median time to SQL."""
        raise NotImplementedError

    def stop_experiment(self, name: str, keep: str, *, author: str, note: str = "") -> Deployment:
        """Serve the kept variant's version to everyone from now on."""
        raise NotImplementedError

    # --- synonyms -------------------------------------------------------------------

    def add_synonym(
        self, yaml_text: str, question: str, option: str, text: str, lang: str | None = None
    ) -> SynonymAdded:
        """The script with `text` added to the option's synonyms (comments and layout kept)
        and how many stored unmatched answers to the question it now understands."""
        raise NotImplementedError

    def suggest_for_unmatched(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        question: str | None = None,
        limit: int = 20,
    ) -> list[UnmatchedSuggestion]:
        """Frequent unmatched answers, each with the closest option of the active script."""
        raise NotImplementedError
