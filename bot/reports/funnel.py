"""The funnel report, computed from per-lead facts: pure, no database, no clock.

Steps, in order: started → for each question in script order (reached, answered)
→ completed → MQL → SQL → claimed. "Reached" a question means answered it or is
the question the lead's conversation is waiting on; drop-off is who reached a
question and did not answer.

Conditional questions (asked only of MQLs, or after some answers) make the flow a
tree, not a line: a lead may go past a step without ever being in it. So a step's
conversion is measured against the leads that could reach it — those past the step
above, less those that went on to later steps without this one (it was not asked
of them) — and so is never above 100 %.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.reports.costs import CampaignCost
from bot.reports.queries import LeadFacts
from bot.reports.stats import percentile, ratio

GROUPINGS = ("source", "campaign", "language")
ALL = "all"
NOT_SET = "(none)"


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # started | reached | answered | completed | mql | sql | claimed
    question: str | None
    count: int
    conversion: float | None  # over the previous step; None for the first step or 0 before
    of_started: float | None

    @property
    def label(self) -> str:
        return f"{self.name} {self.question}" if self.question else self.name


@dataclass(frozen=True, slots=True)
class DropOff:
    question: str
    reached: int
    answered: int
    dropped: int
    rate: float | None  # dropped / reached


@dataclass(frozen=True, slots=True)
class Timing:
    """Seconds from a lead's first message to a stage, over the leads that got there."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None
    seconds: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class GroupReport:
    group: str
    leads: int
    steps: tuple[Step, ...]
    drop_off: tuple[DropOff, ...]
    to_mql: Timing
    to_sql: Timing

    def count(self, name: str, question: str | None = None) -> int:
        for step in self.steps:
            if step.name == name and step.question == question:
                return step.count
        raise KeyError((name, question))


@dataclass(frozen=True, slots=True)
class Filters:
    since: datetime | None
    until: datetime | None
    script: str | None
    by: str | None


@dataclass(frozen=True, slots=True)
class Report:
    filters: Filters
    questions: tuple[str, ...]
    groups: tuple[GroupReport, ...]  # "all" first, then each group, biggest first
    sources: tuple[tuple[str, int], ...]  # leads per source, biggest first
    costs: tuple[CampaignCost, ...] | None  # None without a campaigns file


def is_mql(fact: LeadFacts) -> bool:
    return fact.mql_at is not None or fact.stage in ("mql", "sql")


def is_sql(fact: LeadFacts) -> bool:
    return fact.sql_at is not None or fact.stage == "sql"


def group_key(by: str) -> Callable[[LeadFacts], str]:
    if by == "source":
        return lambda f: f.attribution.source or NOT_SET
    if by == "campaign":
        return lambda f: f.attribution.campaign or NOT_SET
    if by == "language":
        return lambda f: f.language or NOT_SET
    raise ValueError(f"cannot group by {by!r}; use one of {', '.join(GROUPINGS)}")


def order_questions(script_order: Sequence[str], seen: set[str]) -> tuple[str, ...]:
    """The script's questions in order, then any others the data holds (an older script's)."""
    extra = sorted(seen - set(script_order))
    return (*script_order, *extra)


def build_report(
    facts: Sequence[LeadFacts],
    *,
    questions: Sequence[str],
    filters: Filters,
    costs: tuple[CampaignCost, ...] | None = None,
) -> Report:
    groups = [group_report(ALL, facts, questions)]
    if filters.by is not None:
        key = group_key(filters.by)
        members: dict[str, list[LeadFacts]] = defaultdict(list)
        for fact in facts:
            members[key(fact)].append(fact)
        for name in sorted(members, key=lambda n: (-len(members[n]), n)):
            groups.append(group_report(name, members[name], questions))
    by_source = Counter(f.attribution.source or NOT_SET for f in facts)
    return Report(
        filters=filters,
        questions=tuple(questions),
        groups=tuple(groups),
        sources=tuple(sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))),
        costs=costs,
    )


def group_report(name: str, facts: Sequence[LeadFacts], questions: Sequence[str]) -> GroupReport:
    everyone = frozenset(range(len(facts)))
    members: list[tuple[str, str | None, frozenset[int]]] = [("started", None, everyone)]
    drop_off = []
    for question in questions:
        answered = frozenset(i for i, f in enumerate(facts) if question in f.answered)
        reached = answered | {i for i, f in enumerate(facts) if f.current == question}
        members += [("reached", question, reached), ("answered", question, answered)]
        dropped = len(reached) - len(answered)
        drop_off.append(
            DropOff(question, len(reached), len(answered), dropped, ratio(dropped, len(reached)))
        )
    flow_steps = len(members) + 1  # the questions' steps and "completed" form the flow
    members += [
        ("completed", None, frozenset(i for i, f in enumerate(facts) if f.completed)),
        ("mql", None, frozenset(i for i, f in enumerate(facts) if is_mql(f))),
        ("sql", None, frozenset(i for i, f in enumerate(facts) if is_sql(f))),
        ("claimed", None, frozenset(i for i, f in enumerate(facts) if f.owner_id is not None)),
    ]
    steps = []
    for index, (step_name, step_question, leads) in enumerate(members):
        conversion = None
        if index:
            could = _past(members, index - 1, flow_steps) - _went_around(members, index, flow_steps)
            conversion = ratio(len(leads & could), len(could))
        steps.append(Step(step_name, step_question, len(leads), conversion,
                          ratio(len(leads), len(facts))))
    return GroupReport(
        group=name,
        leads=len(facts),
        steps=tuple(steps),
        drop_off=tuple(drop_off),
        to_mql=timing([(f.mql_at - f.created_at).total_seconds() for f in facts if f.mql_at]),
        to_sql=timing([(f.sql_at - f.created_at).total_seconds() for f in facts if f.sql_at]),
    )


def _later(members: Sequence[tuple[str, str | None, frozenset[int]]], index: int,
           flow_steps: int) -> frozenset[int]:
    """Leads in any step of the flow after `index` (none after the flow's end)."""
    later: set[int] = set()
    for _, _, leads in members[index + 1:flow_steps]:
        later |= leads
    return frozenset(later)


def _went_around(members: Sequence[tuple[str, str | None, frozenset[int]]], index: int,
                 flow_steps: int) -> frozenset[int]:
    """Leads that went further in the flow without ever being in step `index`."""
    return _later(members, index, flow_steps) - members[index][2]


def _past(members: Sequence[tuple[str, str | None, frozenset[int]]], index: int,
          flow_steps: int) -> frozenset[int]:
    """Leads in step `index`, or that went around it."""
    return members[index][2] | _went_around(members, index, flow_steps)


def timing(seconds: list[float]) -> Timing:
    return Timing(
        count=len(seconds),
        median_seconds=percentile(seconds, 0.5),
        p90_seconds=percentile(seconds, 0.9),
        seconds=tuple(sorted(seconds)),
    )
