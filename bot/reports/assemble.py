"""The funnel report from the database in one call: facts → question order → costs → report.

The workspace's Funnel page builds its report here; `leadbot report` assembles the same
steps inline and can call this instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from bot.reports.campaigns import CampaignSpend
from bot.reports.costs import campaign_costs
from bot.reports.funnel import Filters, Report, build_report, is_mql, is_sql, order_questions
from bot.reports.queries import Window, load_lead_facts, questions_seen


def funnel_report(
    session: Session, *, filters: Filters, script_questions: Sequence[str],
    campaigns: Sequence[CampaignSpend] | None = None,
) -> Report:
    """`script_questions`: the active script's order (others the data holds follow it)."""
    facts = load_lead_facts(session, Window(filters.since, filters.until, filters.script))
    questions = order_questions(script_questions, questions_seen(facts))
    costs = None
    if campaigns is not None:
        costs = campaign_costs([(f.attribution, is_mql(f), is_sql(f)) for f in facts],
                               list(campaigns))
    return build_report(facts, questions=questions, filters=filters, costs=costs)
