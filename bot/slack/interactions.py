"""The alert's buttons: Claim, Disqualify (reason menu) and Show transcript, as Bolt listeners.

Each listener acks first (Slack wants an answer within 3 s), then does the work:
a transaction through :mod:`bot.slack.lead_actions`, then a Slack call to show it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.alert import (
    ACTION_CLAIM,
    ACTION_DISQUALIFY,
    ACTION_TRANSCRIPT,
    BLOCKS_MAX,
)
from bot.slack.card_source import load_transcript, render_transcript
from bot.slack.context import SlackContext, refresh_alert, user_display_name
from bot.slack.lead_actions import claim_lead, disqualify_lead
from bot.slack.threads import alert_location, is_alert_of

# A signed action whose value names another lead than the alert it was clicked on.
NOT_THIS_ALERT = "This button does not belong to this lead's alert; nothing was changed."

log = logging.getLogger(__name__)


def _where(body: dict[str, Any]) -> tuple[str, str]:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts") or ""
    return str(channel), str(ts)


def _lead_id(value: str) -> int | None:
    head = value.split(":", 1)[0]
    return int(head) if head.isascii() and head.isdigit() and len(head) <= 18 else None


async def _acting_rep(
    body: dict[str, Any], client: AsyncWebClient
) -> tuple[str, str, str, str] | None:
    """(user id, display name, channel, message ts) of the rep who clicked, or None."""
    user = body.get("user") or {}
    user_id = str(user.get("id", ""))
    if not user_id:
        return None
    channel, ts = _where(body)
    name = await user_display_name(client, user_id, user.get("username"))
    return user_id, name, channel, ts


def register_interactions(app: AsyncApp, ctx: SlackContext) -> None:
    @app.action(ACTION_CLAIM)
    async def claim(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                    client: AsyncWebClient) -> None:
        await ack()
        lead_id = _lead_id(str(action.get("value", "")))
        rep = await _acting_rep(body, client) if lead_id is not None else None
        if lead_id is None or rep is None:
            return
        user_id, name, channel, ts = rep
        outcome = await ctx.in_transaction(
            lambda uow: claim_lead(uow, lead_id=lead_id, user_id=user_id, user_name=name,
                                   now=ctx.clock())
            if is_alert_of(uow, lead_id, channel=channel, ts=ts) else None
        )
        if outcome is None:
            await client.chat_postEphemeral(channel=channel, user=user_id, text=NOT_THIS_ALERT)
            return
        if outcome.won:
            log.info("lead #%s claimed by %s", lead_id, user_id)
            await refresh_alert(ctx, client, lead_id=lead_id, channel=channel, ts=ts)
            return
        if not outcome.exists:
            text = "This lead was erased at the prospect's request."
        elif outcome.owner_id == user_id:
            text = "You already own this lead."
        elif outcome.owner_id:
            text = f"Already claimed by @{outcome.owner_name or outcome.owner_id}."
        else:
            text = "This lead was disqualified; it cannot be claimed."
        await client.chat_postEphemeral(channel=channel, user=user_id, text=text)

    @app.action(ACTION_DISQUALIFY)
    async def disqualify(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                         client: AsyncWebClient) -> None:
        await ack()
        value = str((action.get("selected_option") or {}).get("value") or action.get("value") or "")
        lead_id = _lead_id(value)
        reason = value.split(":", 1)[1] if ":" in value else "other"
        rep = await _acting_rep(body, client) if lead_id is not None else None
        if lead_id is None or rep is None:
            return
        user_id, name, channel, ts = rep
        outcome = await ctx.in_transaction(
            lambda uow: disqualify_lead(uow, lead_id=lead_id, user_id=user_id, user_name=name,
                                        reason=reason, now=ctx.clock())
            if is_alert_of(uow, lead_id, channel=channel, ts=ts) else None
        )
        if outcome is None:
            await client.chat_postEphemeral(channel=channel, user=user_id, text=NOT_THIS_ALERT)
            return
        if outcome.done:
            log.info("lead #%s disqualified by %s: %s", lead_id, user_id, reason)
            await refresh_alert(ctx, client, lead_id=lead_id, channel=channel, ts=ts)
        elif outcome.already:
            await client.chat_postEphemeral(
                channel=channel, user=user_id, text="This lead is already disqualified."
            )
        else:
            await client.chat_postEphemeral(
                channel=channel, user=user_id, text="This lead was erased at the prospect's request."
            )

    @app.action(ACTION_TRANSCRIPT)
    async def transcript(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any],
                         client: AsyncWebClient) -> None:
        await ack()
        lead_id = _lead_id(str(action.get("value", "")))
        channel, ts = _where(body)
        if lead_id is None:
            return

        def read(uow: Any) -> tuple[list[str], tuple[str, str] | None]:
            location = alert_location(uow, lead_id)
            chunks = render_transcript(load_transcript(uow, lead_id, ctx.script_provider()))
            return chunks, (location.channel, location.ts) if location else None

        chunks, location = await ctx.in_transaction(read)
        # The alert's own thread, even when the button was clicked on a copy of the card.
        channel, ts = location or (channel, ts)
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": chunk}}
            for chunk in chunks[:BLOCKS_MAX]
        ]
        await client.chat_postMessage(
            channel=channel, thread_ts=ts, text=f"Transcript of lead #{lead_id}", blocks=blocks,
        )
