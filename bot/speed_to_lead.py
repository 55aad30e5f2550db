"""Speed-to-lead: start a qualified lead's SLA clock, and take its due reminder and escalation once.

The clock is a `sla_clocks` row written in the transaction that queues the alert.
`take_due_sla_steps` (run by every worker) moves each due clock on with a
conditional UPDATE and queues the Slack post in the same transaction: whichever
worker commits first posts, the others update no row; the outbox `dedupe_key`
makes "one reminder and one escalation per lead" a database fact as well. A
claimed, disqualified or erased lead's clock stops. State lives only in the
database, so a restart simply carries on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.slack.alert import escape_mrkdwn
from bot.slack.threads import ESCALATION_KIND, THREAD_KIND
from conversations.dsl import Route, Script
from conversations.dsl_sla import DAY_NAMES, Sla
from conversations.sla import SlaStep, after_step, plan_sla
from conversations.vocabulary import EVENT_SLA_ESCALATION, EVENT_SLA_REMINDER
from storage.sla import DueStep
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def sla_for(script: Script, route: Route | None) -> Sla | None:
    """The rule's own SLA, else the script's default (`scoring.sla`)."""
    if route is not None and route.sla is not None:
        return route.sla
    return script.scoring.sla


def policy_json(sla: Sla, *, reps: Sequence[str]) -> dict[str, Any]:
    """The SLA as stored on the clock, in the YAML form so `Sla.model_validate` reads it back."""
    hours = sla.business_hours
    return {
        "claim_within": sla.claim_within.total_seconds(),
        "remind": sla.remind,
        "escalate_to": sla.escalate_to,
        "mention": list(sla.mention or reps),
        "business_hours": None if hours is None else {
            "timezone": hours.timezone, "days": ",".join(DAY_NAMES[d] for d in hours.days),
            "from": f"{hours.start:%H:%M}", "to": f"{hours.end:%H:%M}",
        },
    }


def start_sla_clock(
    uow: UnitOfWork, script: Script, *, lead_id: int, route_index: int | None,
    destination: str, alert_outbox_id: int | None, now: datetime,
) -> None:
    """Called in the transaction that queues the lead's alert (`route_index`: its rule)."""
    route = script.routing[route_index] if route_index is not None else None
    sla = sla_for(script, route)
    if sla is None:
        return
    plan = plan_sla(sla, now)
    uow.sla_clocks.start(
        lead_id=lead_id, route_index=route_index, channel=destination,
        alert_outbox_id=alert_outbox_id, policy=policy_json(sla, reps=route.reps if route else ()),
        step=plan.first_step, due_at=plan.first_due, qualified_at=now, deadline_at=plan.deadline,
    )


def take_due_sla_steps(uow_factory: Callable[[], UnitOfWork], *, now: datetime, limit: int = 100) -> int:
    """Post the reminders and escalations that are due; returns how many this worker took."""
    with uow_factory() as uow:
        due = uow.sla_clocks.due(now=now, limit=limit)
    taken = 0
    for step in due:
        with uow_factory() as uow:
            if _take_one(uow, step, now):
                uow.commit()
                taken += 1
    return taken


def _take_one(uow: UnitOfWork, due: DueStep, now: datetime) -> bool:
    clock = uow.sla_clocks.get(due.lead_id)
    lead = uow.leads.get(due.lead_id)
    if clock is None or lead is None:
        return False
    if lead.owner_id is not None or lead.stage != "sql":
        uow.sla_clocks.stop(due.lead_id, step="claimed" if lead.owner_id else "stopped")
        uow.commit()
        return False
    sla = Sla.model_validate(clock.policy)
    step: SlaStep = "reminder" if due.step == "reminder" else "escalation"
    following = after_step(sla, step, due.due_at)
    if not uow.sla_clocks.take(
        due, next_step=following[0] if following else "done",
        next_due_at=following[1] if following else None, now=now,
    ):
        return False  # another worker took this step
    mentions = " ".join(f"<@{user}>" for user in clock.policy.get("mention") or [])
    waited = _minutes(sla.claim_within * (1 if step == "reminder" else 2))
    who = escape_mrkdwn(lead.name or lead.first_name or f"Lead #{lead.id}")
    company = f" ({escape_mrkdwn(lead.company)})" if lead.company else ""
    if step == "reminder":
        text = (f"⏰ {mentions} {who}{company} has waited {waited} without an owner. "
                "Claim it to stop the clock.").replace("  ", " ")
        uow.outbox.add(
            kind=THREAD_KIND, destination=clock.channel, lead_id=lead.id, now=now,
            dedupe_key=f"sla:{lead.id}:reminder",
            payload={"alert_outbox_id": clock.alert_outbox_id, "mrkdwn": text},
        )
    elif sla.escalate_to is not None:
        text = (f"🚨 {who}{company} qualified {waited} ago (business time) and nobody has "
                f"claimed it. {mentions}").strip()
        uow.outbox.add(
            kind=ESCALATION_KIND, destination=f"slack:{sla.escalate_to}", lead_id=lead.id,
            now=now, dedupe_key=f"sla:{lead.id}:escalation",
            payload={"alert_outbox_id": clock.alert_outbox_id, "mrkdwn": text},
        )
    uow.events.add(lead_id=lead.id, now=now,
                   type=EVENT_SLA_REMINDER if step == "reminder" else EVENT_SLA_ESCALATION,
                   payload={"due_at": due.due_at.isoformat()})
    log.info("speed-to-lead: %s for lead #%s", step, lead.id)
    return True


def _minutes(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"
