"""What Slack listeners share: the database, the active script, the clock, and two small Slack helpers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.alert import alert_blocks, alert_fallback_text
from bot.slack.card_source import load_alert_card
from conversations.dsl import Script
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class SlackContext:
    session_factory: sessionmaker[Session]
    script_provider: Callable[[], Script | None]
    clock: Callable[[], datetime]

    async def in_transaction(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work` in one committed transaction, off the event loop (sessions are sync)."""

        def run() -> T:
            with UnitOfWork(self.session_factory) as uow:
                result = work(uow)
                uow.commit()
                return result

        return await asyncio.to_thread(run)


async def user_display_name(client: AsyncWebClient, user_id: str, fallback: str | None) -> str:
    """The name prospects and colleagues know the rep by (display name, else real name)."""
    try:
        response = await client.users_info(user=user_id)
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        for candidate in (profile.get("display_name"), profile.get("real_name"),
                          user.get("real_name"), user.get("name")):
            if candidate:
                return str(candidate)
    except SlackApiError as exc:  # users:read missing or Slack hiccup: the payload name will do
        log.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
    return fallback or user_id


async def refresh_alert(
    ctx: SlackContext, client: AsyncWebClient, *, lead_id: int, channel: str, ts: str
) -> None:
    """Re-render the alert message from the lead as it now is (owner, stage)."""
    card = await ctx.in_transaction(lambda uow: load_alert_card(uow, lead_id, ctx.script_provider()))
    if card is None:
        await client.chat_update(
            channel=channel, ts=ts, text="Lead erased at the prospect's request.", blocks=[]
        )
        return
    await client.chat_update(
        channel=channel, ts=ts, text=alert_fallback_text(card), blocks=alert_blocks(card)
    )
