"""Slack Web API calls of the delivery: post with our metadata, find a post again, erase.

Every message Leadbot posts carries metadata naming its outbox row, so a row claimed
again after a crash (or a lost response) can be looked for in the channel history or
the alert's thread before posting twice. Nothing here touches the database.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.threads import METADATA_EVENT_TYPE

log = logging.getLogger(__name__)

ERASED_TEXT = "🗑 Lead erased at the prospect's request (/forget)."
HISTORY_PAGES = 10


async def post_message(
    client: AsyncWebClient, *, outbox_id: int, lead_id: int | None, channel: str, text: str,
    blocks: list[dict[str, Any]] | None, thread_ts: str | None = None,
) -> Any:
    """chat.postMessage, tagged with the outbox row it delivers."""
    return await client.chat_postMessage(
        channel=channel, text=text, blocks=blocks, thread_ts=thread_ts,
        unfurl_links=False, unfurl_media=False,
        metadata={
            "event_type": METADATA_EVENT_TYPE,
            "event_payload": {"outbox_id": outbox_id, "lead_id": lead_id or 0},
        },
    )


async def find_posted(
    client: AsyncWebClient, *, outbox_id: int, since: datetime, channel: str,
    thread_ts: str | None,
) -> str | None:
    """The ts of a message we posted for this outbox row before a crash or a lost response."""
    # Slack's clock and ours may differ a little: look a minute further back.
    oldest = f"{since.timestamp() - 60:.6f}"
    cursor: str | None = None
    for _page in range(HISTORY_PAGES):
        try:
            if thread_ts is None:
                response = await client.conversations_history(
                    channel=channel, oldest=oldest, include_all_metadata=True, limit=200,
                    cursor=cursor,
                )
            else:
                response = await client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200,
                    cursor=cursor,
                )
        except SlackApiError as exc:
            if exc.response.status_code == 200 and exc.response.get("error") == "channel_not_found":
                log.warning("cannot read %s to check for a duplicate; posting", channel)
                return None
            raise
        for item in response.get("messages") or []:
            metadata = item.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_EVENT_TYPE and payload.get("outbox_id") == outbox_id:
                return str(item["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            return None
    return None


async def erase_alert(client: AsyncWebClient, *, channel: str, ts: str) -> None:
    """Blank the alert and delete what we posted in its thread (idempotent: retries are safe)."""
    try:
        replies = await client.conversations_replies(channel=channel, ts=ts, limit=200)
        ours = [m for m in replies.get("messages") or [] if m.get("bot_id") and m.get("ts") != ts]
    except SlackApiError as exc:
        if exc.response.status_code != 200:
            raise
        ours = []  # thread gone or unreadable: still blank the alert
    for item in ours:
        try:
            await client.chat_delete(channel=channel, ts=str(item["ts"]))
        except SlackApiError as exc:
            if exc.response.status_code != 200:
                raise
    try:
        await client.chat_update(channel=channel, ts=ts, text=ERASED_TEXT, blocks=[])
    except SlackApiError as exc:
        if exc.response.status_code != 200 or exc.response.get("error") != "message_not_found":
            raise
