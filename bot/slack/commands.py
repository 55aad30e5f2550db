"""Slash commands: `/leads [mine|today]` lists recent leads, `/lead <id|@username|email>` shows one card.

Both ack at once and answer through `response_url` (ephemeral: only the rep sees it),
so a slow database never makes Slack show "operation timed out".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.alert import (
    TEMPERATURE_ICON,
    alert_blocks,
    alert_fallback_text,
    clip,
    escape_mrkdwn,
    format_duration,
)
from bot.slack.card_source import EVENT_CLAIMED, load_alert_card
from bot.slack.context import SlackContext
from storage.models import Lead
from storage.unit_of_work import UnitOfWork

LIST_LIMIT = 15
LISTED_STAGES = ("sql", "mql")
USAGE_LEADS = "Usage: `/leads` (latest SQL and MQL leads), `/leads mine`, `/leads today`"
USAGE_LEAD = "Usage: `/lead 42`, `/lead @username` or `/lead name@company.com`"


def _status(lead: Lead, now: datetime | None, claimed_at: datetime | None) -> str:
    if lead.stage == "disqualified":
        return "disqualified"
    if lead.owner_id:
        took = format_duration(lead.qualified_at, claimed_at)
        return f"claimed by <@{lead.owner_id}>" + (f" after {took}" if took else "")
    waited = format_duration(lead.qualified_at, now) if lead.stage == "sql" else None
    return "unclaimed" + (f" · waiting {waited}" if waited else "")


def lead_line(lead: Lead, *, now: datetime | None = None, claimed_at: datetime | None = None) -> str:
    """One lead; with `now`, how long an unclaimed SQL has waited (speed to lead)."""
    who = lead.name or lead.first_name or (f"@{lead.username}" if lead.username else "(no name)")
    company = f" — {lead.company}" if lead.company else ""
    icon = TEMPERATURE_ICON.get(lead.temperature, "")
    return (
        f"`#{lead.id}` *{escape_mrkdwn(who)}*{escape_mrkdwn(company)} · {lead.stage.upper()} · "
        f"{icon} {lead.score} · {_status(lead, now, claimed_at)}"
    )


def select_leads(
    uow: UnitOfWork, *, scope: str, user_id: str, now: datetime
) -> list[Lead]:
    if scope == "mine":
        # Everything a rep owns, whatever its stage, however old the others are.
        return uow.leads.latest(stages=("sql", "mql", "disqualified", "engaged"),
                                owner_id=user_id, limit=LIST_LIMIT)
    since = now.replace(hour=0, minute=0, second=0, microsecond=0) if scope == "today" else None
    return uow.leads.latest(stages=LISTED_STAGES, since=since, limit=LIST_LIMIT)


def claim_times(uow: UnitOfWork, leads: list[Lead]) -> dict[int, datetime]:
    """When each claimed lead of the list was claimed (a short list: one read each)."""
    times: dict[int, datetime] = {}
    for lead in leads:
        if lead.owner_id:
            claims = uow.events.for_lead(lead.id, types=[EVENT_CLAIMED])
            if claims:
                times[lead.id] = claims[0].created_at
    return times


def leads_message(
    leads: list[Lead], *, scope: str, now: datetime | None = None,
    claimed: dict[int, datetime] | None = None,
) -> dict[str, Any]:
    title = {"mine": "Your leads", "today": "Today's leads"}.get(scope, "Latest SQL and MQL leads")
    if not leads:
        text = f"*{title}*\nNothing yet."
    else:
        text = f"*{title}*\n" + "\n".join(
            lead_line(lead, now=now, claimed_at=(claimed or {}).get(lead.id)) for lead in leads)
    return {
        "response_type": "ephemeral",
        "text": clip(text, 3000),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000)}}],
    }


def register_commands(app: AsyncApp, ctx: SlackContext) -> None:
    @app.command("/leads")
    async def leads(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        scope = str(command.get("text") or "").strip().lower() or "latest"
        if scope not in ("latest", "mine", "today"):
            await respond(text=USAGE_LEADS, response_type="ephemeral")
            return
        user_id = str(command.get("user_id", ""))
        now = ctx.clock()

        def read(uow: UnitOfWork) -> dict[str, Any]:
            found = select_leads(uow, scope=scope, user_id=user_id, now=now)
            return leads_message(found, scope=scope, now=now, claimed=claim_times(uow, found))

        message = await ctx.in_transaction(read)
        await respond(**message)

    @app.command("/lead")
    async def lead(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        ref = str(command.get("text") or "").strip()
        if not ref or not ref.isprintable() or len(ref) > 320:
            await respond(text=USAGE_LEAD, response_type="ephemeral")
            return

        def read(uow: UnitOfWork) -> dict[str, Any] | None:
            found = uow.leads.find(ref)
            if found is None:
                return None
            card = load_alert_card(uow, found.id, ctx.script_provider())
            if card is None:
                return None
            # No buttons: an ephemeral copy cannot be updated, the channel's alert can.
            return {"text": alert_fallback_text(card), "blocks": alert_blocks(card, interactive=False)}

        message = await ctx.in_transaction(read)
        if message is None:
            await respond(text=f"No lead matches {escape_mrkdwn(ref)}.", response_type="ephemeral")
            return
        await respond(response_type="ephemeral", **message)

