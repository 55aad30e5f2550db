"""The values the script lifecycle service takes and returns (pydantic, frozen).

The CLI and the web workspace both render these; neither computes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

Stage = Literal["new", "engaged", "mql", "sql", "disqualified"]
DeploymentKind = Literal["publish", "rollback", "import", "experiment_start", "experiment_stop"]


class Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class Problem(Value):
    """One thing to fix in a script: the same line, column and message as `leadbot script check`."""

    line: int
    column: int
    path: str  # e.g. "questions[2].options[0].id" ("" when about the whole file)
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.line}:{self.column}  {where}{self.message}"


class VersionSummary(Value):
    """One stored version of the script (its text is in `Version`)."""

    number: int
    script_id: str
    content_hash: str  # sha256 of the YAML text
    author: str  # who created it: a user name, or `file:<path>` when imported from a file
    note: str
    created_at: datetime
    published_at: datetime | None  # first time it went live; None: never published
    active: bool  # served now (alone or as an experiment variant)


class Version(VersionSummary):
    yaml_text: str


class Variant(Value):
    """A share of new conversations given to one version: `weight` is a percentage."""

    name: str  # "" for a plain deployment of one version
    version: int
    weight: int


class Deployment(Value):
    """What is served: one version, or an experiment's variants. The latest one is active."""

    id: int
    kind: DeploymentKind
    created_at: datetime
    author: str
    note: str
    experiment: str | None  # the running experiment's name, None for a plain deployment
    variants: tuple[Variant, ...]
    # The version served to conversations that started before this experiment began.
    baseline_version: int | None = None

    @property
    def version(self) -> int:
        """The version served to everyone (the first variant's during an experiment)."""
        return self.variants[0].version


class PublishResult(Value):
    version: VersionSummary
    deployment: Deployment
    created: bool  # False when the same text was stored before and is re-published
    warnings: tuple[str, ...]  # e.g. a removed option id that stored answers use


class Change(Value):
    """One meaningful difference between two versions."""

    area: Literal["script", "question", "option", "synonyms", "points", "thresholds",
                  "temperature", "routing", "other"]
    path: str  # "questions.sector.options.software.synonyms.en"
    change: Literal["added", "removed", "changed"]
    before: str | None
    after: str | None

    def __str__(self) -> str:
        if self.change == "added":
            return f"+ {self.path}: {self.after}"
        if self.change == "removed":
            return f"- {self.path}: {self.before}"
        return f"~ {self.path}: {self.before} → {self.after}"


class ScriptDiff(Value):
    before: str  # "v3", or "draft"
    after: str
    changes: tuple[Change, ...]
    warnings: tuple[str, ...]
    text_diff: str  # unified diff of the YAML text


class Outcome(Value):
    """Where one conversation ends under one script."""

    stage: Stage
    temperature: str
    score: int
    route: str | None  # Slack channel of the alert; None: the default channel
    completed: bool
    asked: tuple[str, ...]  # question ids the script asked, in order
    unmatched: tuple[str, ...]  # questions whose typed answers it did not understand


class ConversationReplay(Value):
    conversation_id: int
    lead_id: int
    old: Outcome  # under the active version
    new: Outcome  # under the candidate

    @property
    def changed(self) -> bool:
        return (self.old.stage, self.old.temperature, self.old.score, self.old.route) != (
            self.new.stage, self.new.temperature, self.new.score, self.new.route)


class ReplayTotals(Value):
    conversations: int
    changed: int
    moved_up: int  # leads that would reach a later stage
    moved_down: int
    alerts_gained: int  # would become SQL (a Slack alert) and did not
    alerts_lost: int
    routes_changed: int  # SQL in both, alerted to another channel
    newly_understood: int  # answers unmatched before, understood now
    newly_unmatched: int
    questions_added: dict[str, int]  # question id → conversations where it is now asked
    questions_skipped: dict[str, int]  # question id → conversations where it no longer is


class ReplayReport(Value):
    active_version: int | None
    totals: ReplayTotals
    conversations: tuple[ConversationReplay, ...]
    seconds: float


class VariantSpec(Value):
    """A variant asked for: `a=3:50` is name "a", version 3, weight 50."""

    name: str
    version: int
    weight: int


class VariantCounts(Value):
    variant: str
    version: int
    weight: int
    started: int
    completed: int
    mql: int
    sql: int
    conversion: float | None  # sql / started
    ci_low: float | None  # 95 % Wilson interval of the conversion
    ci_high: float | None
    p_value: float | None  # two-proportion z-test against the first variant
    significant: bool | None  # p < 0.05; None for the first variant or without data
    median_seconds_to_sql: float | None


class ExperimentStatus(Value):
    name: str
    running: bool
    started_at: datetime
    started_by: str
    stopped_at: datetime | None
    kept: str | None  # the variant kept when it was stopped
    variants: tuple[VariantCounts, ...]


class SynonymAdded(NamedTuple):
    yaml_text: str  # the script with the synonym added; comments and layout kept
    covered: int  # stored unmatched answers to the question the new script understands


class UnmatchedSuggestion(Value):
    question: str
    text: str  # folded
    count: int
    leads: int
    example: str  # the most common original spelling
    option: str | None  # the closest option, None when nothing is close
    confidence: float
