"""Speed to lead: how long qualified leads waited for a rep, and how many were claimed within their SLA.

Read from the database in one query per table (leads qualified in the window, their
first claim, their SLA clock); computed by pure functions; rendered as a text table,
a JSON object and an HTML section. Times are wall-clock from SQL to claim; "within
SLA" compares the claim with the clock's deadline, which counts business hours only.
A lead not claimed yet counts as breached once its deadline has passed, and is left
out of the share until then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.reports.stats import human_duration, percentile, ratio
from bot.reports.table import percent, render_table
from bot.slack.card_source import EVENT_CLAIMED
from storage.models import Lead, LeadEvent, SlaClock

NO_SLA = "(no SLA)"
GROUPINGS = ("rule", "rep", "source")


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    lead_id: int
    qualified_at: datetime
    claimed_at: datetime | None
    deadline_at: datetime | None  # None: the lead's rule has no SLA
    rule: str
    rep: str | None
    source: str


def load_claim_facts(session: Session, *, since: datetime | None, until: datetime | None) -> list[ClaimFacts]:
    """Leads that reached SQL in [since, until)."""
    query = select(Lead.id, Lead.qualified_at, Lead.owner_name, Lead.owner_id, Lead.source).where(
        Lead.qualified_at.is_not(None))
    if since is not None:
        query = query.where(Lead.qualified_at >= since)
    if until is not None:
        query = query.where(Lead.qualified_at < until)
    leads = session.execute(query).all()
    ids = [row.id for row in leads]
    claims: dict[int, datetime] = {}
    clocks: dict[int, tuple[datetime, str]] = {}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for lead_id, first in session.execute(
            select(LeadEvent.lead_id, func.min(LeadEvent.created_at))
            .where(LeadEvent.type == EVENT_CLAIMED, LeadEvent.lead_id.in_(chunk))
            .group_by(LeadEvent.lead_id)
        ):
            claims[int(lead_id)] = first
        for lead_id, deadline, channel in session.execute(
            select(SlaClock.lead_id, SlaClock.deadline_at, SlaClock.channel).where(SlaClock.lead_id.in_(chunk))
        ):
            clocks[int(lead_id)] = (deadline, channel.removeprefix("slack:"))
    return [
        ClaimFacts(
            lead_id=row.id, qualified_at=row.qualified_at, claimed_at=claims.get(row.id),
            deadline_at=clocks[row.id][0] if row.id in clocks else None,
            rule=clocks[row.id][1] if row.id in clocks else NO_SLA,
            rep=row.owner_name or row.owner_id, source=row.source or "direct",
        )
        for row in leads
    ]


@dataclass(frozen=True, slots=True)
class SpeedRow:
    group: str
    qualified: int
    claimed: int
    median_seconds: float | None
    p90_seconds: float | None
    within_sla: float | None  # share of leads whose SLA is decided (claimed, or deadline passed)


@dataclass(frozen=True, slots=True)
class SpeedReport:
    total: SpeedRow
    by: dict[str, tuple[SpeedRow, ...]]  # "rule", "rep", "source"


def _row(group: str, facts: Sequence[ClaimFacts], now: datetime) -> SpeedRow:
    waits = [(f.claimed_at - f.qualified_at).total_seconds() for f in facts if f.claimed_at is not None]
    decided = within = 0
    for fact in facts:
        if fact.deadline_at is None:
            continue
        if fact.claimed_at is not None:
            decided += 1
            within += fact.claimed_at <= fact.deadline_at
        elif now > fact.deadline_at:
            decided += 1
    return SpeedRow(group=group, qualified=len(facts), claimed=len(waits),
                    median_seconds=percentile(waits, 0.5), p90_seconds=percentile(waits, 0.9),
                    within_sla=ratio(within, decided))


def speed_to_lead(facts: Sequence[ClaimFacts], *, now: datetime) -> SpeedReport:
    keys: dict[str, Callable[[ClaimFacts], str]] = {
        "rule": lambda f: f.rule, "rep": lambda f: f.rep or "(unclaimed)", "source": lambda f: f.source,
    }
    by: dict[str, tuple[SpeedRow, ...]] = {}
    for name, key in keys.items():
        groups: dict[str, list[ClaimFacts]] = defaultdict(list)
        for fact in facts:
            groups[key(fact)].append(fact)
        by[name] = tuple(sorted((_row(g, members, now) for g, members in groups.items()),
                                key=lambda r: (-r.qualified, r.group)))
    return SpeedReport(total=_row("all", facts, now), by=by)


def _cells(row: SpeedRow) -> list[str]:
    return [row.group, str(row.qualified), str(row.claimed), human_duration(row.median_seconds),
            human_duration(row.p90_seconds), percent(row.within_sla)]


HEADERS = ("", "SQL", "claimed", "median to claim", "p90 to claim", "within SLA")


def render_speed_text(report: SpeedReport) -> str:
    parts = [render_table(HEADERS, [_cells(report.total)], title="Speed to lead (SQL → claim)")]
    for name in GROUPINGS:
        if report.by[name]:
            parts.append(render_table((f"by {name}", *HEADERS[1:]), [_cells(r) for r in report.by[name]]))
    return "\n\n".join(parts) + "\n"


def _row_dict(row: SpeedRow) -> dict[str, Any]:
    return {"group": row.group, "sql": row.qualified, "claimed": row.claimed,
            "median_seconds_to_claim": row.median_seconds, "p90_seconds_to_claim": row.p90_seconds,
            "within_sla": row.within_sla}


def speed_as_dict(report: SpeedReport) -> dict[str, Any]:
    return {"all": _row_dict(report.total),
            **{f"by_{name}": [_row_dict(r) for r in report.by[name]] for name in GROUPINGS}}


def speed_html(report: SpeedReport) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in ("", *HEADERS[1:]))
    rows = [report.total, *(r for name in GROUPINGS for r in report.by[name])]
    labels = ["all"] + [f"{name}: {r.group}" for name in GROUPINGS for r in report.by[name]]
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in [label, *_cells(r)[1:]]) + "</tr>"
                   for label, r in zip(labels, rows, strict=True))
    return f"<h2>Speed to lead (SQL → claim)</h2><table><tr>{head}</tr>{body}</table>"
