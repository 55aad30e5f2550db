"""Cost per lead, per MQL and per SQL of each campaign in the spend file: pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.reports.attribution import Attribution
from bot.reports.campaigns import CampaignSpend, campaign_for


@dataclass(frozen=True, slots=True)
class CampaignCost:
    campaign: str  # label: `source/id`, or `id` for a campaign on every source
    id: str
    source: str | None
    currency: str
    spend: float
    leads: int
    mql: int
    sql: int
    cost_per_lead: float | None
    cost_per_mql: float | None
    cost_per_sql: float | None


def campaign_costs(
    leads: Sequence[tuple[Attribution, bool, bool]],
    campaigns: Sequence[CampaignSpend],
) -> tuple[CampaignCost, ...]:
    """`leads` are (attribution, is MQL, is SQL); the spend is the file's, whole."""
    tally: dict[str, list[int]] = {c.label: [0, 0, 0] for c in campaigns}
    for attribution, mql, sql in leads:
        campaign = campaign_for(attribution, list(campaigns))
        if campaign is None:
            continue
        counts = tally[campaign.label]
        counts[0] += 1
        counts[1] += int(mql)
        counts[2] += int(sql)
    result = []
    for campaign in campaigns:
        leads_n, mql_n, sql_n = tally[campaign.label]
        result.append(
            CampaignCost(
                campaign=campaign.label, id=campaign.id, source=campaign.source,
                currency=campaign.currency, spend=campaign.spend,
                leads=leads_n, mql=mql_n, sql=sql_n,
                cost_per_lead=_per(campaign.spend, leads_n),
                cost_per_mql=_per(campaign.spend, mql_n),
                cost_per_sql=_per(campaign.spend, sql_n),
            )
        )
    return tuple(result)


def _per(spend: float, count: int) -> float | None:
    """Spend per head, to the cent; None when nobody came (no division by zero)."""
    return round(spend / count, 2) if count else None
