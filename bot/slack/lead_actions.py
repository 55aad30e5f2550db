"""What sales can do to a lead from Slack — claim and disqualify — as transactional functions.

Claim is a conditional UPDATE (`… WHERE owner_id IS NULL`): whichever transaction
commits first wins and the other updates no row, on SQLite (one writer) and on
PostgreSQL (the second UPDATE re-checks the condition after the first commits).
These functions take a unit of work and never commit. They belong with the lead
repository in the long run; they live here until the core offers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from bot.integrations.lead_events import publish_lead_event
from bot.slack.card_source import EVENT_CLAIMED, EVENT_DISQUALIFIED
from conversations.vocabulary import EVENT_STAGE_CHANGED
from storage.models import Lead
from storage.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class ClaimOutcome:
    won: bool
    exists: bool = True
    owner_id: str | None = None
    owner_name: str | None = None
    disqualified: bool = False


def claim_lead(
    uow: UnitOfWork, *, lead_id: int, user_id: str, user_name: str, now: datetime
) -> ClaimOutcome:
    result = uow.session.execute(
        update(Lead)
        .where(Lead.id == lead_id, Lead.owner_id.is_(None), Lead.stage != "disqualified")
        .values(owner_id=user_id, owner_name=user_name, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) == 1:
        uow.events.add(
            lead_id=lead_id, type=EVENT_CLAIMED, now=now,
            payload={"user_id": user_id, "user_name": user_name},
        )
        uow.sla_clocks.stop(lead_id, step="claimed", claimed_at=now)  # no reminder, no escalation
        publish_lead_event(uow, type="lead.claimed", lead_id=lead_id, now=now,
                           data={"by": {"slack_user_id": user_id, "name": user_name}})
        return ClaimOutcome(won=True, owner_id=user_id, owner_name=user_name)
    uow.session.expire_all()  # read the winner's row, not a cached copy
    lead = uow.leads.get(lead_id)
    if lead is None:
        return ClaimOutcome(won=False, exists=False)
    return ClaimOutcome(
        won=False, owner_id=lead.owner_id, owner_name=lead.owner_name,
        disqualified=lead.stage == "disqualified",
    )


@dataclass(frozen=True, slots=True)
class DisqualifyOutcome:
    done: bool
    exists: bool = True
    already: bool = False


def disqualify_lead(
    uow: UnitOfWork, *, lead_id: int, user_id: str, user_name: str, reason: str, now: datetime
) -> DisqualifyOutcome:
    lead = uow.leads.get(lead_id, lock=True)
    if lead is None:
        return DisqualifyOutcome(done=False, exists=False)
    if lead.stage == "disqualified":
        return DisqualifyOutcome(done=False, already=True)
    previous = lead.stage
    lead.stage = "disqualified"
    lead.disqualified_reason = reason
    lead.updated_at = now
    uow.sla_clocks.stop(lead_id, step="stopped")
    change = {"from": previous, "to": "disqualified", "by": "sales", "slack_user_id": user_id}
    publish_lead_event(uow, type="lead.stage_changed", lead_id=lead_id, data=change, now=now)
    publish_lead_event(uow, type="lead.disqualified", lead_id=lead_id, now=now,
                       data={**change, "reason": reason})
    uow.events.add(
        lead_id=lead_id, type=EVENT_STAGE_CHANGED, now=now,
        payload={"from": previous, "to": "disqualified", "by": "sales", "user_id": user_id},
    )
    uow.events.add(
        lead_id=lead_id, type=EVENT_DISQUALIFIED, now=now,
        payload={"user_id": user_id, "user_name": user_name, "reason": reason},
    )
    return DisqualifyOutcome(done=True)
