"""The Funnel page's two extra sections: the A/B experiment by variant, and speed to lead.

Both are the command line's figures, computed by the same code: the per-variant funnel is
the lifecycle service's `experiment_status` (`leadbot report --by variant`), speed to lead
is `bot.reports.speed` (the section `leadbot report` prints). The page only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.lifecycle.errors import LifecycleError
from bot.lifecycle.models import ExperimentStatus
from bot.reports.funnel import Filters
from bot.reports.speed import SpeedReport, load_claim_facts, speed_to_lead
from bot.studio.drafts import lifecycle_of
from bot.studio.web import Page

VARIANT = "variant"


@dataclass(frozen=True, slots=True)
class VariantSection:
    status: ExperimentStatus | None  # None: no experiment (see `message`)
    message: str  # why there is nothing to show, or a bad experiment name


def variant_section(page: Page) -> VariantSection:
    """The latest experiment, or the one named by `?experiment=`; whole experiment, no period."""
    name = (page.query.get("experiment") or "").strip() or None
    try:
        status = lifecycle_of(page.studio.container).experiment_status(name)
    except LifecycleError as exc:
        return VariantSection(None, str(exc))
    if status is None:
        return VariantSection(None, "No A/B experiment yet: start one on the Experiments page.")
    return VariantSection(status, "")


def speed_section(page: Page, filters: Filters) -> SpeedReport:
    """Leads that reached SQL in the page's period: time to claim and share within SLA."""
    with page.studio.uow() as uow:
        facts = load_claim_facts(uow.session, since=filters.since, until=filters.until)
    return speed_to_lead(facts, now=page.studio.now())
