"""Events API listeners: a rep's reply in an alert's thread goes to the prospect.

Bolt acks events before listeners run; Slack may still deliver an event twice (a
retry after a slow answer), so :func:`bot.slack.bridge.relay_rep_reply` keys on
`event_id`. Bot messages (ours included) and edits/joins (any subtype) are ignored.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError

from bot.slack.bridge import RelayOutcome, ThreadReply, relay_rep_reply, slack_to_plain_text
from bot.slack.context import SlackContext, user_display_name

log = logging.getLogger(__name__)
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
# Subtypes that are still a person writing in the thread.
RELAYED_SUBTYPES = (None, "thread_broadcast", "file_share")

NOT_RELAYED = {
    RelayOutcome.PROSPECT_STOPPED: "Not sent: the prospect stopped the conversation (/stop).",
    RelayOutcome.LEAD_ERASED: "Not sent: the prospect erased their data (/forget).",
    RelayOutcome.NO_CHAT: "Not sent: this lead did not come from Telegram, there is no chat to reply to.",
}


def is_rep_thread_reply(event: dict[str, Any]) -> bool:
    if event.get("bot_id") or event.get("subtype") not in RELAYED_SUBTYPES:
        return False
    thread_ts = event.get("thread_ts")
    return bool(thread_ts) and thread_ts != event.get("ts") and bool(event.get("user"))


def register_events(app: AsyncApp, ctx: SlackContext) -> None:
    @app.event("message")
    async def message(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if not is_rep_thread_reply(event):
            return
        user_id = str(event["user"])
        mentioned = {uid: await user_display_name(client, uid, None)
                     for uid in set(_MENTION.findall(str(event.get("text", ""))))}
        text = slack_to_plain_text(str(event.get("text", "")), users=mentioned).strip()
        if not text:
            return
        reply = ThreadReply(
            event_id=str(body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}"),
            channel=str(event.get("channel", "")),
            thread_ts=str(event["thread_ts"]),
            user_id=user_id,
            user_name=await user_display_name(client, user_id, None),
            text=text,
        )
        try:
            outcome = await ctx.in_transaction(
                lambda uow: relay_rep_reply(uow, reply, now=ctx.clock())
            )
        except IntegrityError:
            # The same event, retried by Slack, committed first in another request.
            outcome = RelayOutcome.DUPLICATE
        log.info("thread reply %s: %s", reply.event_id, outcome.value)
        note = NOT_RELAYED.get(outcome)
        if note:
            await client.chat_postEphemeral(channel=reply.channel, user=user_id, text=note,
                                            thread_ts=reply.thread_ts)
